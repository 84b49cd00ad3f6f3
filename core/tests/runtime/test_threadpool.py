"""The thread pool behind ThreadPoolTaskRunner: results, errors, waiting, callbacks, shutdown."""

from __future__ import annotations

import threading

import pytest
from headwater.runtime._threadpool import ThreadPool


def test_results_errors_and_bounded_threads():
    pool = ThreadPool(3)
    seen_threads = set()

    def work(i):
        seen_threads.add(threading.current_thread().name)
        if i == 7:
            raise KeyError("seven")
        return i * i

    futures = [pool.submit(lambda i=i: work(i)) for i in range(50)]
    assert [f.result() for f in futures if f is not futures[7]] == [i * i for i in range(50) if i != 7]
    with pytest.raises(KeyError, match="seven"):
        futures[7].result()
    pool.shutdown()
    assert 1 <= len(seen_threads) <= 3


def test_waiting_timeout_and_callbacks_before_and_after_done():
    pool = ThreadPool(1)
    gate = threading.Event()
    slow = pool.submit(lambda: gate.wait(10) and "opened")
    with pytest.raises(TimeoutError):
        slow.result(timeout=0.05)
    assert not slow.done()
    calls = []
    slow.add_done_callback(lambda f: calls.append(("early", f.result())))
    gate.set()
    assert slow.result(timeout=10) == "opened" and slow.done()
    slow.add_done_callback(lambda f: calls.append(("late", f.result())))
    assert calls == [("early", "opened"), ("late", "opened")]
    pool.shutdown()


def test_shutdown_runs_what_was_queued_then_refuses_more():
    pool = ThreadPool(2)
    done = []
    futures = [pool.submit(lambda i=i: done.append(i)) for i in range(200)]
    pool.shutdown(wait=True)
    assert sorted(done) == list(range(200)) and all(f.done() for f in futures)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    with pytest.raises(ValueError, match="at least 1"):
        ThreadPool(0)
