"""The flow runtime: ``@flow``, ``@task``, states, futures, task runners, caching, run logging.

Names are imported on first use so that ``import headwater.runtime`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.lazy import lazy_exports

_EXPORTS = {
    "flow": "headwater.runtime.flows",
    "Flow": "headwater.runtime.flows",
    "task": "headwater.runtime.tasks",
    "Task": "headwater.runtime.tasks",
    "async_twin": "headwater.runtime.tasks",
    "get_run_logger": "headwater.runtime._record",
    "unmapped": "headwater.runtime.futures",
    "allow_failure": "headwater.runtime.futures",
    "wait": "headwater.runtime.futures",
    "as_completed": "headwater.runtime.futures",
    "HeadwaterFuture": "headwater.runtime.futures",
    "exponential_backoff": "headwater.runtime.retries",
    "task_input_hash": "headwater.runtime.caching",
    "CachePolicy": "headwater.runtime.caching",
    "INPUTS": "headwater.runtime.caching",
    "TASK_SOURCE": "headwater.runtime.caching",
    "FLOW_PARAMETERS": "headwater.runtime.caching",
    "NO_CACHE": "headwater.runtime.caching",
    "TaskRunner": "headwater.runtime.task_runners",
    "ThreadPoolTaskRunner": "headwater.runtime.task_runners",
    "ProcessPoolTaskRunner": "headwater.runtime.task_runners",
    "TaskCall": "headwater.runtime.calls",
    "start_task_run": "headwater.runtime.external",
    "ExternalTaskRun": "headwater.runtime.external",
    "flow_run": "headwater.runtime.context",
    "task_run": "headwater.runtime.context",
    "deployment": "headwater.runtime.context",
    "tags": "headwater.runtime.context",
    "HeadwaterFutureList": "headwater.runtime.futures",
    "State": "headwater.runtime.states",
    "ParameterValidationError": "headwater.runtime._errors",
    "ResultPersistenceError": "headwater.runtime._errors",
    "TaskTimeoutError": "headwater.runtime._errors",
    "states": "headwater.runtime.states",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from headwater.runtime import states  # noqa: F401
    from headwater.runtime._errors import ParameterValidationError, ResultPersistenceError, TaskTimeoutError  # noqa: F401
    from headwater.runtime._record import get_run_logger  # noqa: F401
    from headwater.runtime.caching import FLOW_PARAMETERS, INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy, task_input_hash  # noqa: F401
    from headwater.runtime.calls import TaskCall  # noqa: F401
    from headwater.runtime.context import deployment, flow_run, tags, task_run  # noqa: F401
    from headwater.runtime.external import ExternalTaskRun, start_task_run  # noqa: F401
    from headwater.runtime.flows import Flow, flow  # noqa: F401
    from headwater.runtime.futures import (  # noqa: F401
        HeadwaterFuture,
        HeadwaterFutureList,
        allow_failure,
        as_completed,
        unmapped,
        wait,
    )
    from headwater.runtime.retries import exponential_backoff  # noqa: F401
    from headwater.runtime.states import State  # noqa: F401
    from headwater.runtime.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner  # noqa: F401
    from headwater.runtime.tasks import Task, async_twin, task  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
