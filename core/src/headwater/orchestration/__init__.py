"""Orchestration: schedules, deployments, ``serve``, work pools and workers.

Imported only when used (``import headwater`` does not import it).
"""

from __future__ import annotations

from headwater.lazy import lazy_exports
from headwater.orchestration import schema as _schema  # noqa: F401  (registers the tables' migration)

_EXPORTS = {
    "Cron": "headwater.orchestration.schedules",
    "Interval": "headwater.orchestration.schedules",
    "RRule": "headwater.orchestration.schedules",
    "Deployment": "headwater.orchestration.deployments",
    "GitRepository": "headwater.orchestration.sources",
    "serve": "headwater.orchestration.serving",
    "deploy": "headwater.orchestration.serving",
    "BaseWorker": "headwater.orchestration.workers",
    "ProcessWorker": "headwater.orchestration.workers",
    "create_work_pool": "headwater.orchestration.pools",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
