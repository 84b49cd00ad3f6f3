"""Prefect 0.15's ``prefect.engine``: ``headwater.engine.signals`` and ``headwater.engine.state``."""
