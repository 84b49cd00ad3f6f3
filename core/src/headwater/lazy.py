"""Lazy exports for package ``__init__`` modules: a name is imported from its module on first use.

Plugins use it to keep ``import headwater_x`` cheap (no client library imported)::

    from headwater.lazy import lazy_exports

    _EXPORTS = {"S3Bucket": "headwater_aws._bucket"}
    __all__ = [*_EXPORTS]
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    module_name: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for names imported on first use.

    Args:
        module_name: The package's ``__name__``.
        exports: Public name -> the module that defines it.

    Returns:
        ``(__getattr__, __dir__)``: the first imports a name once and keeps it in the
        package's namespace; the second lists the package's ``__all__``.
    """

    def __getattr__(name: str) -> Any:
        source = exports.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(getattr(sys.modules[module_name], "__all__", exports))

    return __getattr__, __dir__
