select
    customer_id,
    customer_name,
    lower(email) as email,
    country,
    signup_date
from {{ source('raw', 'raw_customers') }}
