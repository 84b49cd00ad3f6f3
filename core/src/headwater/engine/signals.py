"""Prefect 0.15's ``prefect.engine.signals``: ``SKIP``, ``FAIL``, ``SUCCESS``, ``TRIGGERFAIL``."""

from headwater.v1.signals import FAIL, SKIP, SUCCESS, TRIGGERFAIL, PrefectStateSignal

__all__ = ["FAIL", "SKIP", "SUCCESS", "TRIGGERFAIL", "PrefectStateSignal"]
