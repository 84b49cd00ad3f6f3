-- Deliberately fails at run time (a cast error in every warehouse); tagged `failing`,
-- so the default selector leaves it out.
select cast('not a number' as integer) as impossible
from {{ ref('stg_orders') }}
