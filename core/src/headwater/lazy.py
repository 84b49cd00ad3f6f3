"""Package attributes imported on first use, so importing a package stays cheap.

Headwater's packages and its plugins' share this one helper::

    _EXPORTS = {"S3Bucket": "headwater_aws._bucket", ...}
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

List the names under ``if TYPE_CHECKING:`` imports too, so type checkers and IDEs see them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public names load lazily.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> module that defines it. A name whose module is the package's
            own submodule of that name (``"states": "headwater.runtime.states"``) is the module.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's module level. A name is imported
        once, then cached in the package's namespace; an unknown one is an AttributeError.
        ``dir()`` lists the package's ``__all__``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(module)
        value = loaded if module == f"{package}.{name}" else getattr(loaded, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(getattr(sys.modules[package], "__all__", exports))

    return __getattr__, __dir__
