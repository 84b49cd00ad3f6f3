"""Async dispatch as Prefect 3 has it: a sync-named block call made from async code is awaitable."""

from __future__ import annotations

import asyncio
import inspect
import threading
from pathlib import Path
from typing import Any

import pytest
from headwater import Block, LocalFileSystem, Secret, flow, task
from headwater.dispatch import async_dispatch, in_async_context
from headwater.errors import BlockNotFoundError
from headwater.runtime.dispatching import dispatch_task


@pytest.fixture(autouse=True)
def _home(headwater_home: Any) -> Any:
    return headwater_home


def test_async_flow_awaits_every_sync_named_block_call(tmp_path: Path) -> None:
    LocalFileSystem(basepath=str(tmp_path / "store")).save("raw")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "b.txt").write_bytes(b"bee")
    (tmp_path / "one.txt").write_bytes(b"one")

    @flow
    async def etl() -> dict[str, Any]:
        fs = await Block.load("raw")
        assert isinstance(fs, LocalFileSystem)
        await fs.write_path("a.txt", b"hello")
        got = await fs.read_path("a.txt")
        await fs.upload_from_path(tmp_path / "one.txt", "up/one.txt")
        await fs.put_directory(str(src), "tree")
        listed = sorted(o["key"] for o in await fs.list_objects())
        local = await fs.download_object_to_path("up/one.txt", tmp_path / "down.txt")
        await fs.get_directory("tree", str(tmp_path / "copy"))
        await Secret(value="s3cr3t-dispatch").save("token")
        token = await Secret.load("token")
        await fs.save("raw-copy")
        await LocalFileSystem.delete("raw-copy")
        return {"got": got, "listed": listed, "local": Path(local).read_bytes(), "token": token.get()}

    out = asyncio.run(etl())
    assert out["got"] == b"hello"
    assert out["listed"] == ["a.txt", "tree/sub/b.txt", "up/one.txt"]
    assert out["local"] == b"one"
    assert (tmp_path / "copy" / "sub" / "b.txt").read_bytes() == b"bee"
    assert out["token"] == "s3cr3t-dispatch"
    assert (tmp_path / "store" / "a.txt").read_bytes() == b"hello"
    with pytest.raises(BlockNotFoundError):
        LocalFileSystem.load("raw-copy")


def test_outside_an_event_loop_calls_return_values(tmp_path: Path) -> None:
    fs = LocalFileSystem(basepath=str(tmp_path))
    assert fs.write_path("x", b"1") == str(tmp_path / "x")
    assert fs.read_path("x") == b"1"
    fs.save("plain")
    assert isinstance(LocalFileSystem.load("plain"), LocalFileSystem)


def test_sync_true_forces_the_sync_call_and_its_inner_calls_stay_sync(tmp_path: Path) -> None:
    fs = LocalFileSystem(basepath=str(tmp_path))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f.txt").write_bytes(b"f")

    async def main() -> tuple[Any, ...]:
        fs.save("forced", _sync=True)
        loaded = Block.load("forced", _sync=True)
        # put_directory calls upload_from_path itself: that call must not become a coroutine
        count = fs.put_directory(str(tmp_path / "src"), "copied", _sync=True)
        return fs.write_path("y", b"2", _sync=True), fs.read_path("y", _sync=True), loaded, count

    written, data, loaded, count = asyncio.run(main())
    assert (written, data, count) == (str(tmp_path / "y"), b"2", 1)
    assert isinstance(loaded, LocalFileSystem)
    assert (tmp_path / "copied" / "f.txt").read_bytes() == b"f"


def test_sync_false_returns_the_coroutine_outside_a_loop(tmp_path: Path) -> None:
    fs = LocalFileSystem(basepath=str(tmp_path))
    fs.write_path("z", b"3")
    pending = fs.read_path("z", _sync=False)
    assert inspect.iscoroutine(pending)
    assert asyncio.run(pending) == b"3"


def test_sync_task_inside_an_async_flow_gets_values(tmp_path: Path) -> None:
    LocalFileSystem(basepath=str(tmp_path)).save("raw")
    (tmp_path / "in.txt").write_bytes(b"in")

    @task
    def read_inline() -> bytes:  # runs on the loop's thread, but it is a sync task
        return Block.load("raw").read_path("in.txt")

    @task
    def read_in_worker() -> tuple[bytes, str]:  # runs in a worker thread: no loop there
        return Block.load("raw").read_path("in.txt"), threading.current_thread().name

    @flow
    async def reader() -> tuple[Any, ...]:
        return read_inline(), read_in_worker.submit().result()

    inline, (worker, thread) = asyncio.run(reader())
    assert inline == b"in" and worker == b"in"
    assert thread != threading.main_thread().name


def test_async_flow_forgetting_await_gets_a_coroutine_it_can_detect(tmp_path: Path) -> None:
    fs = LocalFileSystem(basepath=str(tmp_path))
    fs.write_path("w", b"w")

    @flow
    async def forgetful() -> Any:
        pending = fs.read_path("w")
        kind = inspect.iscoroutine(pending)
        pending.close()
        return kind, in_async_context()

    assert asyncio.run(forgetful()) == (True, True)


def test_sync_flow_called_from_a_running_loop_gets_values(tmp_path: Path) -> None:
    fs = LocalFileSystem(basepath=str(tmp_path))
    fs.write_path("s", b"s")

    @flow
    def sync_flow() -> bytes:
        return fs.read_path("s")

    async def main() -> bytes:
        return sync_flow()

    assert asyncio.run(main()) == b"s"


def test_subclass_override_and_plain_class_dispatch(tmp_path: Path) -> None:
    class Upper(LocalFileSystem):
        def read_path(self, path: str) -> bytes:
            return super().read_path(path).upper()

    class Counter:
        @async_dispatch()
        def add(self, n: int) -> int:
            return n + 1

        async def aadd(self, n: int) -> int:
            return n + 100

    fs = Upper(basepath=str(tmp_path))
    fs.write_path("u", b"up")

    async def main() -> tuple[Any, ...]:
        return await fs.read_path("u"), await Counter().add(1), Counter().add(1, _sync=True)

    assert asyncio.run(main()) == (b"UP", 101, 2)
    assert fs.read_path("u") == b"UP" and Counter().add(1) == 2


def test_dispatch_task_stays_a_task_with_options() -> None:
    from headwater.runtime import Task, async_twin

    @task
    def double(x: int) -> int:
        return 2 * x

    adouble = async_twin(double, "adouble")
    double = dispatch_task(double, adouble)
    assert isinstance(double, Task) and double(3) == 6
    retried = double.with_options(retries=2)
    assert retried.retries == 2

    @flow
    async def f() -> tuple[int, int, int]:
        return await double(4), await retried(5), double(6, _sync=True)

    assert asyncio.run(f()) == (8, 10, 12)


def test_async_task_results_persist_to_a_storage_block(tmp_path: Path) -> None:
    """The runtime writes an async task's result from the loop's thread: it must get values."""
    LocalFileSystem(basepath=str(tmp_path / "results")).save("results")

    @task(persist_result=True, result_storage="local-file-system/results", cache_key_fn=lambda ctx, params: "k")
    async def double(x: int) -> int:
        return 2 * x

    @flow
    async def twice() -> tuple[int, int]:
        return await double(2), await double(3)  # the second comes from the cache

    assert asyncio.run(twice()) == (4, 4)
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["k"]


def test_a_task_body_and_its_fn_keep_their_own_calls_sync(tmp_path: Path) -> None:
    from headwater.runtime import async_twin

    fs = LocalFileSystem(basepath=str(tmp_path))
    fs.write_path("b.txt", b"body")

    @task
    def read(path: str) -> bytes:
        return fs.read_path(path)

    aread = async_twin(read, "aread")
    read = dispatch_task(read, aread)

    @flow
    async def f() -> tuple[bytes, bytes]:
        return await read("b.txt"), read.fn("b.txt")  # .fn straight from async code: a value

    assert asyncio.run(f()) == (b"body", b"body")


def test_sync_state_hooks_of_an_async_flow_get_values(tmp_path: Path) -> None:
    """A sync hook (here one that notes the run in a storage block) on an async flow and task."""
    LocalFileSystem(basepath=str(tmp_path)).save("audit")

    def note(obj: Any, run: Any, state: Any) -> None:
        Block.load("audit").write_path(f"{obj.name}.txt", state.name.encode())

    @task(on_completion=[note])
    async def step() -> int:
        return 1

    @flow(on_completion=[note])
    async def audited() -> int:
        return await step()

    assert asyncio.run(audited()) == 1
    assert (tmp_path / "step.txt").read_bytes() == b"Completed"
    assert (tmp_path / "audited.txt").read_bytes() == b"Completed"
