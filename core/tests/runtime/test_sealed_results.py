"""Issue 20, item 3: persisted results never hold a secret in clear under HEADWATER_HOME."""

from __future__ import annotations

import json
import textwrap

from headwater import Secret
from headwater.runtime import INPUTS, flow, task
from headwater.settings import reset_settings
from pydantic import SecretStr
from rt_support import cli, run_py

TOKEN = "cached-block-token-65537"

CACHED = textwrap.dedent('''
    import json, os
    from headwater import Secret
    from headwater.runtime import INPUTS, flow, task

    @task(cache_policy=INPUTS)
    def credentials(name):
        with open(os.environ["CALLS_FILE"], "a") as fh:
            fh.write("called\\n")
        return Secret.load(name)

    @flow
    def pipeline():
        state = credentials("api", return_state=True)
        return state.name, state.result().get()

    print(json.dumps(pipeline()))
''')


def _result_files(home):
    return [p for p in (home / "results").rglob("*") if p.is_file()]


def _no_file_holds(home, *needles: str) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in data, f"{needle!r} in clear in {path}"


def test_a_cached_task_returning_a_block_persists_no_secret_in_clear_and_still_reuses_it(headwater_home, tmp_path,
                                                                                         monkeypatch):
    assert cli("block", "create", "secret", "api", "--secret-env", "value=T", extra_env={"T": TOKEN}).returncode == 0
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("CALLS_FILE", str(calls))
    first = json.loads(run_py(CACHED).stdout)
    second = json.loads(run_py(CACHED).stdout)
    assert first == ["Completed", TOKEN] and second == ["Cached", TOKEN]
    assert calls.read_text().count("called") == 1
    assert _result_files(headwater_home)
    _no_file_holds(headwater_home, TOKEN)


def test_secret_typed_values_and_known_secret_strings_in_results_are_sealed(headwater_home, monkeypatch):
    fresh = "never-remembered-secret-4242"  # a SecretStr made by the task: typed, so known to be secret
    Secret(value="loaded-secret-value-1729").save("db")
    calls = []

    @task(cache_policy=INPUTS, persist_result=True)
    def typed(x: int) -> dict:
        calls.append(x)
        return {"n": x, "password": SecretStr(fresh)}

    @task(cache_policy=INPUTS, persist_result=True)
    def plain(x: int) -> str:
        return f"dsn with {Secret.load('db').get()}"  # a plain str, but the value of a secret this process loaded

    @task(cache_policy=INPUTS, persist_result=True)
    def harmless(x: int) -> str:
        return f"ordinary result {x}"

    @flow
    def pipeline() -> tuple:
        return typed(1)["password"].get_secret_value(), plain(1), harmless(1)

    assert pipeline() == (fresh, "dsn with loaded-secret-value-1729", "ordinary result 1")
    assert pipeline() == (fresh, "dsn with loaded-secret-value-1729", "ordinary result 1")  # from the sealed cache
    _no_file_holds(headwater_home, fresh, "loaded-secret-value-1729")
    contents = b"".join(p.read_bytes() for p in _result_files(headwater_home))
    assert b"ordinary result 1" in contents  # what holds no secret stays a plain result
    assert calls == [1]
    # under another key a sealed result cannot be opened: a cache miss, and the task runs again
    monkeypatch.setenv("HEADWATER_SECRET_KEY", cli("config", "new-key").stdout.strip())
    reset_settings()

    @flow
    def again() -> str:
        return typed(1)["password"].get_secret_value()

    assert again() == fresh and calls == [1, 1]
