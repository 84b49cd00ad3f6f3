"""Test-only plugin implementing the run lifecycle hooks: appends each state change to $HEADWATER_HOME/lifecycle.log."""

import os
from pathlib import Path

from headwater import hookimpl


def _log(line):
    with open(Path(os.environ["HEADWATER_HOME"]) / "lifecycle.log", "a") as fh:
        fh.write(line + "\n")


@hookimpl
def on_flow_run_state_change(flow_run, state):
    _log(f"flow {flow_run.flow_name} {state.name}")


@hookimpl
def on_task_run_state_change(task_run, state):
    _log(f"task {task_run.task_name} {state.name}")
