"""Running a blocking endpoint off the event loop, cheaply, and only when it is worth it.

Starlette runs a plain ``def`` endpoint through anyio's worker threads, which costs about
0.1-0.2 ms a request (capacity limiter, cancel scope, checkpoints): as much as the SQL of a page
of runs. The runs list, the most requested page, goes through asyncio's own executor instead,
and skips the thread altogether when its read is bounded (see :func:`threaded`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["threaded"]

_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="headwater-ui")


def threaded(
    fn: Callable[[Request], Response], inline: Callable[[Request], bool] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """``fn`` as an async endpoint that runs it in a worker thread (with the caller's context vars).

    ``inline(request)`` may say that this request's work is small and bounded (an indexed read of
    one page from the embedded SQLite file, no writes): it then runs on the event loop. Handing a
    0.3 ms read to a thread and back costs about 0.13 ms on a 2-core machine, and that read's
    Python work holds the GIL, so the loop would wait for most of it anyway. Anything that may
    scan, write or wait on a network (search, PostgreSQL) still goes to a thread.
    """

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        if inline is not None and inline(request):
            return fn(request)
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(_POOL, ctx.run, fn, request)

    return endpoint
