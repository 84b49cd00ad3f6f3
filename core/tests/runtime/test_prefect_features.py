"""Prefect 3 features: artifacts, variables, global concurrency / rate limits, pause and resume."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from headwater import flow, task
from headwater.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from headwater.concurrency import AcquireConcurrencySlotTimeoutError, ConcurrencySlotAcquisitionError, create_limit
from headwater.concurrency.asyncio import concurrency as aconcurrency
from headwater.concurrency.sync import concurrency, rate_limit
from headwater.flow_runs import FlowPauseTimeout, pause_flow_run
from headwater.variables import Variable
from rt_support import HERE, cli, env, history


def test_artifacts_are_stored_with_the_run_and_shown_by_the_cli():
    @task
    def report(rows):
        create_table_artifact(rows, key="users-by-country", description="# Users")
        return len(rows)

    @flow
    def users_report():
        create_markdown_artifact("# Report\n3 users", key="users-report")
        create_link_artifact("https://example.org/report", "the report")
        progress = create_progress_artifact(10.0, key="load-progress")
        update_progress_artifact(progress, 100.0)
        return report([{"country": "NL", "users": 2}, {"country": "FR", "users": 1}])

    users_report()
    run_id = history().list_flow_runs()[0]["id"]
    shown = cli("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "users-report" in shown.stdout and "users-by-country" in shown.stdout
    listed = json.loads(cli("artifacts", "ls", "-o", "json").stdout)
    by_key = {a["key"]: a for a in listed}
    assert set(by_key) == {"users-report", "users-by-country", "load-progress", None}
    assert by_key["load-progress"]["data"] == 100.0
    assert json.loads(by_key["users-by-country"]["data"])[0] == {"country": "NL", "users": 2}
    assert by_key["users-by-country"]["flow_run_id"] == run_id and by_key["users-by-country"]["task_run_id"]
    bad = cli("artifacts", "ls", "--flow-run", "ffffffff")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "no flow run" in bad.stderr


def test_artifact_key_must_be_lowercase_dashes():
    with pytest.raises(ValueError, match="lowercase letters, digits and dashes"):
        create_markdown_artifact("x", key="Daily Report")


def test_a_secret_is_never_stored_in_a_variable(headwater_home):
    from headwater import Secret, SecretStr

    Secret(value="tok-8f3a91c2").save("api-token")
    token = Secret.load("api-token").get()
    with pytest.raises(ValueError, match="Secret block"):
        Variable.set("token", token)
    with pytest.raises(ValueError, match="Secret block"):
        Variable.set("token", SecretStr("x-1"))
    assert not [p for p in headwater_home.rglob("*") if p.is_file() and b"tok-8f3a91c2" in p.read_bytes()]


def test_variables_set_get_unset_and_the_cli():
    Variable.set("batch-size", 500)
    assert Variable.get("batch-size") == 500
    with pytest.raises(ValueError, match="overwrite=True"):
        Variable.set("batch-size", 600)
    Variable.set("batch-size", {"rows": 600}, overwrite=True)
    assert Variable.get("batch-size") == {"rows": 600}
    assert Variable.get("missing", default="fallback") == "fallback"
    assert cli("variable", "set", "region", "eu-west-1").returncode == 0
    assert Variable.get("region") == "eu-west-1"
    assert cli("variable", "get", "batch-size").stdout.strip() == '{"rows": 600}'
    assert "region" in cli("variable", "ls").stdout
    assert Variable.unset("region") is True and Variable.get("region") is None
    missing = cli("variable", "get", "region")
    assert missing.returncode == 1 and missing.stderr.strip() == (
        "Error: no variable named 'region' (see `headwater variable ls`)")


_HOLDER = """
import sys, time
from headwater.concurrency.sync import concurrency
with concurrency("warehouse", occupy=1):
    start = time.time()
    time.sleep(0.4)
    print(start, time.time())
"""


def test_a_global_concurrency_limit_is_shared_by_processes():
    created = cli("global-concurrency-limit", "create", "warehouse", "--limit", "1")
    assert created.returncode == 0, created.stderr
    procs = [subprocess.Popen([sys.executable, "-c", _HOLDER], stdout=subprocess.PIPE, text=True, env=env())
             for _ in range(3)]
    spans = sorted(tuple(map(float, p.communicate(timeout=60)[0].split())) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end  # one holder at a time
    listed = json.loads(cli("global-concurrency-limit", "ls", "-o", "json").stdout)
    assert listed == [{"name": "warehouse", "limit": 1, "active": True, "slot_decay_per_second": 0.0,
                       "active_slots": 0.0}]


def test_concurrency_in_async_code_and_timeouts():
    create_limit("api", 2)
    running, peak = [0], [0]

    async def call():
        async with aconcurrency("api", occupy=1):
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            await asyncio.sleep(0.05)
            running[0] -= 1

    async def main():
        await asyncio.gather(*(call() for _ in range(6)))

    asyncio.run(main())
    assert peak[0] == 2
    with concurrency("api", occupy=2):
        with pytest.raises(TimeoutError):  # Prefect's base class
            with concurrency("api", timeout_seconds=0.1):
                pass
    with pytest.raises(AcquireConcurrencySlotTimeoutError):
        with concurrency("api", occupy=2), concurrency("api", timeout_seconds=0.05):
            pass


def test_rate_limit_and_bad_limits_are_one_clear_error():
    create_limit("emails", 3, slot_decay_per_second=50)
    for _ in range(6):  # past the burst of 3 it waits for slots to drain, then goes on
        rate_limit("emails")
    with pytest.raises(ConcurrencySlotAcquisitionError, match="slot_decay_per_second > 0"):
        create_limit("plain", 1)
        rate_limit("plain")
    with pytest.raises(ConcurrencySlotAcquisitionError, match="no concurrency limit named 'nope'"):
        with concurrency("nope", strict=True):
            pass
    with concurrency("nope"):  # not strict: an unknown limit limits nothing, as in Prefect
        pass
    bad = cli("global-concurrency-limit", "create", "x", "--limit", "0")
    assert bad.returncode == 2 and "--limit" in bad.stderr and bad.stderr.count("\n") == 1


_PAUSING = """
from headwater import flow, pause_flow_run
@flow
def publish():
    pause_flow_run(timeout=60)
    return "published"
print(publish())
"""


def test_pause_flow_run_waits_until_headwater_runs_resume():
    proc = subprocess.Popen([sys.executable, "-c", _PAUSING], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(), cwd=HERE)
    try:
        paused = None
        deadline = time.monotonic() + 60
        while paused is None and time.monotonic() < deadline:
            rows = json.loads(cli("runs", "ls", "-o", "json").stdout or "[]")
            paused = next((r for r in rows if r["state"] == "Paused"), None)
            time.sleep(0.1)
        assert paused is not None, "the flow run never showed as Paused"
        assert proc.poll() is None  # still waiting
        resumed = cli("runs", "resume", paused["id"][:10])
        assert resumed.returncode == 0, resumed.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert out.strip() == "published", err
    again = cli("runs", "resume", paused["id"])
    assert again.returncode == 1 and "is Completed, not Paused" in again.stderr


def test_a_pause_that_is_not_resumed_fails_the_run():
    @flow
    def waits():
        pause_flow_run(timeout=0.2)

    with pytest.raises(FlowPauseTimeout, match="not resumed within 0.2 seconds"):
        waits()
    assert history().list_flow_runs()[0]["state"] == "Failed"


@pytest.mark.postgres
def test_artifacts_variables_and_limits_on_postgres(postgres_database, monkeypatch):
    from headwater.settings import reset_settings

    monkeypatch.setenv("HEADWATER_DATABASE_URL", postgres_database)
    reset_settings()
    try:
        @flow
        def noted():
            create_markdown_artifact("# on postgres", key="pg-note")

        noted()
        assert "pg-note" in cli("artifacts", "ls").stdout
        Variable.set("pg-var", [1, 2])
        assert Variable.get("pg-var") == [1, 2]
        create_limit("pg-limit", 1, slot_decay_per_second=100)
        with concurrency("pg-limit"):
            pass
        rate_limit("pg-limit")
        assert cli("global-concurrency-limit", "ls").returncode == 0
    finally:
        reset_settings()


def test_an_artifact_never_holds_a_secret_in_plaintext(headwater_home):
    from headwater import Secret

    Secret(value="pw-55b2e7d1").save("db-password")

    @flow
    def leaky():
        create_markdown_artifact(f"connected with {Secret.load('db-password').get()}", key="connection")

    leaky()
    listed = cli("artifacts", "ls", "-o", "json").stdout
    assert "connected with **********" in listed and "pw-55b2e7d1" not in listed
    assert not [p for p in headwater_home.rglob("*") if p.is_file() and b"pw-55b2e7d1" in p.read_bytes()]
