"""The first-flow tutorial: download users from the (local) API, tabulate, save a CSV report."""

from __future__ import annotations

import csv
import json
import urllib.request

import pytest
from fake_user_api import make_users, serve
from first_flow import COLUMNS, create_user_report, fetch_users


@pytest.fixture
def api_url():
    with serve() as url:
        yield url


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_default_ten_users_then_twenty(api_url, tmp_path):
    first = create_user_report(api_url=api_url, output=str(tmp_path / "ten.csv"))
    second = create_user_report(n_users=20, api_url=api_url, output=str(tmp_path / "twenty.csv"))

    ten, twenty = _read(first), _read(second)
    assert len(ten) == 10 and len(twenty) == 20
    assert list(ten[0]) == COLUMNS
    expected = make_users(20)
    assert [row["email"] for row in twenty] == [u["email"] for u in expected]
    assert twenty[3]["name"] == f"{expected[3]['name']['first']} {expected[3]['name']['last']}"
    assert twenty[3]["city"] == expected[3]["location"]["city"]
    assert ten == twenty[:10], "the API is deterministic, so the first ten users are the same"


def test_the_api_answers_like_the_public_one(api_url):
    with urllib.request.urlopen(f"{api_url}?results=3") as response:
        body = json.load(response)
    assert body["info"]["results"] == 3
    assert {"name", "email", "location", "login", "dob"} <= set(body["results"][0])


def test_fetch_fails_clearly_after_its_retries_when_the_api_rejects_the_request(api_url):
    with pytest.raises(Exception, match="400"):
        fetch_users.with_options(retries=0)(api_url, 0)


def test_the_015_style_users_report_writes_the_same_csv(api_url, tmp_path):
    from first_flow_015 import flow, report
    from headwater.history.reader import list_flow_runs
    from headwater.history.writer import flush

    state = flow.run(n_users=20, api_url=api_url, output=str(tmp_path / "old_style.csv"))
    assert state.is_successful(), state.message
    modern = create_user_report(n_users=20, api_url=api_url, output=str(tmp_path / "new_style.csv"))
    assert _read(state.result[report].result) == _read(modern)
    flush()
    assert [(r["flow_name"], r["state"], r["task_runs"]) for r in list_flow_runs()] == [
        ("create-user-report", "Completed", 3), ("Users report", "Completed", 3)]
