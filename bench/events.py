"""Bench: the event log and automations: emit_event's cost to the caller, a burst of events, event to action.

Run: ``.venv/bin/python bench/events.py [--quick] [--repeat N]``.

- ``emit_event``: seconds per call as the caller sees it (the row is written by the history
  writer's thread in the next batch), against the floor of appending the same tuple to a deque.
- A burst of 100,000 events (20,000 with ``--quick``): time until all are in the store; the
  script fails if one is missing.
- Event to action: ``headwater automations serve`` in its own process, a Slack webhook block
  pointing at an HTTP receiver on 127.0.0.1; one event at a time, from emit to the request's
  arrival. Targets: p50 <= 200 ms, p99 <= 1 s.
- Run state changes recorded as events: a flow of 2,000 tasks in a fresh process with and
  without them (``HEADWATER_EVENTS_STATE_CHANGES=false``), CPU seconds.
No Prefect peer row: Prefect's events need its server.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import harness
from harness import BenchError, Process, Row, Stats, compare

FLOW = """
from headwater import flow, task
@task
def t(i):
    return i
@flow
def f(n):
    for i in range(n):
        t(i)
f(2000)
"""


def emit_rows(args) -> list[Row]:
    from headwater.events import emit_event

    calls = 2_000 if args.quick else 10_000
    queue: deque = deque()
    resource = {"headwater.resource.id": "bench.resource"}

    def hw() -> None:
        for i in range(calls):
            emit_event("bench.tick", resource=resource, payload={"i": i})

    def floor() -> None:
        for _ in range(calls):
            queue.append((4, ("id", time.time(), "bench.tick", "bench.resource", "{}", None, '{"i": 1}')))
        queue.clear()

    stats = compare({"hw": hw, "floor": floor}, repeat=args.repeat, warmup=1)
    per = stats["hw"].scaled(1 / calls)
    return [Row("emit_event, per call (caller's cost)", per, floor=stats["floor"].scaled(1 / calls), target=20e-6,
                note="target <= 20 µs")]


def burst_row(args) -> Row:
    from headwater.events import emit_event, list_events
    from headwater.history.writer import flush

    n = 20_000 if args.quick else 100_000
    resource = {"headwater.resource.id": "bench.burst"}
    samples = []
    for rnd in range(max(1, args.repeat // 2)):
        name = f"bench.burst.{rnd}"
        start = time.perf_counter()
        for i in range(n):
            emit_event(name, resource=resource, payload={"i": i})
        flush()
        samples.append(time.perf_counter() - start)
        got = len(list_events(name, limit=n + 10))
        if got != n:
            raise BenchError(f"burst of {n} events: {got} recorded")
    return Row(f"burst of {n:,} events until all recorded (none lost)", Stats.of(samples))


def latency_rows(args) -> list[Row]:
    from headwater.events import emit_event
    from headwater.events.automations import Automation, EventTrigger, SendNotification
    from headwater.testing.receivers import HttpReceiver
    from headwater_notify import SlackWebhook

    n = 15 if args.quick else 60
    with HttpReceiver() as rx:
        SlackWebhook(url=rx.url + "/lat", retries=0).save("bench-latency")
        Automation(name="bench-latency", trigger=EventTrigger(expect=["bench.latency"]),
                   actions=[SendNotification(block="bench-latency", body="{{ event.payload.i }}")]).create(replace=True)
        exe = Path(sys.executable).with_name("headwater")
        with open(os.devnull, "w") as sink:
            service = subprocess.Popen([str(exe), "automations", "serve"], env=os.environ.copy(), stderr=sink)
        try:
            time.sleep(2.0)
            sent: dict[int, float] = {}
            for i in range(n):
                sent[i] = time.perf_counter()
                emit_event("bench.latency", resource={"headwater.resource.id": "bench"}, payload={"i": i})
                rx.wait_for(i + 1, timeout=10)
                time.sleep(0.05)
            arrived = {}
            for req, at in zip(rx.requests, rx.arrivals, strict=True):
                arrived[int(req.json()["text"].rsplit("\n", 1)[-1])] = at
        finally:
            service.terminate()
            service.wait(10)
    lat = sorted(arrived[i] - sent[i] for i in range(n))
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    return [
        Row(f"event to action (notification received), p50 of {n}", Stats.of([statistics.median(lat)]),
            target=0.2, note="target <= 200 ms"),
        Row(f"event to action, p99 of {n}", Stats.of([p99]), target=1.0, note="target <= 1 s"),
    ]


def state_event_row(args) -> Row:
    on = Process([sys.executable, "-c", FLOW], env_factory=lambda: harness.headwater_env())
    off = Process([sys.executable, "-c", FLOW],
                  env_factory=lambda: {**harness.headwater_env(), "HEADWATER_EVENTS_STATE_CHANGES": "false"})
    compare({"on": on, "off": off}, repeat=args.repeat, warmup=1)
    cpu_on, cpu_off = Stats.of(on.cpu_samples), Stats.of(off.cpu_samples)
    return Row("flow of 2,000 tasks, CPU s, with state-change events (floor: without)", cpu_on, floor=cpu_off,
               target=1.15 * cpu_off.median, note="target <= 1.15x")


def main() -> int:
    args = harness.bench_args(__doc__.splitlines()[0], repeat=5)
    os.environ.update(harness.headwater_env())
    rows = emit_rows(args)
    rows.append(burst_row(args))
    rows += latency_rows(args)
    rows.append(state_event_row(args))
    missed = harness.report("events", rows, json_out=not args.no_json)
    return harness.exit_code(missed)


if __name__ == "__main__":
    sys.exit(main())
