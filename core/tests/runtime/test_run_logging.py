"""Run logging: get_run_logger, log_prints, console format, persisted logs, secret redaction, plugin hooks."""

from __future__ import annotations

import re

import pytest
from headwater.blocks import Secret, SecretStr
from headwater.runtime import flow, get_run_logger, task
from rt_support import cli, history

SECRET = "hunter2-very-secret-token"


def test_logger_records_carry_run_names_ids_and_are_printed_and_persisted(capfd):
    captured = {}

    @task
    def download_data():
        logger = get_run_logger()
        captured["task"] = logger.extra
        logger.warning("fetched %d rows", 3)

    @flow
    def etl():
        captured["flow"] = get_run_logger().extra
        get_run_logger().info("starting")
        download_data()

    etl()
    err = capfd.readouterr().err
    assert re.search(r"^\d\d:\d\d:\d\d INFO \| Task 'download_data' - Finished in state Completed\(\)$", err, re.M)
    assert re.search(r"^\d\d:\d\d:\d\d WARNING \| Task 'download_data' - fetched 3 rows$", err, re.M)
    assert captured["task"]["task_run_name"] == "download_data" and captured["task"]["task_run_id"]
    assert captured["task"]["flow_run_id"] == captured["flow"]["flow_run_id"]
    run = history().list_flow_runs(limit=1)[0]
    assert run["id"] == captured["flow"]["flow_run_id"]
    lines = [(r["logger"], r["message"]) for r in history().list_logs(run["id"])]
    assert ("download_data", "fetched 3 rows") in lines
    assert (run["name"], "starting") in lines


def test_log_prints_sends_print_to_the_run_log(capfd):
    @task
    def chatty():
        print("hello from the task")

    @task(log_prints=False)
    def quiet():
        print("plain stdout")

    @flow(log_prints=True)
    def etl():
        print("hello from the flow")
        chatty()
        quiet()

    etl()
    out, err = capfd.readouterr()
    assert "hello from the task" in err and "hello from the flow" in err
    assert "plain stdout" in out and "plain stdout" not in err
    run = history().list_flow_runs(limit=1)[0]
    messages = [r["message"] for r in history().list_logs(run["id"])]
    assert "hello from the task" in messages and "hello from the flow" in messages


def test_secret_values_never_reach_logs_history_console_or_cli(headwater_home, capfd):
    Secret(value=SECRET).save("api-token")

    @task
    def use_token(token: str):
        get_run_logger().info("calling the API with %s", token)
        print(f"token={token}")
        raise PermissionError(f"rejected token {token}")

    @flow(log_prints=True)
    def etl(password: SecretStr, note: str = "x"):
        token = Secret.load("api-token").get()
        return use_token(token)

    state = etl(password=SECRET, note=f"the token is {SECRET}", return_state=True)
    assert state.is_failed()
    history()
    out, err = capfd.readouterr()
    assert SECRET not in out + err and "**********" in err
    run = history().list_flow_runs(limit=1)[0]
    assert run["parameters"]["password"] == "**********"
    for args in (("runs", "ls", "-o", "json"), ("runs", "show", run["id"], "-o", "json"), ("runs", "logs", run["id"])):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
    for path in headwater_home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"secret found in {path}"


def test_a_secret_only_a_process_pool_worker_loaded_is_redacted_in_the_flow_process(headwater_home, capfd):
    from rt_support import worker_secret_flow

    token = "worker-only-token-5150"
    created = cli("block", "create", "secret", "worker-token", "--secret-env", "value=TOKEN",
                  extra_env={"TOKEN": token})
    assert created.returncode == 0, created.stderr  # saved by another process: this one never saw it
    state = worker_secret_flow(return_state=True)
    assert state.is_failed()
    history()
    out, err = capfd.readouterr()
    assert token not in out + err and "rejected token **********" in err
    run = history().list_flow_runs(limit=1)[0]
    shown = cli("runs", "show", run["id"], "-o", "json").stdout + cli("runs", "logs", run["id"]).stdout
    assert "calling the API with **********" in shown and token not in shown
    for path in headwater_home.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"secret found in {path}"


def test_plugin_lifecycle_hooks_see_every_state_change():
    from headwater import hookimpl
    from headwater.plugins import get_plugin_manager
    from headwater.runtime import _record

    seen = []

    class Recorder:
        @hookimpl
        def on_flow_run_state_change(self, flow_run, state):
            seen.append(("flow", flow_run.flow_name, state.name))

        @hookimpl
        def on_task_run_state_change(self, task_run, state):
            seen.append(("task", task_run.task_name, state.name))

    @task
    def step():
        return 1

    @flow
    def etl():
        step()

    pm = get_plugin_manager()
    plugin = Recorder()
    _record.reset_lifecycle_hooks()
    _record._hooks()
    pm.register(plugin)
    _record.reset_lifecycle_hooks()
    try:
        etl()
    finally:
        pm.unregister(plugin)
        _record.reset_lifecycle_hooks()
    assert seen == [
        ("flow", "etl", "Pending"), ("flow", "etl", "Running"), ("task", "step", "Running"),
        ("task", "step", "Completed"), ("flow", "etl", "Completed"),
    ]
    seen.clear()
    etl()
    assert seen == []


@pytest.mark.parametrize("level", ["WARNING"])
def test_console_level_follows_headwater_logging_level(monkeypatch, capfd, level):
    from headwater.settings import reset_settings

    monkeypatch.setenv("HEADWATER_LOGGING_LEVEL", level)
    reset_settings()

    @flow
    def etl():
        get_run_logger().info("routine")
        get_run_logger().warning("important")

    etl()
    err = capfd.readouterr().err
    assert "important" in err and "routine" not in err
    run = history().list_flow_runs(limit=1)[0]
    assert "routine" in [r["message"] for r in history().list_logs(run["id"])]
