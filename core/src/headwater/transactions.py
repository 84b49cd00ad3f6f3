"""Prefect's ``prefect.transactions`` is not implemented in Headwater.

Importing this module raises one clear line saying so and what to use instead.
"""

from headwater._compat import UnsupportedFeatureError

raise UnsupportedFeatureError(
    "prefect.transactions has no Headwater equivalent: transactions are not implemented; "
    "use cache_policy / persist_result for idempotent tasks and on_failure hooks for rollbacks",
    name="transactions",
)
