select
    c.country,
    count(distinct c.customer_id) as customers,
    sum(co.completed_amount) as completed_amount
from {{ ref('customer_orders') }} as co
join {{ ref('stg_customers') }} as c on c.customer_id = co.customer_id
group by c.country
