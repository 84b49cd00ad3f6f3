-- Validation in the flow rejects negative prices and quantities; nothing negative may reach a mart.
select order_month, category, revenue
from {{ ref('monthly_revenue') }}
where revenue < 0
