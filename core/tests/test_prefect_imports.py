"""Replace ``prefect`` by ``headwater`` in Prefect 3's documented import lines, and they import."""

from __future__ import annotations

import pytest
from conftest import run_python

# Import lines as Prefect 3's documentation and examples write them.
PREFECT_IMPORTS = [
    "from prefect import flow, task",
    "from prefect import flow, task, get_run_logger",
    "from prefect import tags",
    "from prefect import unmapped, allow_failure",
    "from prefect import Flow, Task, State",
    "from prefect import runtime",
    "from prefect.flows import flow, Flow",
    "from prefect.tasks import task, Task, task_input_hash, exponential_backoff",
    "from prefect.futures import wait, as_completed, PrefectFuture, PrefectFutureList",
    "from prefect.futures import resolve_futures_to_states, resolve_futures_to_results",
    "from prefect.states import Completed, Failed, Crashed, Cancelled, Pending, Running, Paused, Scheduled",
    "from prefect.states import State, StateType, AwaitingRetry, get_state_exception, raise_state_exception",
    "from prefect.task_runners import ThreadPoolTaskRunner, ProcessPoolTaskRunner, PrefectTaskRunner",
    "from prefect.cache_policies import INPUTS, TASK_SOURCE, FLOW_PARAMETERS, NO_CACHE, DEFAULT",
    "from prefect.filesystems import LocalFileSystem",
    "from prefect.logging import get_run_logger, get_logger",
    "from prefect.blocks.core import Block",
    "from prefect.blocks.system import Secret",
    "from prefect.exceptions import PrefectException, FailedRun, CrashedRun, CancelledRun, UnfinishedRun",
    "from prefect.exceptions import ParameterTypeError, ParameterBindError, MappingLengthMismatch",
    "from prefect.exceptions import MappingMissingIterable, MissingContextError, UpstreamTaskError",
    "from prefect.exceptions import ObjectNotFound, ObjectAlreadyExists, MissingResult",
    "from prefect.runtime import flow_run, task_run, deployment",
    "from prefect.context import get_run_context, FlowRunContext, TaskRunContext, tags",
    "from prefect.artifacts import create_markdown_artifact, create_table_artifact, create_link_artifact",
    "from prefect.artifacts import create_progress_artifact, update_progress_artifact, Artifact",
    "from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact, create_image_artifact",
    "from prefect.variables import Variable",
    "from prefect.concurrency.sync import concurrency, rate_limit",
    "from prefect.concurrency.asyncio import concurrency, rate_limit",
    "from prefect import pause_flow_run, resume_flow_run",
    "from prefect.flow_runs import pause_flow_run, resume_flow_run",
    "from prefect.exceptions import FlowPauseTimeout, NotPausedError",
]

# Prefect 0.15's import lines (the tutorials' and course material's).
PREFECT_015_IMPORTS = [
    "from prefect import Flow, Parameter, task, case, unmapped, context",
    "from prefect.tasks.control_flow import case, merge",
    "from prefect.triggers import all_successful, all_finished, any_failed, always_run, any_successful",
    "from prefect.engine.signals import SKIP, FAIL, SUCCESS",
    "from prefect.engine.state import Success, Failed, Skipped, TriggerFailed, Mapped",
    "from prefect.schedules import IntervalSchedule, CronSchedule, Schedule",
    "from prefect.executors import LocalExecutor, LocalDaskExecutor",
]


@pytest.mark.parametrize("line", PREFECT_IMPORTS + PREFECT_015_IMPORTS)
def test_prefect_import_line_imports_from_headwater(line):
    namespace: dict = {}
    exec(line.replace("prefect", "headwater"), namespace)
    names = [n.strip() for n in line.split(" import ", 1)[1].split(",")]
    assert all(namespace.get(n) is not None for n in names), names


def test_timeout_and_bind_errors_keep_prefects_bases():
    from headwater.errors import BlockExistsError, BlockNotFoundError, HeadwaterError
    from headwater.exceptions import (
        MissingContextError,
        ObjectAlreadyExists,
        ObjectNotFound,
        ParameterBindError,
        PrefectException,
    )
    from headwater.runtime._errors import FlowRunTimeoutError, TaskRunTimeoutError, TaskTimeoutError

    assert issubclass(TaskRunTimeoutError, TimeoutError) and issubclass(FlowRunTimeoutError, TimeoutError)
    assert issubclass(TaskRunTimeoutError, TaskTimeoutError)  # Headwater's name stays a base
    assert issubclass(ParameterBindError, TypeError)
    assert issubclass(MissingContextError, RuntimeError)
    assert issubclass(BlockNotFoundError, ObjectNotFound) and issubclass(BlockNotFoundError, ValueError)
    assert issubclass(BlockExistsError, ObjectAlreadyExists) and issubclass(BlockExistsError, ValueError)
    assert PrefectException is HeadwaterError


@pytest.mark.parametrize(("line", "hint"), [
    ("from headwater import get_client", "no API server"),
    ("from headwater import serve", "headwater run"),
    ("from headwater.filesystems import RemoteFileSystem", "S3Bucket"),
    ("import headwater.transactions", "not implemented"),
    ("from headwater.client.orchestration import get_client", "no API server"),
    ("import headwater.server.api", "no server to run"),
    ("from headwater.states import Suspended", "Headwater's states are"),
    ("from headwater.task_runners import DaskTaskRunner", "headwater_dask"),
])
def test_a_prefect_name_headwater_lacks_is_one_line_saying_what_to_use(line, hint):
    out = run_python(f"{line}\n", check=False)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "has no Headwater equivalent" in last and hint in last, last


def test_the_twins_add_nothing_to_import_headwater():
    out = run_python(
        "import sys, headwater\n"
        "twins = ('flows', 'tasks', 'futures', 'states', 'task_runners', 'cache_policies', 'filesystems',\n"
        "         'logging', 'exceptions', 'context', 'artifacts', 'variables', 'concurrency', 'flow_runs', 'v1',\n"
        "         'triggers', 'schedules', 'engine', 'executors')\n"
        "print([t for t in twins if 'headwater.' + t in sys.modules], 'headwater.runtime' in sys.modules)\n"
    )
    assert out.stdout.strip() == "[] False"
