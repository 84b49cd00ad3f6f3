"""Futures of submitted task runs, and ``unmapped`` / ``allow_failure`` / ``wait`` / ``as_completed``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from headwater.runtime.states import Crashed, Pending, State

__all__ = [
    "DoneAndNotDone",
    "HeadwaterFuture",
    "HeadwaterFutureList",
    "allow_failure",
    "as_completed",
    "resolve_futures_to_results",
    "resolve_futures_to_states",
    "unmapped",
    "wait",
]


class HeadwaterFuture:
    """The future of one submitted task run.

    Wraps whatever the task runner returned (a ``concurrent.futures.Future``, a Dask future,
    ...: anything with ``result(timeout)``, ``done()`` and ``add_done_callback(fn)``). Its raw
    result is turned into a :class:`State` once, by ``convert`` when given (remote runners use
    it to replay the run's history in this process), else it must already be a State.

    Attributes:
        task_run_id: The id of the task run.
    """

    __slots__ = ("task_run_id", "task_run", "_wrapped", "_convert", "_state", "_lock")

    def __init__(self, task_run: Any, wrapped: Any, convert: Callable[[Any], State] | None = None,
                 on_crash: Callable[[BaseException], State] | None = None) -> None:
        self.task_run = task_run
        self.task_run_id: str = task_run.id
        self._wrapped = wrapped
        self._convert = (convert, on_crash)
        self._state: State | None = None
        self._lock = threading.Lock()

    def _final(self, timeout: float | None) -> State:
        state = self._state
        if state is not None:
            return state
        try:
            raw = self._wrapped.result(timeout)
            error = None
        except TimeoutError:
            raise
        except BaseException as exc:  # the runner itself failed (broken worker, unpicklable call)
            if isinstance(exc, KeyboardInterrupt) and not self._wrapped.done():
                raise  # Ctrl-C while this thread waited: the flow must stop, not this run
            raw, error = None, exc
        with self._lock:
            if self._state is None:
                convert, on_crash = self._convert
                if error is not None:
                    self._state = on_crash(error) if on_crash else Crashed(f"{type(error).__name__}: {error}", error)
                else:
                    self._state = convert(raw) if convert is not None else raw
            return self._state  # type: ignore[return-value]

    @property
    def state(self) -> State:
        """The task run's state now (final once the run is done)."""
        if self._state is not None:
            return self._state
        if self._wrapped.done():
            return self._final(None)
        current = getattr(self.task_run, "state", None)
        return current if current is not None else Pending()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the run is done (or ``timeout`` seconds pass)."""
        try:
            self._final(timeout)
        except TimeoutError:
            pass

    def done(self) -> bool:
        return self._state is not None or self._wrapped.done()

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The task's return value, waiting for it.

        Args:
            timeout: Seconds to wait before raising ``TimeoutError``.
            raise_on_failure: Raise the task's exception if it failed (else return it).
        """
        return self._final(timeout)._value(raise_on_failure)

    def add_done_callback(self, fn: Callable[[HeadwaterFuture], Any]) -> None:
        """Call ``fn(future)`` when the run is done."""
        self._wrapped.add_done_callback(lambda _w: fn(self))

    def __repr__(self) -> str:
        return f"HeadwaterFuture(task_run={getattr(self.task_run, 'name', '?')!r}, state={self.state!r})"


class HeadwaterFutureList(list):  # type: ignore[type-arg]
    """The futures ``task.map()`` returns: a list, with Prefect's ``wait()`` and ``result()``."""

    __slots__ = ()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every run is done (or ``timeout`` seconds pass)."""
        wait(self, timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[Any]:
        """Every run's return value, in order, waiting for them.

        Raises:
            TimeoutError: Not all runs finished within ``timeout`` seconds.
            The first failed run's exception, when ``raise_on_failure``.
        """
        done = wait(self, timeout)
        if done.not_done:
            raise TimeoutError(f"{len(done.not_done)} of {len(self)} task runs did not finish within {timeout} seconds")
        return [f.result(raise_on_failure=raise_on_failure) for f in self]


def _resolve_futures(expr: Any, to: Callable[[HeadwaterFuture], Any]) -> Any:
    if isinstance(expr, HeadwaterFuture):
        return to(expr)
    if isinstance(expr, (list, tuple, set, frozenset)):
        kind = list if isinstance(expr, list) else type(expr)  # a future list of states is a plain list
        return kind(_resolve_futures(v, to) for v in expr)
    if isinstance(expr, dict):
        return {k: _resolve_futures(v, to) for k, v in expr.items()}
    return expr


def resolve_futures_to_states(expr: Any) -> Any:
    """``expr`` with every future in it (also in lists, tuples, sets and dict values) replaced
    by its final state, waiting for them."""
    return _resolve_futures(expr, lambda f: f._final(None))


def resolve_futures_to_results(expr: Any) -> Any:
    """``expr`` with every future in it replaced by its result (raising a failed run's exception)."""
    return _resolve_futures(expr, lambda f: f.result())


class unmapped:  # noqa: N801 (Prefect's name)
    """Wrap an argument of ``task.map`` so it is passed whole to every call instead of iterated."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getitem__(self, _index: Any) -> Any:
        return self.value


class allow_failure:  # noqa: N801 (Prefect's name)
    """Wrap an upstream future or state (an argument, or an item of ``wait_for``) so that the
    downstream task runs even if the upstream did not complete; an argument then receives the
    upstream's exception instead of its result."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"allow_failure({self.value!r})"


class DoneAndNotDone(NamedTuple):
    done: set[HeadwaterFuture]
    not_done: set[HeadwaterFuture]


def wait(futures: Iterable[HeadwaterFuture], timeout: float | None = None) -> DoneAndNotDone:
    """Wait for every future (or until ``timeout`` seconds pass).

    Returns:
        ``(done, not_done)`` sets of futures.
    """
    futures = list(futures)
    deadline = None if timeout is None else time.monotonic() + timeout
    for f in futures:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        f.wait(remaining)
    done = {f for f in futures if f.done()}
    return DoneAndNotDone(done, set(futures) - done)


def as_completed(futures: Iterable[HeadwaterFuture], timeout: float | None = None) -> Iterator[HeadwaterFuture]:
    """Yield futures as they finish (first finished first).

    Raises:
        TimeoutError: Some futures are not done after ``timeout`` seconds.
    """
    futures = list(futures)
    cond = threading.Condition()
    finished: list[HeadwaterFuture] = []

    def _done(f: HeadwaterFuture) -> None:
        with cond:
            finished.append(f)
            cond.notify_all()

    for f in futures:
        f.add_done_callback(_done)
    deadline = None if timeout is None else time.monotonic() + timeout
    yielded = 0
    while yielded < len(futures):
        with cond:
            while len(finished) <= yielded:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{len(futures) - yielded} of {len(futures)} futures not done after {timeout}s")
                cond.wait(remaining)
            f = finished[yielded]
        yielded += 1
        f.wait()
        yield f
