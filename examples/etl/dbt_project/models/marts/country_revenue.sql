select
    country,
    count(distinct customer_id) as customers,
    sum(orders) as orders,
    sum(revenue) as revenue
from {{ ref('customer_value') }}
group by country
