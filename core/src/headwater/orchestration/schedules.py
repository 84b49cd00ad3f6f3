"""Schedules: ``Cron``, ``Interval`` and ``RRule``, as in Prefect 3, timezone- and DST-correct.

Every schedule turns a time window into the instants at which a deployment runs. Cron and
rrule schedules are evaluated in the schedule's *local wall time* and then placed on the
timeline, which gives Prefect's documented behaviour on daylight-saving transition days:

- a wall time that does not exist (clocks jump forward) runs once, at the same offset past
  the jump (a daily 02:30 runs at 03:30 that day);
- a wall time that happens twice (clocks go back) runs once, at its first occurrence (an
  hourly cron does not run twice in the repeated hour).

An ``Interval`` of whole days keeps its wall time across transitions (daily at 09:00 stays
09:00); shorter intervals are fixed durations on the timeline.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from headwater.orchestration.errors import InvalidScheduleError

__all__ = ["Cron", "Interval", "RRule", "Schedule", "schedule_from_dict", "to_schedule", "validate_timezone"]

UTC = timezone.utc
_DEFAULT_ANCHOR = datetime(2020, 1, 1)


def validate_timezone(name: str | None) -> Any:
    """The ``tzinfo`` for an IANA name (UTC when ``None``); InvalidScheduleError otherwise."""
    if name is None or name in ("UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidScheduleError(
            f"unknown timezone {name!r}: use an IANA name such as 'Europe/Paris' or 'America/New_York'"
        ) from None


def _place(naive: datetime, tz: Any) -> float:
    """A local wall time on the timeline (see the module docstring for the DST rules)."""
    # fold=0 is the first of two repeated wall times; for a skipped wall time, zoneinfo applies
    # the offset from before the jump, which lands the same distance past it.
    return naive.replace(tzinfo=tz, fold=0).timestamp()


def _local(ts: float, tz: Any) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def _wall_start(after: float, tz: Any) -> datetime:
    """Where to start walking wall times: just before ``after``, or an hour earlier when the
    clocks jumped in the last hour (a skipped wall time lands after the jump, see above)."""
    local = _local(after, tz)
    if tz is UTC or tz.utcoffset(local - timedelta(hours=2)) == tz.utcoffset(local):
        return local - timedelta(seconds=1)
    return local - timedelta(hours=1)


class Schedule:
    """Base of the schedule types: ``active`` and per-schedule ``parameters``."""

    kind = ""

    def __init__(self, timezone: str | None, active: bool, parameters: dict[str, Any] | None) -> None:
        self.tz = validate_timezone(timezone)
        self.timezone = timezone
        self.active = bool(active)
        self.parameters = dict(parameters or {})

    def _times(self, after: float) -> Iterator[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def dates(self, start: float, end: float, limit: int = 1000) -> list[float]:
        """Instants (epoch seconds) strictly after ``start`` and no later than ``end``."""
        out: list[float] = []
        last = None
        for ts in self._times(start):
            if ts > end or len(out) >= limit:
                break
            if ts <= start or ts == last:
                continue
            out.append(ts)
            last = ts
        return out

    def next_dates(self, n: int, after: float | None = None) -> list[datetime]:
        """The next ``n`` run times as timezone-aware datetimes in the schedule's timezone."""
        import time

        start = time.time() if after is None else after
        found = self.dates(start, math.inf, limit=n)
        return [datetime.fromtimestamp(ts, self.tz) for ts in found]

    def to_dict(self) -> dict[str, Any]:
        out = {"type": self.kind, **self._fields(), "timezone": self.timezone, "active": self.active}
        if self.parameters:
            out["parameters"] = self.parameters
        return out

    def _fields(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        tz = f" ({self.timezone})" if self.timezone else ""
        return f"{self.kind} {next(iter(self._fields().values()))}{tz}"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


class Cron(Schedule):
    """Runs at the instants a cron expression names, in ``timezone`` (UTC by default).

    Args:
        cron: A five-field cron expression (``"0 * * * *"``), or ``@hourly``-style aliases.
        timezone: IANA timezone name the expression is read in.
        day_or: When both day-of-month and day-of-week are restricted, run on either
            (True, cron's usual rule) or only on days matching both (False).
        active: An inactive schedule creates no runs.
        parameters: Parameters for runs from this schedule (over the deployment's).

    Example:
        >>> Cron("30 2 * * *", timezone="Europe/Paris")
    """

    kind = "cron"

    def __init__(
        self,
        cron: str,
        /,
        timezone: str | None = None,
        day_or: bool = True,
        active: bool = True,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(timezone, active, parameters)
        from croniter import croniter

        text = str(cron).strip()
        if not text or not croniter.is_valid(text) or len(text.split()) > 5:
            raise InvalidScheduleError(
                f"invalid cron expression {cron!r}: use five fields 'minute hour day month weekday', e.g. '0 * * * *'"
            )
        self.cron = text
        self.day_or = bool(day_or)

    def _fields(self) -> dict[str, Any]:
        return {"cron": self.cron, "day_or": self.day_or}

    def _times(self, after: float) -> Iterator[float]:
        from croniter import croniter

        it = croniter(self.cron, _wall_start(after, self.tz), day_or=self.day_or)
        while True:
            yield _place(it.get_next(datetime), self.tz)


class Interval(Schedule):
    """Runs every ``interval`` from ``anchor_date`` (2020-01-01 00:00 in ``timezone`` by default).

    Args:
        interval: Seconds, or a ``timedelta``. Whole days keep their wall time across DST.
        anchor_date: A datetime the runs are aligned to (naive: read in ``timezone``).
        timezone: IANA timezone name.
        active: An inactive schedule creates no runs.
        parameters: Parameters for runs from this schedule.
    """

    kind = "interval"

    def __init__(
        self,
        interval: float | timedelta,
        /,
        anchor_date: datetime | str | None = None,
        timezone: str | None = None,
        active: bool = True,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(timezone, active, parameters)
        seconds = interval.total_seconds() if isinstance(interval, timedelta) else interval
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            raise InvalidScheduleError(f"interval {interval!r} is not a number of seconds or a timedelta") from None
        if not math.isfinite(seconds) or seconds <= 0:
            raise InvalidScheduleError(f"interval must be a positive number of seconds, got {interval!r}")
        self.interval = seconds
        if isinstance(anchor_date, str):
            try:
                anchor_date = datetime.fromisoformat(anchor_date)
            except ValueError:
                raise InvalidScheduleError(f"anchor_date {anchor_date!r} is not an ISO 8601 date-time") from None
        anchor = anchor_date or _DEFAULT_ANCHOR
        if anchor.tzinfo is not None:
            if timezone is None and anchor.utcoffset() != timedelta(0):
                tzname = getattr(anchor.tzinfo, "key", None)
                if tzname:
                    self.tz, self.timezone = anchor.tzinfo, tzname
            anchor = anchor.astimezone(self.tz).replace(tzinfo=None)
        self.anchor = anchor

    def _fields(self) -> dict[str, Any]:
        return {"interval": self.interval, "anchor_date": self.anchor.isoformat()}

    def _times(self, after: float) -> Iterator[float]:
        days, rest = divmod(self.interval, 86400)
        if rest == 0:  # whole days: step in wall time
            step = timedelta(days=days)
            k = max(0, math.floor((_local(after, self.tz) - self.anchor) / step) - 1)
            while True:
                yield _place(self.anchor + k * step, self.tz)
                k += 1
        origin = _place(self.anchor, self.tz)
        k = max(0, math.floor((after - origin) / self.interval))
        while True:
            yield origin + k * self.interval
            k += 1

    def describe(self) -> str:
        return f"every {_human(self.interval)}" + (f" ({self.timezone})" if self.timezone else "")


class RRule(Schedule):
    """Runs at the instants of an iCalendar recurrence rule (dateutil's rrule).

    Args:
        rrule: An RFC 5545 rule, e.g. ``"FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"`` (a
            ``DTSTART:`` line may precede it).
        timezone: IANA timezone name the rule's wall times are read in.
    """

    kind = "rrule"

    def __init__(
        self, rrule: str, /, timezone: str | None = None, active: bool = True, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(timezone, active, parameters)
        self.rrule = str(rrule).strip()
        self._rule = self._parse()

    def _parse(self) -> Any:
        from dateutil.rrule import rrulestr

        text = self.rrule
        if text.upper().startswith("RRULE:") is False and "\n" not in text and not text.upper().startswith("DTSTART"):
            text = "RRULE:" + text
        try:
            return rrulestr(text, dtstart=_DEFAULT_ANCHOR, ignoretz=True, forceset=True, cache=False)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise InvalidScheduleError(
                f"invalid rrule {self.rrule!r} ({exc}): use RFC 5545, e.g. 'FREQ=DAILY;BYHOUR=9;BYMINUTE=0'"
            ) from None

    def _fields(self) -> dict[str, Any]:
        return {"rrule": self.rrule}

    def _times(self, after: float) -> Iterator[float]:
        cursor = _wall_start(after, self.tz)
        while True:
            nxt = self._rule.after(cursor)
            if nxt is None:
                return
            cursor = nxt
            yield _place(nxt, self.tz)


def _human(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} seconds"


def schedule_from_dict(data: dict[str, Any]) -> Schedule:
    """Rebuild a schedule saved with :meth:`Schedule.to_dict` (or written in ``headwater.yaml``)."""
    data = dict(data)
    common = {k: data[k] for k in ("timezone", "active", "parameters") if k in data}
    kind = data.get("type")
    if kind == "cron" or (kind is None and "cron" in data):
        return Cron(data["cron"], day_or=data.get("day_or", True), **common)
    if kind == "interval" or (kind is None and "interval" in data):
        return Interval(data["interval"], anchor_date=data.get("anchor_date"), **common)
    if kind == "rrule" or (kind is None and "rrule" in data):
        return RRule(data["rrule"], **common)
    raise InvalidScheduleError(f"schedule {data!r} has none of cron, interval or rrule")


def to_schedule(value: Any) -> Schedule:
    """A schedule from a Schedule, a dict, a cron string, seconds or a timedelta."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        return schedule_from_dict(value)
    if isinstance(value, str):
        return Cron(value)
    if isinstance(value, (int, float, timedelta)):
        return Interval(value)
    raise InvalidScheduleError(f"{value!r} is not a schedule: use Cron(...), Interval(...) or RRule(...)")
