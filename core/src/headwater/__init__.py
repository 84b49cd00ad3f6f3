"""Headwater: fast, local-first workflow orchestration with secret-safe blocks.

Everything is imported lazily so that ``import headwater`` costs almost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Block": "headwater.blocks",
    "ObjectStorage": "headwater.blocks",
    "LocalFileSystem": "headwater.blocks",
    "Secret": "headwater.blocks",
    "SecretStr": "headwater.blocks",
    "SecretBytes": "headwater.blocks",
    "SecretDict": "headwater.blocks",
    "HeadwaterError": "headwater.errors",
    "hookimpl": "headwater.hookspecs",
    "flow": "headwater._deployable",
    "task": "headwater.runtime",
    "Flow": "headwater.v1",  # Flow("name"): Prefect 0.15's; Flow(fn): what @flow makes (serve/deploy too)
    "Task": "headwater.runtime",
    "get_run_logger": "headwater.runtime",
    "unmapped": "headwater.runtime",
    "allow_failure": "headwater.runtime",
    "wait": "headwater.runtime",
    "as_completed": "headwater.runtime",
    "ThreadPoolTaskRunner": "headwater.runtime",
    "ProcessPoolTaskRunner": "headwater.runtime",
    "TaskRunner": "headwater.runtime",
    "start_task_run": "headwater.runtime",
    "exponential_backoff": "headwater.runtime",
    "task_input_hash": "headwater.runtime",
    "serve": "headwater.orchestration.serving",
    "deploy": "headwater.orchestration.serving",
    "tags": "headwater.runtime",
    "State": "headwater.runtime",
    "pause_flow_run": "headwater.flow_runs",
    "resume_flow_run": "headwater.flow_runs",
    "apause_flow_run": "headwater.flow_runs",
    "Parameter": "headwater.v1",
    "case": "headwater.v1",
}

# Submodules reached as attributes (`headwater.context`), as `prefect.context` is.
_SUBMODULES = frozenset({
    "artifacts", "blocks", "cache_policies", "concurrency", "context", "engine", "exceptions", "executors",
    "filesystems", "flow_runs", "flows", "futures", "logging", "runtime", "schedules", "states", "task_runners",
    "tasks", "triggers", "variables",
})

# Prefect's top-level names that Headwater does not offer, with what to use instead.
_UNSUPPORTED = {
    "get_client": "there is no API server: read run history with headwater.history or `headwater runs ls`",
    "aserve": "use serve(*deployments) (it blocks until stopped; run it in its own process)",
    "suspend_flow_run": "use pause_flow_run (the run waits in its process) and `headwater runs resume ID`",
    "asuspend_flow_run": "use pause_flow_run (the run waits in its process) and `headwater runs resume ID`",
    "Transaction": "transactions are not implemented: use cache_policy and result persistence",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater.blocks import Block, LocalFileSystem, ObjectStorage, Secret, SecretBytes, SecretDict, SecretStr  # noqa: F401
    from headwater.errors import HeadwaterError  # noqa: F401
    from headwater.hookspecs import hookimpl  # noqa: F401


# Prefect modules with no Headwater twin: importing `headwater.<name>` says what to use instead.
_NO_TWIN = {
    "headwater.client": "there is no API server: read run history with `headwater runs ls/show` "
                        "or headwater.history.reader",
    "headwater.server": "there is no server to run: flows run in your process and record to the store",
    "headwater.input": "flow run input is not implemented: use Variable.set/get around pause_flow_run",
    "headwater.workers": "work pools and workers are not implemented: run flows with `headwater run`",
    "headwater.infrastructure": "infrastructure blocks are not implemented: run flows with `headwater run`",
    "headwater.automations": "automations are in headwater.events (see `headwater automation --help`)",
}


class _NoTwinFinder:
    """Last on ``sys.meta_path``: only asked about modules nothing else found."""

    @staticmethod
    def find_spec(fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _NO_TWIN:
            return None
        from headwater._compat import UnsupportedFeatureError

        prefect = fullname.replace("headwater", "prefect", 1)
        raise UnsupportedFeatureError(f"{prefect} has no Headwater equivalent: {_NO_TWIN[fullname]}", name=fullname)


import sys as _sys  # noqa: E402

_sys.meta_path.append(_NoTwinFinder)


_lazy_getattr, __dir__ = lazy_exports(__name__, {**_EXPORTS, **{n: f"headwater.{n}" for n in _SUBMODULES}})


def __getattr__(name: str) -> Any:
    if name in _UNSUPPORTED:
        from headwater._compat import unsupported

        unsupported(__name__, name, _UNSUPPORTED)
    return _lazy_getattr(name)
