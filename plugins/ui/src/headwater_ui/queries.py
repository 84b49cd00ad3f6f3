"""Reading run history for the UI: filtered, keyset-paged run lists, run detail, logs, dashboard.

Single-run reads go through :mod:`headwater.history.reader`; the list and the dashboard need
filters and aggregates the reader does not offer, so they are plain SQL over the same tables,
written to use the history's indexes (``created``, ``state_type``, ``flow_run_id``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from headwater.errors import HeadwaterError
from headwater.history import reader
from headwater.store.engine import db_read, migrated_database

try:  # orchestration's tables (deployments, their queue, flow_runs.deployment), when this Headwater has them
    import headwater.orchestration.schema  # noqa: F401

    ORCHESTRATION = True
except ImportError:  # pragma: no cover - a Headwater without orchestration
    ORCHESTRATION = False

__all__ = [
    "RUN_COLUMNS",
    "STATE_TYPES",
    "RunFilter",
    "RunsRead",
    "dashboard",
    "flow_names",
    "inline_read",
    "logs_after",
    "logs_tail",
    "read_runs",
    "run_detail",
    "run_summary",
    "runs_page",
    "task_view",
]

STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "RUNNING", "PENDING", "SCHEDULED")
_SETTLE_EVERY = 5.0
_last_settle = 0.0
_SECRET_WORDS = (
    "password",
    "secret",
    "token",
    "passwd",
    "credential",
    "private_key",
    "api_key",
    "apikey",
    "access_key",
)


class BadFilterError(HeadwaterError, ValueError):
    """A filter value in the address cannot be understood."""


def _settle() -> None:
    """Mark runs whose process died as Crashed, at most every few seconds (not on every page)."""
    global _last_settle
    now = time.monotonic()
    if now - _last_settle >= _SETTLE_EVERY:
        _last_settle = now
        reader.settle_crashed()


def _settle_due(within: float = 0.0) -> bool:
    """Whether the crashed-run check is due (or will be in ``within`` seconds)."""
    return time.monotonic() - _last_settle >= _SETTLE_EVERY - within


def parse_when(text: str | None, now: float | None = None) -> float | None:
    """``24h`` / ``7d`` (ago), an ISO date or datetime, or a Unix time -> a Unix time."""
    if not text:
        return None
    t = text.strip()
    now = time.time() if now is None else now
    if t and t[-1].lower() in "smhdw" and t[:-1].replace(".", "", 1).isdigit():
        return now - reader.parse_age(t)
    try:
        return float(t)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(t).timestamp()
    except ValueError:
        raise BadFilterError(f"{text!r} is not a time: use e.g. 24h, 7d, 2026-12-01 or 2026-12-01T08:00") from None


@dataclass
class RunFilter:
    """What the runs list shows; every field is optional."""

    states: list[str] = field(default_factory=list)
    flow: str | None = None
    deployment: str | None = None
    tags: list[str] = field(default_factory=list)
    since: float | None = None
    until: float | None = None
    q: str | None = None
    limit: int = 50
    cursor: str | None = None

    @classmethod
    def from_query(cls, params: Any) -> RunFilter:
        """From a request's query parameters (``state`` and ``tag`` may repeat)."""
        states = [s.upper() for v in params.getlist("state") for s in v.split(",") if s.strip()]
        unknown = [s for s in states if s not in STATE_TYPES]
        if unknown:
            raise BadFilterError(f"unknown state {unknown[0]!r}: use one of {', '.join(STATE_TYPES)}")
        tags = [t.strip() for v in params.getlist("tag") for t in v.split(",") if t.strip()]
        try:
            limit = max(1, min(500, int(params.get("limit") or 50)))
        except ValueError:
            raise BadFilterError(f"limit {params.get('limit')!r} is not a number") from None
        return cls(
            states=states,
            flow=(params.get("flow") or "").strip() or None,
            tags=tags,
            since=parse_when(params.get("since")),
            until=parse_when(params.get("until")),
            q=(params.get("q") or "").strip() or None,
            limit=limit,
            cursor=params.get("cursor") or None,
        )


def encode_cursor(created: float, id_: str) -> str:
    return f"{created!r}_{id_}"


def _decode_cursor(cursor: str) -> tuple[float, str]:
    created, sep, id_ = cursor.partition("_")
    try:
        if not sep:
            raise ValueError
        return float(created), id_
    except ValueError:
        raise BadFilterError(f"cursor {cursor!r} is not one this UI made: start from the first page") from None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def runs_query(f: RunFilter) -> tuple[str, dict[str, Any]]:
    """The SQL (and parameters) of one page of runs: newest first, one row more than the page."""
    where, params = [], {"limit": f.limit + 1}
    if f.states:
        marks = ", ".join(f":s{i}" for i in range(len(f.states)))
        where.append(f"state_type IN ({marks})")
        params.update({f"s{i}": s for i, s in enumerate(f.states)})
    if f.flow:
        where.append("flow_name = :flow")
        params["flow"] = f.flow
    if f.deployment:
        where.append("deployment = :dep")  # a column orchestration's migration adds
        params["dep"] = f.deployment
    for i, tag in enumerate(f.tags):
        where.append(f"tags LIKE :t{i} ESCAPE '\\'")
        params[f"t{i}"] = "%" + _like(json.dumps(tag)) + "%"
    if f.since is not None:
        where.append("created >= :since")
        params["since"] = f.since
    if f.until is not None:
        where.append("created < :until")
        params["until"] = f.until
    if f.q:
        where.append("(name LIKE :q ESCAPE '\\' OR id LIKE :qid ESCAPE '\\')")
        params["q"] = "%" + _like(f.q) + "%"
        params["qid"] = _like(f.q.lower()) + "%"
    if f.cursor:
        created, id_ = _decode_cursor(f.cursor)
        where.append("created <= :cc AND (created < :cc OR id < :cid)")
        params.update({"cc": created, "cid": id_})
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    sql = f"SELECT {_RUN_SELECT} FROM flow_runs {clause}ORDER BY created DESC, id DESC LIMIT :limit"
    return sql, params


# the columns of a runs-list row, in this order (RunsRead.rows are tuples of them)
RUN_COLUMNS = (
    "id",
    "name",
    "flow_name",
    "state",
    "state_type",
    "tags",
    "created",
    "started",
    "ended",
    "duration",
    "run_count",
    "parent_flow_run_id",
)
_RUN_SELECT = ", ".join("ended - started AS duration" if c == "duration" else c for c in RUN_COLUMNS)


@dataclass
class RunsRead:
    """One page of the runs list as read: ``rows`` are tuples in :data:`RUN_COLUMNS` order (tags
    still JSON), ``counts`` the task runs per flow run id."""

    rows: list[tuple[Any, ...]]
    counts: dict[str, int]
    next_cursor: str | None


def read_runs(f: RunFilter) -> RunsRead:
    """One page of flow runs matching ``f``, newest first, and the cursor of the next page."""
    _settle()
    if f.deployment:
        try:  # registers orchestration's migration, which adds flow_runs.deployment
            import headwater.orchestration.schema  # noqa: F401
        except ImportError:
            raise BadFilterError(
                "this Headwater has no deployments (no orchestration): drop the deployment filter"
            ) from None
    sql, params = runs_query(f)
    counts: dict[str, int] = {}
    with db_read() as tx:
        rows = tx.tuples(sql, params)
        more = len(rows) > f.limit
        del rows[f.limit :]
        if rows:
            ids = dict(zip(_ID_KEYS, [r[0] for r in rows], strict=False))  # the first len(rows) keys
            counts = dict(tx.tuples(_counts_sql(len(rows)), ids))
    last = rows[-1] if rows and more else None
    return RunsRead(rows, counts, encode_cursor(last[_CREATED], last[0]) if last else None)


_CREATED = RUN_COLUMNS.index("created")


def runs_page(f: RunFilter) -> dict[str, Any]:
    """One page of flow runs matching ``f`` as JSON-ready dicts (tags a list, ``task_runs`` their
    number) and the cursor of the next page (``None`` at the end)."""
    page = read_runs(f)
    runs = []
    tags, counts = _tags, page.counts
    for row in page.rows:
        r = dict(zip(RUN_COLUMNS, row, strict=True))
        r["tags"] = list(tags(r["tags"])) if r["tags"] else []
        r["task_runs"] = counts.get(r["id"], 0)
        runs.append(r)
    return {"runs": runs, "next_cursor": page.next_cursor}


_ID_KEYS = tuple(f"i{i}" for i in range(501))  # a page holds at most 500 runs


@lru_cache(maxsize=512)
def _counts_sql(n: int) -> str:
    """The task-run counts of ``n`` flow runs (parameters ``:i0`` ... ``:i{n-1}``)."""
    marks = ", ".join(f":{k}" for k in _ID_KEYS[:n])
    return f"SELECT flow_run_id, COUNT(*) FROM task_runs WHERE flow_run_id IN ({marks}) GROUP BY flow_run_id"


_INLINE_KEYS = frozenset({"limit", "cursor", "since", "until", "state", "flow"})


def inline_read(params: Any, flow_choices: bool = False) -> bool:
    """Whether a runs-list request may be served on the event loop (see :func:`headwater_ui.threads.threaded`).

    True when its read is small and bounded: the embedded SQLite store, already open and
    migrated; no crashed-run check due (that one writes); and a filter that one index answers
    in order, so the query reads about one page of index entries: no filter, one state or one
    flow, a time range, a cursor. Search, tags, deployments, several states, or a state and a
    flow together may scan, and go to a worker thread, as do the requests that find the crashed-run
    check due, or (``flow_choices``: the page, whose form lists the flows) the list of flow names
    (a scan, kept 30 s).
    """
    db = migrated_database()
    # "due within a second": the request runs right after this check, and must not find them due
    if db is None or db.dialect != "sqlite" or _settle_due(1.0) or (flow_choices and _flow_names_due(1.0)):
        return False
    used = {k for k, v in params.multi_items() if v.strip()}
    if not used <= _INLINE_KEYS:
        return False
    states = [v for v in params.getlist("state") if v.strip()]
    if len(states) > 1 or (states and "," in states[0].strip(" ,")):
        return False
    return not (states and "flow" in used)


@lru_cache(maxsize=512)
def _tags(text: str) -> tuple[str, ...]:
    """A run's tags from their JSON; runs share a few tag sets, so parsing is cached."""
    return tuple(json.loads(text))


_FLOW_NAMES_TTL = 30.0
_flow_names: tuple[float, str, tuple[str, ...]] = (0.0, "", ())


def _flow_names_due(within: float = 0.0) -> bool:
    from headwater.settings import get_settings

    at, url, _ = _flow_names
    return time.monotonic() - at > _FLOW_NAMES_TTL - within or url != get_settings().database_url


def flow_names() -> tuple[str, ...]:
    """Every flow name in the history (for the filter's choices; a full scan, so kept 30 s)."""
    global _flow_names
    from headwater.settings import get_settings

    at, url, names = _flow_names
    store = get_settings().database_url
    if time.monotonic() - at > _FLOW_NAMES_TTL or url != store:
        with db_read() as tx:
            names = tuple(r[0] for r in tx.tuples("SELECT DISTINCT flow_name FROM flow_runs ORDER BY flow_name"))
        _flow_names = (time.monotonic(), store, names)
    return names


def _looks_secret(key: str) -> bool:
    k = key.lower()
    return any(w in k for w in _SECRET_WORDS) and not k.endswith("_id")


def mask_parameters(value: Any) -> Any:
    """Parameters with the values of secret-looking keys masked (the history masks secret types;
    this also covers a plain ``str`` parameter called ``password``)."""
    if isinstance(value, dict):
        return {
            k: ("**********" if _looks_secret(str(k)) and v not in (None, "") else mask_parameters(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_parameters(v) for v in value]
    return value


def run_detail(run_id: str) -> dict[str, Any]:
    """A flow run with its task runs (upstream ids, tries, durations, errors) and subflow runs.

    Raises:
        RunNotFoundError: No flow run has that id or id prefix.
    """
    run = run_summary(run_id)
    tasks = reader.list_task_runs(run["id"])
    for t in tasks:
        if t.get("parameters"):
            t["parameters"] = mask_parameters(t["parameters"])
    run["task_runs"] = tasks
    return run


_RANK = ("FAILED", "CRASHED", "RUNNING", "PENDING", "CANCELLED", "SCHEDULED", "COMPLETED")
_RANK_SQL = "MIN(CASE state_type " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(_RANK)) + " ELSE 6 END)"


def task_view(flow_run_id: str, shown: int = 300, errors: int = 50, whole_graph: int = 80) -> dict[str, Any]:
    """What a run's page shows of its task runs, read so that a run of 10,000 costs little:

    ``count``; ``tasks``: the first ``shown`` by start, with upstream ids (lean: no parameters
    or metadata); ``span``: (first start, last end) over all of them; ``errors``: up to
    ``errors`` failed ones with their tracebacks (``message``); ``graph``: ``None`` when the run has at most
    ``whole_graph`` task runs (draw them one by one), else the lineage per task computed in
    SQL: ``(nodes, edges)`` with nodes ``{task_key: {"count", "state_type"}}``.
    """
    now = time.time()
    with db_read() as tx:
        per_task = tx.execute(  # one pass over the run's task runs gives the count, the span and the nodes
            f"SELECT task_key, COUNT(*) AS n, {_RANK_SQL} AS worst, MIN(started) AS first, "
            "MAX(COALESCE(ended, :now)) AS last FROM task_runs WHERE flow_run_id = :id GROUP BY task_key",
            {"id": flow_run_id, "now": now},
        )
        count = sum(int(r.n) for r in per_task)
        firsts = [r.first for r in per_task if r.first is not None]
        span = (min(firsts), max(r.last for r in per_task if r.first is not None)) if firsts else None
        rows = tx.execute(
            "SELECT id, name, task_key, state_type, state, run_count, started, ended, ended - started AS duration "
            "FROM task_runs WHERE flow_run_id = :id ORDER BY created LIMIT :n",
            {"id": flow_run_id, "n": shown},
        )
        failed = tx.execute(
            "SELECT id, name, state_type, state, run_count, message FROM task_runs WHERE flow_run_id = :id "
            "AND state_type IN ('FAILED', 'CRASHED') ORDER BY created LIMIT :n",
            {"id": flow_run_id, "n": errors},
        )
        upstream: dict[str, list[str]] = {}
        if count <= max(shown, whole_graph):
            edges = tx.execute(
                "SELECT upstream_id, downstream_id FROM run_edges WHERE flow_run_id = :id", {"id": flow_run_id}
            )
        else:
            marks = ", ".join(f":i{i}" for i in range(len(rows)))
            edges = (
                tx.execute(
                    f"SELECT upstream_id, downstream_id FROM run_edges WHERE downstream_id IN ({marks})",
                    {f"i{i}": r["id"] for i, r in enumerate(rows)},
                )
                if rows
                else []
            )
        for e in edges:
            upstream.setdefault(e.downstream_id, []).append(e.upstream_id)
        graph = None
        if count > whole_graph:
            nodes = {
                r.task_key: {"count": int(r.n), "state_type": _RANK[min(int(r.worst), len(_RANK) - 1)]}
                for r in per_task
            }
            links = {
                (r.up, r.down)
                for r in tx.execute(
                    "SELECT DISTINCT u.task_key AS up, d.task_key AS down FROM run_edges e "
                    "JOIN task_runs u ON u.id = e.upstream_id JOIN task_runs d ON d.id = e.downstream_id "
                    "WHERE e.flow_run_id = :id AND u.task_key <> d.task_key",
                    {"id": flow_run_id},
                )
            }
            graph = (nodes, links)
    for r in rows:
        r["upstream"] = upstream.get(r["id"], [])
    return {"count": count, "tasks": rows, "span": span, "graph": graph, "errors": [dict(r) for r in failed]}


def run_summary(run_id: str) -> dict[str, Any]:
    """A flow run (parameters masked) with its subflow runs, without its task runs."""
    _settle()
    run = reader.get_flow_run(run_id)
    run["parameters"] = mask_parameters(run["parameters"])
    run.pop("pid", None)
    with db_read() as tx:
        subflows = tx.execute(
            "SELECT id, name, flow_name, state, state_type, started, ended FROM flow_runs "
            "WHERE parent_flow_run_id = :id ORDER BY created",
            {"id": run["id"]},
        )
    run["subflow_runs"] = [dict(r) for r in subflows]
    return run


def logs_after(flow_run_id: str, after_id: int = 0, limit: int = 2000) -> list[dict[str, Any]]:
    """Log lines of a flow run (its task runs' included) with an id above ``after_id``, oldest first."""
    with db_read() as tx:
        rows = tx.execute(
            "SELECT id, task_run_id, ts, level, logger, message FROM run_logs "
            "WHERE flow_run_id = :f AND id > :a ORDER BY id LIMIT :n",
            {"f": flow_run_id, "a": int(after_id), "n": int(limit)},
        )
    return [dict(r) for r in rows]


def _late_runs(tx: Any, now: float) -> list[dict[str, Any]]:
    """Deployment runs still waiting past their scheduled time, by the scheduler's measure
    (``HEADWATER_LATE_AFTER_SECONDS``, 15 s by default)."""
    if not ORCHESTRATION:
        return []
    from headwater.orchestration.scheduler import SchedulerSettings

    rows = tx.execute(
        "SELECT id, name, deployment, flow_name, scheduled_time, state, state_type FROM scheduled_runs "
        "WHERE state_type = 'SCHEDULED' AND scheduled_time < :t ORDER BY scheduled_time LIMIT 20",
        {"t": now - SchedulerSettings.from_env().late_after_seconds},
    )
    return [{**dict(r), "late_seconds": round(now - r.scheduled_time, 1)} for r in rows]


def logs_tail(flow_run_id: str, limit: int = 2000) -> tuple[list[dict[str, Any]], bool]:
    """The last ``limit`` log lines of a flow run, oldest first, and whether there are earlier ones."""
    with db_read() as tx:
        rows = tx.execute(
            "SELECT id, task_run_id, ts, level, logger, message FROM run_logs WHERE flow_run_id = :f "
            "ORDER BY id DESC LIMIT :n",
            {"f": flow_run_id, "n": int(limit) + 1},
        )
    more = len(rows) > limit
    return [dict(r) for r in reversed(rows[:limit])], more


def dashboard(now: float | None = None) -> dict[str, Any]:
    """Runs per state over 24 hours and 7 days, failure rate per flow and the slowest tasks (7 days),
    and late runs (scheduled runs past their time, once deployments schedule runs)."""
    _settle()
    now = time.time() if now is None else now
    day, week = now - 86400, now - 7 * 86400
    out: dict[str, Any] = {"generated": now}
    with db_read() as tx:
        for key, since in (("last_24h", day), ("last_7d", week)):
            rows = tx.execute(
                "SELECT state_type, COUNT(*) AS n FROM flow_runs WHERE created >= :s GROUP BY state_type", {"s": since}
            )
            out[key] = {r.state_type: r.n for r in rows}
        per_day = tx.execute(
            "SELECT d, state_type, COUNT(*) AS n FROM (SELECT CAST(FLOOR((created - :w) / 86400) AS INTEGER) AS d, "
            "state_type FROM flow_runs WHERE created >= :w) AS recent GROUP BY d, state_type",
            {"w": week},
        )
        days: list[dict[str, int]] = [{} for _ in range(7)]
        for r in per_day:
            if 0 <= r.d < 7:
                days[r.d][r.state_type] = r.n
        out["per_day"] = [{"day": week + 86400 * i, "counts": c} for i, c in enumerate(days)]
        flows = tx.execute(
            "SELECT flow_name, COUNT(*) AS runs, "
            "SUM(CASE WHEN state_type IN ('FAILED', 'CRASHED') THEN 1 ELSE 0 END) AS failed "
            "FROM flow_runs WHERE created >= :w GROUP BY flow_name ORDER BY flow_name",
            {"w": week},
        )
        out["flows"] = [
            {
                "flow_name": r.flow_name,
                "runs": r.runs,
                "failed": int(r.failed or 0),
                "failure_rate": round(int(r.failed or 0) / r.runs, 4) if r.runs else 0.0,
            }
            for r in flows
        ]
        out["flows"].sort(key=lambda f: (-f["failure_rate"], f["flow_name"]))
        slow = tx.execute(
            "SELECT t.id, t.name, t.task_key, t.flow_run_id, t.state_type, t.state, t.started, t.ended, "
            "(t.ended - t.started) AS duration FROM flow_runs f JOIN task_runs t ON t.flow_run_id = f.id "
            "WHERE f.created >= :d AND t.ended IS NOT NULL AND t.started IS NOT NULL "
            "ORDER BY (t.ended - t.started) DESC LIMIT 10",
            {"d": day},
        )
        out["slowest_tasks"] = [dict(r) for r in slow]
        out["late_runs"] = _late_runs(tx, now)
    return out
