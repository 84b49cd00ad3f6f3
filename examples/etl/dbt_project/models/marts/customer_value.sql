select
    c.customer_id,
    c.country,
    count(o.order_id) as orders,
    coalesce(sum(case when o.is_revenue then o.amount end), 0) as revenue,
    min(o.order_date) as first_order,
    max(o.order_date) as last_order
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders') }} as o on o.customer_id = c.customer_id
group by c.customer_id, c.country
