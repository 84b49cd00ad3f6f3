"""The `headwater` command, run as a user runs it."""

from __future__ import annotations

import json

from conftest import run_cli


def test_create_with_nested_reference_ls_inspect_delete(tmp_path):
    assert run_cli("block", "create", "-m", "blockdefs", "warehouse-credentials", "ann", "--set", "username=ann",
                   "--secret-env", "password=PW", env={"PW": "cli-pass-4242"}).returncode == 0
    proc = run_cli("block", "create", "-m", "blockdefs", "warehouse", "prod", "--set", "host=db.local", "--set",
                   "port=6543", "--set", "credentials=warehouse-credentials/ann", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ref"] == "warehouse/prod"
    listed = json.loads(run_cli("block", "ls", "-o", "json").stdout)
    assert {r["ref"] for r in listed} == {"warehouse/prod", "warehouse-credentials/ann"}
    shown = json.loads(run_cli("block", "inspect", "warehouse/prod", "-o", "json").stdout)
    assert shown["fields"]["port"] == 6543
    assert shown["fields"]["credentials"] == "-> warehouse-credentials/ann"
    from blockdefs import Warehouse

    assert Warehouse.load("prod").credentials.password.get_secret_value() == "cli-pass-4242"
    assert run_cli("block", "delete", "warehouse/prod", "--yes").returncode == 0
    assert [r["ref"] for r in json.loads(run_cli("block", "ls", "-o", "json").stdout)] == ["warehouse-credentials/ann"]


def test_secret_from_stdin_and_never_required_on_command_line():
    proc = run_cli("block", "create", "secret", "tok", "--secret-stdin", "value", input="from-stdin-secret\n")
    assert proc.returncode == 0, proc.stderr
    from headwater import Secret

    assert Secret.load("tok").get() == "from-stdin-secret"
    missing = run_cli("block", "create", "secret", "tok2", input="")
    assert missing.returncode != 0
    assert "--secret-env value=" in missing.stderr


def test_a_field_cannot_be_both_a_saved_block_reference_and_set_field_by_field():
    assert run_cli("block", "create", "-m", "blockdefs", "warehouse-credentials", "ann", "--set", "username=ann",
                   "--secret-env", "password=PW", env={"PW": "cli-pass-5151"}).returncode == 0
    ref, field = "credentials=warehouse-credentials/ann", "credentials.username=bob"
    for order in ([ref, field], [field, ref]):
        args = [a for pair in (("--set", x) for x in ["host=h", *order]) for a in pair]
        proc = run_cli("block", "create", "-m", "blockdefs", "warehouse", "w", *args)
        assert proc.returncode == 1, (order, proc.stdout)
        assert proc.stderr.count("\n") == 1 and "TypeError" not in proc.stderr, proc.stderr
        assert "warehouse-credentials/ann" in proc.stderr and "cannot be both" in proc.stderr, proc.stderr
    assert [r["ref"] for r in json.loads(run_cli("block", "ls", "-o", "json").stdout)] == ["warehouse-credentials/ann"]


def test_nested_secret_fields_take_secret_env_and_stdin_and_warn_when_set():
    from blockdefs import Warehouse

    base = ["block", "create", "-m", "blockdefs", "warehouse"]
    proc = run_cli(*base, "w1", "--set", "host=h", "--set", "credentials.username=bob",
                   "--secret-env", "credentials.password=PW", env={"PW": "nested-env-6161"})
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    assert Warehouse.load("w1").credentials.password.get_secret_value() == "nested-env-6161"
    proc = run_cli(*base, "w2", "--set", "host=h", "--set", "credentials.username=bob",
                   "--secret-stdin", "credentials.password", input="nested-stdin-7171\n")
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    assert Warehouse.load("w2").credentials.password.get_secret_value() == "nested-stdin-7171"
    proc = run_cli(*base, "w3", "--set", "host=h", "--set", "credentials.username=bob",
                   "--set", "credentials.password=nested-cli-8181")
    assert proc.returncode == 0, proc.stderr
    assert "warning: credentials.password was given on the command line" in proc.stderr
    wrong = run_cli(*base, "w4", "--set", "host=h", "--secret-env", "credentials.username=PW", env={"PW": "x"})
    assert wrong.returncode != 0 and "credentials.password" in wrong.stderr


def test_a_block_others_refer_to_is_not_deleted_without_force():
    assert run_cli("block", "create", "-m", "blockdefs", "warehouse-credentials", "ann_1", "--set", "username=ann",
                   "--secret-env", "password=PW", env={"PW": "cli-pass-9292"}).returncode == 0
    assert run_cli("block", "create", "-m", "blockdefs", "warehouse-credentials", "ann21", "--set", "username=x",
                   "--secret-env", "password=PW", env={"PW": "cli-pass-9393"}).returncode == 0
    for name in ("a", "b"):
        assert run_cli("block", "create", "-m", "blockdefs", "warehouse", name, "--set", "host=h",
                       "--set", "credentials=warehouse-credentials/ann_1").returncode == 0
    refused = run_cli("block", "delete", "warehouse-credentials/ann_1", "--yes")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "referred to by warehouse/a, warehouse/b" in refused.stderr and "--force" in refused.stderr
    assert run_cli("block", "delete", "warehouse-credentials/ann21", "--yes").returncode == 0  # not referred to
    assert run_cli("block", "delete", "warehouse-credentials/ann_1", "--yes", "--force").returncode == 0
    broken = run_cli("block", "check", "-m", "blockdefs", "warehouse/a")
    assert "block 'warehouse/a' refers to 'warehouse-credentials/ann_1', which does not exist" in broken.stderr


def test_local_file_system_create_and_check(tmp_path):
    assert run_cli("block", "create", "local-file-system", "raw", "--set", f"basepath={tmp_path}").returncode == 0
    ok = run_cli("block", "check", "local-file-system/raw")
    assert ok.returncode == 0 and "OK" in ok.stdout
    run_cli("block", "create", "local-file-system", "gone", "--set", f"basepath={tmp_path / 'nope'}")
    bad = run_cli("block", "check", "local-file-system/gone")
    assert bad.returncode == 1 and "does not exist" in bad.stderr


def test_bad_input_is_one_line_and_nothing_written():
    cases = [
        ("block", "create", "nope", "x"),
        ("block", "create", "secret", "bad name"),
        ("block", "create", "local-file-system", "x", "--set", "nofield=1"),
        ("block", "create", "local-file-system", "x", "--set", "basepath"),
        ("block", "create", "-m", "blockdefs", "warehouse", "x", "--set", "host=h", "--set", "port=notanumber",
         "--set", "credentials=warehouse-credentials/missing"),
        ("block", "inspect", "secret/missing"),
        ("block", "check", "nothing-here"),
    ]
    for args in cases:
        proc = run_cli(*args)
        assert proc.returncode != 0, args
        err = proc.stderr.strip()
        assert "Traceback" not in err, err
        assert err.splitlines()[-1].startswith("Error"), err
    assert json.loads(run_cli("block", "ls", "-o", "json").stdout) == []


def test_type_ls_plugin_ls_config_json():
    types = {r["slug"]: r for r in json.loads(run_cli("block", "type", "ls", "-o", "json").stdout)}
    assert types["local-file-system"]["provided_by"] == "headwater"
    assert types["secret"]["secret_fields"] == ["value"]
    plugins = json.loads(run_cli("plugin", "ls", "-o", "json").stdout)
    assert any(p["name"] == "core" and p["status"] == "loaded" for p in plugins)
    config = json.loads(run_cli("config", "-o", "json").stdout)
    assert config["secrets_backend"] == "encrypted"
    assert config["database"].startswith("sqlite:///")
    assert config["history_max_flow_runs"] == 10_000


def test_type_inspect_shows_fields_defaults_secrets_and_how_to_create():
    shown = json.loads(run_cli("block", "type", "inspect", "-m", "blockdefs", "warehouse", "-o", "json").stdout)
    assert shown["provided_by"] is None and shown["description"] == "A test warehouse."
    fields = {f["field"]: f for f in shown["fields"]}
    assert list(fields) == ["host", "port", "credentials", "extra", "cert"]
    assert fields["port"]["type"] == "int" and fields["port"]["default"] == "5432" and not fields["port"]["required"]
    assert fields["credentials"]["blocks"] == ["warehouse-credentials"] and fields["credentials"]["required"]
    assert fields["extra"]["type"] == "SecretDict | None" and fields["extra"]["secret"]
    assert shown["create"] == ("headwater block create warehouse NAME --set host=... "
                               "--set credentials=warehouse-credentials/NAME")
    text = run_cli("block", "type", "inspect", "-m", "blockdefs", "warehouse-credentials")
    assert text.returncode == 0, text.stderr
    assert "  password (SecretStr, required, secret)\n      Password.\n" in text.stdout
    assert "--set username=... --secret-env password=VARIABLE" in text.stdout
    missing = run_cli("block", "type", "inspect", "no-such-type")
    assert missing.returncode == 1 and missing.stderr.strip().startswith("Error: unknown block type 'no-such-type'")


def test_type_inspect_never_shows_a_secret_default():
    from headwater import Block, SecretStr
    from headwater.cli._fields import describe_fields
    from pydantic import Field

    class DefaultedSecretForInspect(Block):
        token: SecretStr = Field(default=SecretStr("baked-in-default-4242"), description="A token.")
        label: str = "x"

    rows = {r["field"]: r for r in describe_fields(DefaultedSecretForInspect)}
    assert rows["token"]["default"] == "**********" and rows["token"]["secret"]
    assert rows["label"]["default"] == '"x"'
    assert "baked-in-default-4242" not in json.dumps(rows)


def test_bad_settings_are_one_line_naming_the_variable():
    for key, value in [("HEADWATER_HISTORY_MAX_FLOW_RUNS", "lots"), ("HEADWATER_HISTORY_MAX_TASK_RUNS", "0"),
                       ("HEADWATER_LOGGING_LEVEL", "loud")]:
        proc = run_cli("config", env={key: value})
        assert proc.returncode == 1, (key, proc.stdout)
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and key in proc.stderr, proc.stderr
    shown = json.loads(run_cli("config", "-o", "json", env={"HEADWATER_HISTORY_MAX_FLOW_RUNS": "25"}).stdout)
    assert shown["history_max_flow_runs"] == 25


def test_unreachable_postgres_store_is_one_clear_line():
    proc = run_cli("block", "ls", env={"HEADWATER_DATABASE_URL": "postgresql+psycopg://u:topsecretpw@127.0.0.1:9/x"})
    assert proc.returncode == 1
    assert "cannot use the store at postgresql+psycopg://u:***@127.0.0.1:9/x" in proc.stderr
    assert "topsecretpw" not in proc.stderr


def test_store_url_password_in_a_query_option_or_a_non_url_is_never_shown():
    for url, shown in [
        ("postgresql+psycopg://127.0.0.1:9/db?password=CANARY-q1", "postgresql+psycopg://127.0.0.1:9/db?password=***"),
        ("postgresql+psycopg://u@127.0.0.1:9/db?sslmode=disable&PWD=CANARY-q1", "?sslmode=disable&PWD=***"),
        ("postgresql+psycopg:u:CANARY-q1@h/db", "not a URL"),
    ]:
        config = run_cli("config", env={"HEADWATER_DATABASE_URL": url})
        listing = run_cli("block", "ls", env={"HEADWATER_DATABASE_URL": url})
        assert shown in config.stdout, config.stdout
        assert listing.returncode == 1 and listing.stderr.count("\n") == 1, listing.stderr
        assert shown in listing.stderr or "is not a URL" in listing.stderr, listing.stderr
        for out in (config.stdout, config.stderr, listing.stdout, listing.stderr):
            assert "CANARY-q1" not in out


def test_unusable_home_or_sqlite_path_is_one_line_naming_the_folder_and_the_fix(tmp_path):
    plain_file = tmp_path / "a-file"
    plain_file.write_text("")
    cases = [
        ({"HEADWATER_HOME": "/proc/nope"}, "/proc/nope", "set HEADWATER_HOME"),
        ({"HEADWATER_HOME": str(plain_file)}, str(plain_file), "set HEADWATER_HOME"),
        ({"HEADWATER_DATABASE_URL": "sqlite:////proc/x/y.db"}, "/proc/x", "set HEADWATER_DATABASE_URL"),
        ({"HEADWATER_DATABASE_URL": "sqlite:////proc/y.db"}, "/proc/y.db", "set HEADWATER_DATABASE_URL"),
    ]
    for env, named, fix in cases:
        proc = run_cli("block", "ls", env=env)
        assert proc.returncode == 1, proc.stdout
        assert proc.stderr.count("\n") == 1 and named in proc.stderr and fix in proc.stderr, proc.stderr
        assert "HEADWATER_DEBUG" not in proc.stderr and "Error" not in proc.stderr[7:], proc.stderr


def test_block_check_imports_the_users_module_with_m(tmp_path):
    import os

    from conftest import run_python

    source = (
        "from headwater import Block\n"
        "from pydantic import Field\n"
        "class Pinger(Block):\n"
        "    target: str = Field(description='t')\n"
        "    def check(self):\n"
        "        print('checked', self.target)\n"
    )
    (tmp_path / "mypinger.py").write_text(source)
    run_python(source + "Pinger(target='here').save('p')\n")  # saved from __main__: not importable by name
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]])}
    without = run_cli("block", "check", "pinger/p", env=env)
    assert without.returncode == 1 and "import or define that class" in without.stderr
    proc = run_cli("block", "check", "pinger/p", "-m", "mypinger", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "checked here" in proc.stdout and "pinger/p: OK" in proc.stdout


def test_interactive_create_prompts_for_secret_with_hidden_input():
    import os
    import pty
    import select
    import time

    from conftest import HEADWATER_BIN

    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI on a real terminal
        os.execv(str(HEADWATER_BIN), [str(HEADWATER_BIN), "block", "create", "secret", "typed"])
    seen = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not sent and b"(hidden)" in seen:
            os.write(fd, b"typed-at-the-prompt-77\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert sent and b"saved secret/typed" in seen
    assert b"typed-at-the-prompt-77" not in seen  # not echoed to the terminal
    from headwater import Secret

    assert Secret.load("typed").get() == "typed-at-the-prompt-77"


def test_set_parses_json_for_list_and_dict_fields_and_keeps_text_for_strings():
    from headwater.cli._fields import parse_assignments
    from pydantic import BaseModel

    class Shape(BaseModel):
        tags: list[str] = []
        env: dict[str, str] = {}
        label: str | None = None
        port: int = 0

    values = parse_assignments(Shape, ['tags=["a", "b"]', 'env={"A": "1"}', 'label=["not", "json"]', "port=5432"])
    assert values == {"tags": ["a", "b"], "env": {"A": "1"}, "label": '["not", "json"]', "port": 5432}
    assert Shape(**values).tags == ["a", "b"]
