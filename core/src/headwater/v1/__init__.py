"""Prefect 0.15's API on Headwater's engine: ``Flow``, ``Parameter``, ``case``/``merge``,
triggers, signals, schedules and the 0.15 states ``flow.run()`` returns.

The same ``@task`` serves both styles: called inside ``with Flow(...)`` it adds to the graph,
anywhere else it runs. Import the names from ``headwater`` (``from headwater import Flow,
Parameter, task, case, unmapped``) or their 0.15 modules' twins (``headwater.triggers``,
``headwater.engine.signals``, ``headwater.engine.state``, ``headwater.schedules``,
``headwater.tasks.control_flow``). See docs/coming-from-prefect-1.md.
"""

from headwater.v1.flow import Flow
from headwater.v1.graph import GraphError, Node, Parameter, case, merge

__all__ = ["Flow", "GraphError", "Node", "Parameter", "case", "merge"]
