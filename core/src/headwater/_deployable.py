"""``headwater.flow`` / ``headwater.Flow``: the runtime's flow with Prefect's deployment methods.

``serve``, ``to_deployment``, ``deploy`` and ``from_source`` live here, above both the runtime
and :mod:`headwater.orchestration` (imported when one is called), so the runtime never
depends on orchestration.
"""

from __future__ import annotations

import functools
from typing import Any

from headwater.runtime.flows import Flow as _RuntimeFlow
from headwater.runtime.flows import flow as _runtime_flow

__all__ = ["Flow", "flow"]


class Flow(_RuntimeFlow):
    """A flow (see :func:`headwater.runtime.flows.flow`) that can also be served and deployed."""

    def to_deployment(self, name: str | None = None, **options: Any) -> Any:
        """A deployment of this flow, not saved yet (``cron=``, ``interval=``, ``parameters=``, ...)."""
        from headwater.orchestration.serving import to_deployment

        return to_deployment(self, name, **options)

    def serve(self, name: str | None = None, **options: Any) -> None:
        """Run this flow on its schedules from this process until stopped (``cron=``, ``interval=``, ...)."""
        from headwater.orchestration.serving import flow_serve

        flow_serve(self, name, **options)

    def deploy(self, name: str, work_pool_name: str | None = None, **options: Any) -> str:
        """Save a deployment of this flow for a work pool's workers; returns its id."""
        from headwater.orchestration.serving import flow_deploy

        return flow_deploy(self, name, work_pool_name, **options)

    @classmethod
    def from_source(cls, source: Any, entrypoint: str) -> Any:
        """The flow ``entrypoint`` (``file.py:fn``) names in ``source`` (folder, git URL, storage block)."""
        from headwater.orchestration.serving import flow_from_source

        return flow_from_source(source, entrypoint)


def _deployable(made: Any) -> Any:
    if isinstance(made, _RuntimeFlow) and not isinstance(made, Flow):
        made.__class__ = Flow  # same object layout: only the methods above are added
    return made


@functools.wraps(_runtime_flow)
def flow(__fn: Any = None, **options: Any) -> Any:
    made = _runtime_flow(__fn, **options)
    if isinstance(made, _RuntimeFlow):
        return _deployable(made)
    return lambda fn: _deployable(made(fn))


flow.from_source = Flow.from_source  # type: ignore[attr-defined]  # Prefect's `flow.from_source(source, entrypoint)`
