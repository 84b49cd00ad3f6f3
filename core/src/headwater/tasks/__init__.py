"""Prefect's ``prefect.tasks``: ``task``, ``Task``, ``task_input_hash``, ``exponential_backoff``."""

from headwater.runtime.caching import task_input_hash
from headwater.runtime.retries import exponential_backoff
from headwater.runtime.tasks import Task, task

__all__ = ["Task", "exponential_backoff", "task", "task_input_hash"]
