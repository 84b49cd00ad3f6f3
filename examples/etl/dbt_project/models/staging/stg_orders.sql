select
    order_id,
    customer_id,
    product_id,
    order_date,
    cast(date_trunc('month', order_date) as date) as order_month,
    quantity,
    unit_price,
    amount,
    status,
    status in ('completed', 'shipped') as is_revenue
from {{ source('raw', 'raw_orders') }}
