"""Issue 20, items 1, 2 and 4: a secret in a run name, a secret in another form (URL-encoded,
inside a Basic auth header), a secret logged by a third-party logger: none reaches the console,
the history or the CLI in clear."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse

from headwater import Secret, flow, get_run_logger, task
from rt_support import cli, history, run_py


def _files_without(home, *needles: bytes) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"{needle!r} found in {path}"


def test_a_secret_in_templated_task_and_flow_run_names_is_not_recorded(headwater_home, capfd):
    token = "tok-run-name-80486"
    Secret(value=token).save("api")

    @task(task_run_name="fetch-{key}")
    def fetch(key: str) -> int:
        return len(key)

    @flow(flow_run_name="sync-{key}")
    def sync(key: str) -> int:
        return fetch(key) + fetch.submit(key).result()

    assert sync(Secret.load("api").get()) == 2 * len(token)
    run = history().list_flow_runs(limit=1)[0]
    assert run["name"] == "sync-**********"
    assert [t["name"] for t in history().list_task_runs(run["id"])] == ["fetch-**********"] * 2
    shown = ""
    for args in (("runs", "show", run["id"]), ("runs", "show", run["id"], "-o", "json"), ("runs", "ls", "-o", "json"),
                 ("runs", "logs", run["id"])):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        shown += result.stdout + result.stderr
    assert token not in shown and "fetch-**********" in shown
    out, err = capfd.readouterr()
    assert token not in out + err
    _files_without(headwater_home, token.encode())


PASSWORD = "p@ssw0rd!x y"


def test_url_encoded_and_basic_auth_forms_of_a_secret_are_masked_everywhere(headwater_home, capfd):
    Secret(value=PASSWORD).save("db-password")
    encoded = urllib.parse.quote(PASSWORD, safe="")  # p%40ssw0rd%21x%20y
    plus = urllib.parse.quote_plus(PASSWORD)  # p%40ssw0rd%21x+y
    partly = PASSWORD.replace("@", "%40")  # what a hand-written URL holds
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    basic_other = base64.b64encode(f"bob:{PASSWORD}".encode()).decode()  # another alignment of the secret

    @task
    def connect() -> None:
        password = Secret.load("db-password").get()
        url = f"postgresql://alice:{urllib.parse.quote(password, safe='')}@db.local/app"
        get_run_logger().info("connecting to %s", url)
        get_run_logger().info("form %s, header Authorization: Basic %s", urllib.parse.quote_plus(password), basic)
        raise ConnectionError(f"could not connect to postgresql://alice:{partly}@db.local/app (Basic {basic_other})")

    @flow
    def load() -> None:
        connect()

    state = load(return_state=True)
    assert state.is_failed()
    run = history().list_flow_runs(limit=1)[0]
    out, err = capfd.readouterr()
    shown = out + err
    for args in (("runs", "logs", run["id"]), ("runs", "show", run["id"]), ("runs", "show", run["id"], "-o", "json"),
                 ("runs", "ls", "-o", "json")):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        shown += result.stdout + result.stderr
    assert "postgresql://alice:**********@db.local/app" in shown
    for form in (PASSWORD, encoded, plus, partly, basic, basic_other):
        assert form not in shown, form
    _files_without(headwater_home, *(f.encode() for f in (PASSWORD, encoded, plus, partly, basic, basic_other)))


def test_escaped_and_encoded_forms_are_masked_by_redact():
    from headwater.redaction import redact, remember

    secret = 'qu"ote\\back slash/é'
    remember(secret)
    forms = [secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             urllib.parse.quote(secret), urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
             urllib.parse.quote(secret, safe="").lower(), base64.b64encode(secret.encode()).decode(),
             base64.urlsafe_b64encode(b"u:" + secret.encode()).decode()]
    for form in forms:
        cleaned = redact(f"before {form} after")
        assert form not in cleaned and cleaned.startswith("before ") and cleaned.endswith(" after"), (form, cleaned)
    assert redact("nothing secret here: 100% sure, 1+1=2") == "nothing secret here: 100% sure, 1+1=2"


def test_a_secret_logged_by_a_third_party_logger_without_handlers_is_masked_on_stderr(headwater_home):
    token = "third-party-token-31337"
    created = cli("block", "create", "secret", "tp", "--secret-env", "value=TOKEN", extra_env={"TOKEN": token})
    assert created.returncode == 0, created.stderr
    proc = run_py(
        "import logging\n"
        "from headwater import Secret, flow\n"
        "@flow\n"
        "def f():\n"
        "    logging.getLogger('some.library').warning('retrying with token %s', Secret.load('tp').get())\n"
        "f()\n"
    )
    assert "retrying with token **********" in proc.stderr  # Python's last-resort handler printed it
    assert token not in proc.stdout + proc.stderr


def test_a_secret_logged_through_the_root_loggers_handler_is_masked(headwater_home):
    token = "root-handler-token-27182"
    created = cli("block", "create", "secret", "rt", "--secret-env", "value=TOKEN", extra_env={"TOKEN": token})
    assert created.returncode == 0, created.stderr
    proc = run_py(
        "import logging\n"
        "logging.basicConfig(format='%(name)s: %(message)s')\n"
        "from headwater import Secret, flow\n"
        "@flow\n"
        "def f():\n"
        "    logging.getLogger('some.library').error('bad token %s', Secret.load('rt').get())\n"
        "f()\n"
    )
    assert "some.library: bad token **********" in proc.stderr
    assert token not in proc.stdout + proc.stderr


def test_redaction_filters_are_installed_once():
    from headwater.redaction import RedactingFilter, install_log_redaction

    install_log_redaction()
    install_log_redaction()
    assert sum(isinstance(f, RedactingFilter) for f in logging.lastResort.filters) == 1
