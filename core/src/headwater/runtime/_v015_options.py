"""Prefect 0.15's ``@task`` options, translated to Headwater's (``max_retries`` -> ``retries``, ...).

Here in the runtime (not in :mod:`headwater.v1`) because ``@task`` accepts them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["LEGACY_OPTIONS", "translate"]

# 0.15 option -> what Headwater does with it.
LEGACY_OPTIONS = ("max_retries", "retry_delay", "timeout", "log_stdout", "cache_for", "checkpoint", "slug",
                  "trigger", "skip_on_upstream_skip", "nout", "state_handlers", "result", "target",
                  "cache_validator", "cache_key", "task_run_name")
_HINTS = {
    "state_handlers": "use on_completion=[...] / on_failure=[...] hooks, fn(task, task_run, state)",
    "result": "use persist_result=True and result_storage=<storage block>",
    "target": "use cache_key_fn= (e.g. task_input_hash) with persist_result=True",
    "cache_validator": "use cache_expiration= (a timedelta) with cache_key_fn=task_input_hash",
    "cache_key": "use cache_key_fn= returning the shared key",
}


def _seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, dt.timedelta) else value


def translate(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split 0.15 options into Headwater task options and the 0.15-only ones
    (``trigger``, ``skip_on_upstream_skip``, ``nout``).

    Raises:
        GraphError: An option with no Headwater equivalent (the message says what to use).
    """
    from headwater.runtime._errors import GraphError

    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in options.items():
        if key == "max_retries":
            out["retries"] = value
        elif key == "retry_delay":
            out["retry_delay_seconds"] = _seconds(value)
        elif key == "timeout":
            out["timeout_seconds"] = _seconds(value)
        elif key == "log_stdout":
            out["log_prints"] = value
        elif key == "cache_for":
            from headwater.runtime.caching import task_input_hash

            out["cache_key_fn"], out["cache_expiration"] = task_input_hash, value
        elif key in ("checkpoint", "slug"):
            continue  # results are kept in memory (or persisted by persist_result); slugs are not used
        elif key in ("trigger", "skip_on_upstream_skip", "nout"):
            extra[key] = value
        elif key in _HINTS:
            if value is not None:
                raise GraphError(f"@task({key}=...) of Prefect 0.15 has no Headwater equivalent: {_HINTS[key]}")
        else:
            out[key] = value
    return out, extra
