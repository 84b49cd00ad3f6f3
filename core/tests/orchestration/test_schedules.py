"""Schedules: exact instants across DST transitions, and bad input refused with one line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from headwater.orchestration.errors import InvalidScheduleError
from headwater.orchestration.schedules import Cron, Interval, RRule, schedule_from_dict

UTC = timezone.utc


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def _between(schedule, start: datetime, end: datetime) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in schedule.dates(start.timestamp(), end.timestamp())]


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Paris 2027: clocks jump 02:00 -> 03:00 on 28 March and go back 03:00 -> 02:00 on 31 October
        (
            "Europe/Paris",
            datetime(2027, 3, 27, tzinfo=UTC),
            [
                datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
                datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
                datetime(2027, 3, 29, 0, 30, tzinfo=UTC),
            ],
        ),
        (
            "Europe/Paris",
            datetime(2027, 10, 30, tzinfo=UTC),
            [
                datetime(2027, 10, 30, 0, 30, tzinfo=UTC),
                datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
                datetime(2027, 11, 1, 1, 30, tzinfo=UTC),
            ],
        ),
        # New York 2027: 02:00 -> 03:00 on 14 March; 02:00 -> 01:00 on 7 November
        (
            "America/New_York",
            datetime(2027, 3, 13, tzinfo=UTC),
            [
                datetime(2027, 3, 13, 7, 30, tzinfo=UTC),
                datetime(2027, 3, 14, 7, 30, tzinfo=UTC),
                datetime(2027, 3, 15, 6, 30, tzinfo=UTC),
            ],
        ),
        (
            "America/New_York",
            datetime(2027, 11, 6, tzinfo=UTC),
            [
                datetime(2027, 11, 6, 6, 30, tzinfo=UTC),
                datetime(2027, 11, 7, 7, 30, tzinfo=UTC),
                datetime(2027, 11, 8, 7, 30, tzinfo=UTC),
            ],
        ),
    ],
)
def test_daily_0230_runs_once_on_each_transition_day(zone, start, expected):
    got = _between(Cron("30 2 * * *", timezone=zone), start, start + timedelta(days=3))
    assert got == expected


def test_repeated_wall_time_runs_once_at_its_first_occurrence():
    # 01:30 happens twice in New York on 7 Nov 2027 (EDT, then EST): one run, at the EDT one
    got = _between(
        Cron("30 1 * * *", timezone="America/New_York"),
        datetime(2027, 11, 7, tzinfo=UTC),
        datetime(2027, 11, 8, tzinfo=UTC),
    )
    assert got == [datetime(2027, 11, 7, 5, 30, tzinfo=UTC)]


def test_hourly_cron_on_transition_days_has_no_duplicates():
    tz = ZoneInfo("America/New_York")
    hourly = Cron("0 * * * *", timezone="America/New_York")
    spring = _between(
        hourly, datetime(2027, 3, 14, tzinfo=tz) - timedelta(seconds=1), datetime(2027, 3, 14, 23, 30, tzinfo=tz)
    )
    fall = _between(
        hourly, datetime(2027, 11, 7, tzinfo=tz) - timedelta(seconds=1), datetime(2027, 11, 7, 23, 30, tzinfo=tz)
    )
    assert len(spring) == 23 and len(set(spring)) == 23  # 02:00 does not exist that day
    assert len(fall) == 24 and len(set(fall)) == 24  # 01:00 happens twice: it runs once
    assert all(b - a == timedelta(hours=1) for a, b in zip(spring, spring[1:], strict=False))


def _next_transitions(zone: str, count: int) -> list[datetime]:
    tz = ZoneInfo(zone)
    found: list[datetime] = []
    day = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    offset = day.astimezone(tz).utcoffset()
    while len(found) < count:
        day += timedelta(days=1)
        now_offset = day.astimezone(tz).utcoffset()
        if now_offset != offset:
            found.append(day.astimezone(tz).replace(hour=0, minute=0, tzinfo=None))
            offset = now_offset
    return found


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_next_two_transitions_from_today(zone):
    tz = ZoneInfo(zone)
    daily = Cron("30 2 * * *", timezone=zone)
    hourly = Cron("0 * * * *", timezone=zone)
    for local_day in _next_transitions(zone, 2):
        start = local_day.replace(tzinfo=tz) - timedelta(days=1)
        runs = [datetime.fromtimestamp(t, tz) for t in daily.dates(start.timestamp(), start.timestamp() + 3 * 86400)]
        assert [r.date() for r in runs] == [(local_day + timedelta(days=d)).date() for d in (-1, 0, 1)]  # once a day
        assert all(r.minute == 30 for r in runs)
        day_start = local_day.replace(tzinfo=tz)
        day_end = (local_day + timedelta(days=1)).replace(tzinfo=tz)
        hours = hourly.dates(day_start.timestamp() - 1, day_end.timestamp() - 1)
        real_hours = round((day_end.timestamp() - day_start.timestamp()) / 3600)
        assert real_hours in (23, 25)
        assert len(hours) == len(set(hours)) == (23 if real_hours == 23 else 24)


def test_daily_interval_keeps_wall_time_and_short_interval_keeps_duration():
    daily = Interval(timedelta(days=1), anchor_date=datetime(2027, 1, 1, 9, 0), timezone="Europe/Paris")
    got = _between(daily, datetime(2027, 3, 26, 12, tzinfo=UTC), datetime(2027, 3, 29, 12, tzinfo=UTC))
    assert got == [
        datetime(2027, 3, 27, 8, tzinfo=UTC),
        datetime(2027, 3, 28, 7, tzinfo=UTC),
        datetime(2027, 3, 29, 7, tzinfo=UTC),
    ]
    hourly = Interval(3600, timezone="Europe/Paris")
    got = _between(hourly, datetime(2027, 3, 27, 23, tzinfo=UTC), datetime(2027, 3, 28, 4, tzinfo=UTC))
    assert all(b - a == timedelta(hours=1) for a, b in zip(got, got[1:], strict=False)) and len(got) == 5


def test_rrule_in_a_timezone():
    r = RRule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", timezone="Europe/Paris")
    got = _between(r, datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC))
    assert got == [
        datetime(2027, 3, 22, 8, tzinfo=UTC),
        datetime(2027, 3, 29, 7, tzinfo=UTC),
        datetime(2027, 4, 5, 7, tzinfo=UTC),
    ]


def test_round_trip_through_dict():
    for s in (
        Cron("*/5 * * * *", timezone="Asia/Tokyo", day_or=False, parameters={"x": 1}),
        Interval(90, anchor_date=datetime(2026, 1, 1)),
        RRule("FREQ=DAILY;BYHOUR=6", active=False),
    ):
        assert schedule_from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Cron("61 * * * *"), "invalid cron expression '61 * * * *'"),
        (lambda: Cron("every hour"), "invalid cron expression"),
        (lambda: Cron("0 * * * *", timezone="Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
        (lambda: RRule("FREQ=SOMETIMES"), "invalid rrule 'FREQ=SOMETIMES'"),
        (lambda: Interval(0), "interval must be a positive number"),
        (lambda: Interval("soon"), "is not a number of seconds"),
    ],
)
def test_bad_schedules_are_one_clear_line(make, words):
    with pytest.raises(InvalidScheduleError) as info:
        make()
    assert words in str(info.value) and "\n" not in str(info.value)
