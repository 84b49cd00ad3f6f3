"""Headwater errors that are also the library error they replace.

When a connector turns, say, botocore's ``ClientError`` into an ``ObjectNotFoundError`` with a
clear message, code migrated from Prefect still says ``except ClientError:`` (or
``except google.api_core.exceptions.NotFound:``). :func:`also_as` returns the Headwater error
as an instance of a class deriving from both, so either ``except`` clause catches it, and the
library's attributes (``response``, ``operation_name``, ``code``, ...) stay readable.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from headwater.errors import HeadwaterError

__all__ = ["also_as", "keeping_library_class"]

E = TypeVar("E", bound=HeadwaterError)

# Attributes migrated code reads from the library's error (botocore, google-api-core).
_KEPT = ("response", "operation_name", "kwargs", "code", "message", "errors", "details", "_errors", "_details",
         "_response", "_error_info", "reason", "domain", "metadata")


def also_as(error: E, original: BaseException, modules: tuple[str, ...] = ("botocore", "google", "s3transfer")) -> E:
    """``error`` as an instance of ``type(error)`` and ``type(original)`` together, when Python
    allows a class deriving from both and ``original`` comes from one of ``modules``; else ``error``.

    The message stays ``error``'s; attributes of ``original`` listed in ``_KEPT`` are copied.
    """
    origin = type(original)
    if isinstance(error, origin) or not origin.__module__.startswith(modules):
        return error
    combined = _combined(type(error), origin)
    if combined is None:
        return error
    new = combined.__new__(combined)
    Exception.__init__(new, *error.args)
    new.__dict__.update(error.__dict__)
    for name in _KEPT:
        if name in original.__dict__ and name not in new.__dict__:
            new.__dict__[name] = original.__dict__[name]
    new.__cause__, new.__context__, new.__suppress_context__ = (
        error.__cause__, error.__context__, error.__suppress_context__)
    return new  # type: ignore[return-value]


@functools.cache
def _combined(ours: type[HeadwaterError], theirs: type[BaseException]) -> type | None:
    try:
        return type(ours.__name__, (ours, theirs), {
            "__module__": ours.__module__,
            "__qualname__": ours.__qualname__,
            "__doc__": f"{ours.__doc__ or ours.__name__} Also a ``{theirs.__module__}.{theirs.__qualname__}``.",
            "__init__": _init,
            "__str__": _str,
            "__repr__": _repr,
            "__reduce__": _reduce,
            "_hw_classes": (ours, theirs),
        })
    except TypeError:  # the two classes' layouts cannot be combined
        return None


def _init(self: BaseException, *args: Any) -> None:
    Exception.__init__(self, *args)


def _str(self: BaseException) -> str:
    return Exception.__str__(self)


def _repr(self: BaseException) -> str:
    return f"{type(self).__name__}({Exception.__str__(self)!r})"


def _reduce(self: BaseException) -> tuple[Any, ...]:
    ours, theirs = self._hw_classes  # type: ignore[attr-defined]
    return _rebuild, (ours, _importable(theirs), self.args, dict(self.__dict__))


def _importable(cls: type[BaseException]) -> type[BaseException]:
    """``cls``, or its nearest base that pickle can find by name (botocore makes a class per
    modelled error code, e.g. ``NoSuchKey``, that cannot be looked up; ``ClientError`` can)."""
    for base in cls.__mro__:
        module = sys.modules.get(base.__module__)
        if module is not None and getattr(module, base.__qualname__, None) is base:
            return base
    return Exception


def _rebuild(ours: type[HeadwaterError], theirs: type[BaseException], args: tuple[Any, ...],
             state: dict[str, Any]) -> BaseException:
    combined = _combined(ours, theirs)
    cls = combined if combined is not None else ours
    new = cls.__new__(cls)
    Exception.__init__(new, *args)
    new.__dict__.update(state)
    return new


def keeping_library_class(translate: Callable[..., E]) -> Callable[..., E]:
    """A plugin's error translator whose errors are also instances of the library error's class
    (see :func:`also_as`), so ``except`` clauses written for the library still catch them.

    Example:
        >>> translate = keeping_library_class(_translate)  # doctest: +SKIP
    """

    @functools.wraps(translate)
    def keeping(exc: BaseException, *args: Any, **kwargs: Any) -> E:
        return also_as(translate(exc, *args, **kwargs), exc)

    return keeping
