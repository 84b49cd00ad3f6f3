select
    o.order_id,
    o.order_date,
    o.order_month,
    o.customer_id,
    c.country,
    o.product_id,
    p.category,
    o.quantity,
    o.amount,
    o.status,
    o.is_revenue
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c on c.customer_id = o.customer_id
join {{ ref('stg_products') }} as p on p.product_id = o.product_id
