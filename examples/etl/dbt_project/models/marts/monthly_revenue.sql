select
    order_month,
    category,
    count(*) as orders,
    sum(quantity) as units,
    sum(amount) as revenue
from {{ ref('fct_orders') }}
where is_revenue
group by order_month, category
