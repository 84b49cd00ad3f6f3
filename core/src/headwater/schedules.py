"""Prefect 0.15's ``prefect.schedules`` (``IntervalSchedule``, ``CronSchedule``, ``Schedule``, clocks)."""

from headwater.v1.schedules import CronClock, CronSchedule, IntervalClock, IntervalSchedule, Schedule

__all__ = ["CronClock", "CronSchedule", "IntervalClock", "IntervalSchedule", "Schedule"]
