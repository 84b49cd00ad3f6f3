"""Prefect's ``prefect.flows``: ``flow`` and ``Flow`` (see :mod:`headwater.runtime.flows`)."""

from headwater.runtime.flows import Flow, flow

__all__ = ["Flow", "flow"]
