"""Schedule types, importable as in Prefect 3 (``from headwater.schedules import Cron``) and as in
Prefect 0.15 (``IntervalSchedule``, ``CronSchedule``, their clocks).

``Schedule`` is Prefect 3's; 0.15's ``Schedule(clocks=...)`` is ``headwater.v1.schedules.Schedule``.
"""

from headwater.orchestration.schedules import Cron, Interval, RRule, Schedule
from headwater.v1.schedules import CronClock, CronSchedule, IntervalClock, IntervalSchedule

__all__ = ["Cron", "CronClock", "CronSchedule", "Interval", "IntervalClock", "IntervalSchedule", "RRule", "Schedule"]
