"""Headwater: fast, local-first workflow orchestration with secret-safe blocks.

Everything is imported lazily so that ``import headwater`` costs almost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    "Flow": "headwater._deployable",
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
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from headwater.blocks import Block, LocalFileSystem, ObjectStorage, Secret, SecretBytes, SecretDict, SecretStr  # noqa: F401
    from headwater.errors import HeadwaterError  # noqa: F401
    from headwater.hookspecs import hookimpl  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
