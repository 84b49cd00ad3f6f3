"""Prefect 0.15's schedules: ``IntervalSchedule``, ``CronSchedule``, ``Schedule(clocks=[...])``.

``Flow(..., schedule=...)`` with ``flow.run()`` runs the flow at each scheduled time, in this
process, until the schedule ends (``end_date``) or the process is stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from headwater.errors import HeadwaterError

__all__ = ["CronClock", "CronSchedule", "IntervalClock", "IntervalSchedule", "Schedule", "ScheduleError"]


class ScheduleError(HeadwaterError, ValueError):
    """A schedule's interval or cron expression is not acceptable."""


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return when if when.tzinfo is not None else when.astimezone()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class IntervalClock:
    """Every ``interval`` from ``start_date`` (default: now) until ``end_date``."""

    def __init__(self, interval: dt.timedelta, start_date: dt.datetime | None = None,
                 end_date: dt.datetime | None = None) -> None:
        if not isinstance(interval, dt.timedelta) or interval.total_seconds() <= 0:
            raise ScheduleError(f"an interval schedule needs a positive timedelta, got {interval!r}")
        self.interval = interval
        self.start_date = _aware(start_date) or _now()
        self.end_date = _aware(end_date)

    def events(self, after: dt.datetime) -> Iterable[dt.datetime]:
        if after < self.start_date:
            when = self.start_date
        else:
            steps = int((after - self.start_date) / self.interval) + 1
            when = self.start_date + steps * self.interval
        while self.end_date is None or when <= self.end_date:
            yield when
            when += self.interval


def _field(text: str, low: int, high: int, name: str) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, stop = int(a), int(b)
        else:
            start = stop = int(base)
            if step_text:
                stop = high
        if not (low <= start <= high and low <= stop <= high) or step < 1:
            raise ValueError(f"{name} {part!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return values


class CronClock:
    """At each time matching a five-field cron expression (minute hour day month weekday)."""

    def __init__(self, cron: str, start_date: dt.datetime | None = None, end_date: dt.datetime | None = None) -> None:
        fields = str(cron).split()
        if len(fields) != 5:
            raise ScheduleError(
                f"cron {cron!r} must have five fields (minute hour day month weekday), e.g. '0 6 * * *'")
        try:
            self._minutes = _field(fields[0], 0, 59, "minute")
            self._hours = _field(fields[1], 0, 23, "hour")
            self._days = _field(fields[2], 1, 31, "day")
            self._months = _field(fields[3], 1, 12, "month")
            self._weekdays = {d % 7 for d in _field(fields[4], 0, 7, "weekday")}
        except ValueError as exc:
            raise ScheduleError(f"cron {cron!r}: {exc}") from None
        self._any_day, self._any_weekday = fields[2] == "*", fields[4] == "*"
        self.cron = cron
        self.start_date = _aware(start_date)
        self.end_date = _aware(end_date)

    def _day_matches(self, when: dt.datetime) -> bool:
        day_ok = when.day in self._days
        weekday_ok = (when.isoweekday() % 7) in self._weekdays
        if self._any_day or self._any_weekday:  # cron: when one is restricted, both must match
            return day_ok and weekday_ok
        return day_ok or weekday_ok

    def events(self, after: dt.datetime) -> Iterable[dt.datetime]:
        start = max(after, self.start_date) if self.start_date else after
        # in the start's time zone (UTC by default)
        when = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = when + dt.timedelta(days=366 * 5)
        while when < limit and (self.end_date is None or when <= self.end_date):
            if when.month in self._months and self._day_matches(when) and when.hour in self._hours \
                    and when.minute in self._minutes:
                yield when
            when += dt.timedelta(minutes=1)


class Schedule:
    """The union of its clocks' times (0.15's ``Schedule(clocks=[...])``)."""

    def __init__(self, clocks: list[IntervalClock | CronClock]) -> None:
        self.clocks = list(clocks)

    def next(self, n: int, after: dt.datetime | None = None) -> list[dt.datetime]:
        """The next ``n`` times after ``after`` (default: now)."""
        after = _aware(after) or _now()
        found: list[dt.datetime] = []
        for clock in self.clocks:
            for i, when in enumerate(clock.events(after)):
                if i >= n:
                    break
                found.append(when)
        return sorted(set(found))[:n]


class IntervalSchedule(Schedule):
    """0.15's ``IntervalSchedule(interval=timedelta(...), start_date=..., end_date=...)``."""

    def __init__(self, start_date: dt.datetime | None = None, interval: dt.timedelta | None = None,
                 end_date: dt.datetime | None = None) -> None:
        super().__init__([IntervalClock(interval, start_date, end_date)])  # type: ignore[arg-type]


class CronSchedule(Schedule):
    """0.15's ``CronSchedule("0 6 * * *", start_date=..., end_date=...)``."""

    def __init__(self, cron: str, start_date: dt.datetime | None = None, end_date: dt.datetime | None = None) -> None:
        super().__init__([CronClock(cron, start_date, end_date)])
