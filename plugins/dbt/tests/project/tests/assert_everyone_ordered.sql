-- Deliberately fails (customer 4 has no orders); tagged `failing`.
{{ config(tags=['failing']) }}
select * from {{ ref('customer_orders') }} where order_count = 0
