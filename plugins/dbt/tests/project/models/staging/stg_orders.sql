select
    id as order_id,
    customer_id,
    cast(order_date as date) as order_date,
    status,
    cast(amount as numeric(10, 2)) as amount
from {{ ref('raw_orders') }}
