"""Prefect's ``prefect.cache_policies``: ``INPUTS``, ``TASK_SOURCE``, ``FLOW_PARAMETERS``, ``NO_CACHE``, ``DEFAULT``."""

from headwater.runtime.caching import FLOW_PARAMETERS, INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy

DEFAULT = INPUTS + TASK_SOURCE  # Prefect's default policy for a persisted task (its RUN_ID part is implied)

__all__ = ["DEFAULT", "FLOW_PARAMETERS", "INPUTS", "NO_CACHE", "TASK_SOURCE", "CachePolicy"]
