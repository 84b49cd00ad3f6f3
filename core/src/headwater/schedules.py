"""Schedule types, importable as in Prefect 3 (``from headwater.schedules import Cron``)."""

from headwater.orchestration.schedules import Cron, Interval, RRule, Schedule

__all__ = ["Cron", "Interval", "RRule", "Schedule"]
