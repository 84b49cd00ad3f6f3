"""Running a blocking endpoint off the event loop, cheaply.

Starlette runs a plain ``def`` endpoint through anyio's worker threads, which costs about
0.1-0.2 ms a request (capacity limiter, cancel scope, checkpoints): as much as the SQL of a page
of runs. The runs list, the most requested page, goes through asyncio's own executor instead.
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


def threaded(fn: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """``fn`` as an async endpoint that runs it in a worker thread (with the caller's context vars)."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(_POOL, ctx.run, fn, request)

    return endpoint
