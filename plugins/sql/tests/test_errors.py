"""Bad input and faults: one clear error naming the database, no secret in it, no leaked connection."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from headwater.errors import ConfigError, ConnectionFailedError, HeadwaterError
from headwater.testing import free_port
from headwater_sql import (
    ConnectionComponents,
    DatabaseCredentials,
    SqlAlchemyConnector,
    SqlConfigError,
    SqlConnectionError,
    SqlDriverNotInstalledError,
    SqlExecutionError,
)

PARAM_VALUE = "param-value-that-must-not-show"
PASSWORD = "Corr3ct-Horse-pw"
WRONG = "Wr0ng-Horse-pw"


def _all_text(exc: BaseException) -> str:
    """The error and everything chained to it, as a traceback would show it."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return "\n".join(parts)


def test_sql_error_names_database_and_statement_not_parameters(connector: SqlAlchemyConnector) -> None:
    with pytest.raises(SqlExecutionError) as info:
        connector.execute("SELECT * FROM no_such_table WHERE a = :a", {"a": PARAM_VALUE})
    message = str(info.value)
    assert connector.database_label in message
    assert "SELECT * FROM no_such_table WHERE a = :a" in message
    assert "no_such_table" in message.split("[statement:")[0]  # the driver's reason
    assert "\n" not in message
    assert PARAM_VALUE not in _all_text(info.value)
    assert isinstance(info.value, HeadwaterError)


def test_every_method_raises_sql_execution_error(connector: SqlAlchemyConnector) -> None:
    bad = "SELECT * FROM no_such_table"
    calls = [
        lambda: connector.fetch_one(bad),
        lambda: connector.fetch_many(bad, size=2),
        lambda: connector.fetch_all(bad),
        lambda: connector.execute(bad),
        lambda: connector.execute_many("INSERT INTO no_such_table VALUES (:a)", [{"a": 1}, {"a": 2}]),
        lambda: connector.insert_rows("no_such_table", [{"a": 1}]),
    ]
    if importlib.util.find_spec("pandas") is not None:
        calls.append(lambda: connector.fetch_dataframe(bad))
    for call in calls:
        with pytest.raises(SqlExecutionError):
            call()


def test_pool_is_clean_after_1000_failing_statements(connector: SqlAlchemyConnector) -> None:
    connector.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    connector.execute("INSERT INTO t VALUES (1)")
    failing = [
        lambda i: connector.execute("SELECT * FROM no_such_table WHERE a = :a", {"a": i}),
        lambda i: connector.fetch_one("SELECT * FROM no_such_table WHERE a = :a", {"a": i}),
        lambda i: connector.fetch_many("SELECT * FROM no_such_table WHERE a = :a", {"a": i}, size=5),
        lambda i: connector.fetch_all("SELECT * FROM no_such_table WHERE a = :a", {"a": i}),
        lambda i: connector.execute_many("INSERT INTO t (id) VALUES (:id)", [{"id": i + 10}, {"id": 1}]),
        lambda i: connector.insert_rows("t", [{"id": i + 10_000}, {"id": 1}]),
    ]
    for i in range(1000):
        with pytest.raises(SqlExecutionError):
            failing[i % len(failing)](i)
    pool = connector.get_engine().pool
    assert pool.checkedout() == 0
    assert connector.fetch_all("SELECT id FROM t") == [(1,)]  # nothing of the failed inserts was kept
    assert pool.checkedout() == 0


def test_open_cursor_holds_one_connection_and_reset_returns_it(connector: SqlAlchemyConnector) -> None:
    connector.execute("CREATE TABLE t (id INTEGER)")
    connector.execute_many("INSERT INTO t VALUES (:id)", [{"id": i} for i in range(3)])
    connector.fetch_one("SELECT id FROM t")
    pool = connector.get_engine().pool
    assert pool.checkedout() == 1
    connector.reset_connections()
    assert pool.checkedout() == 0


@pytest.fixture
def password_role(postgres_server: Any) -> dict[str, Any]:
    name = "hw_sql_tester"
    postgres_server.create_role(name, PASSWORD)
    return {"server": postgres_server, "user": name}


def test_wrong_password_is_one_clear_connection_error(password_role: dict[str, Any], caplog: Any) -> None:
    server = password_role["server"]
    right = SqlAlchemyConnector(connection_info=server.url_for("postgres", password_role["user"], PASSWORD))
    right.check()  # the password from the secret reaches the server
    right.close()
    wrong = SqlAlchemyConnector(connection_info=server.url_for("postgres", password_role["user"], WRONG))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SqlConnectionError) as info:
        wrong.fetch_all("SELECT 1")
    wrong.close()
    message = str(info.value)
    assert isinstance(info.value, ConnectionFailedError)
    assert f"{password_role['user']}@{server.host}:{server.port}/postgres" in message
    assert "password authentication failed" in message
    assert WRONG not in _all_text(info.value) and WRONG not in caplog.text and WRONG not in repr(wrong)
    with pytest.raises(SqlConnectionError):
        wrong.check()
    wrong.close()


def test_unknown_host_and_closed_port(tmp_path: Any) -> None:
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'headwater-sql[postgres]'")
    for url in (
        f"postgresql+psycopg://u:{PASSWORD}@no-such-host.invalid/db",
        f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:{free_port()}/db",
    ):
        db = SqlAlchemyConnector(connection_info=url, connect_args={"connect_timeout": 5})
        with pytest.raises(SqlConnectionError) as info:
            db.execute("SELECT 1")
        assert "cannot connect to postgresql+psycopg://u@" in str(info.value)
        assert PASSWORD not in _all_text(info.value)
        for begin in (True, False):
            with pytest.raises(SqlConnectionError):
                with db.get_connection(begin=begin):
                    pass
        db.close()


def test_missing_driver_says_what_to_install() -> None:
    db = SqlAlchemyConnector(connection_info=f"mysql+pymysql://u:{PASSWORD}@127.0.0.1/db")
    with pytest.raises(SqlDriverNotInstalledError, match="pip install pymysql"):
        db.fetch_all("SELECT 1")
    with pytest.raises(SqlDriverNotInstalledError, match="no dialect"):
        SqlAlchemyConnector(connection_info="nosuchdialect://h/db").get_engine()


def test_bad_url_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(SqlConfigError) as info:
        SqlAlchemyConnector(connection_info=f"not a url {PASSWORD}")
    assert PASSWORD not in str(info.value) and isinstance(info.value, ConfigError)


def test_password_query_option_becomes_the_secret_password() -> None:
    info = ConnectionComponents.from_url(f"postgresql+psycopg://u@127.0.0.1:9/x?password={PASSWORD}&sslmode=require")
    assert info.password is not None and info.password.get_secret_value() == PASSWORD
    assert info.query == {"sslmode": "require"}
    db = SqlAlchemyConnector(connection_info=f"postgresql+psycopg://u@127.0.0.1:9/x?PASSWORD={PASSWORD}")
    assert db.components.query is None and db.components.password.get_secret_value() == PASSWORD
    assert PASSWORD not in db.components.model_dump_json()


def test_password_twice_or_other_secret_query_options_are_refused_without_echo() -> None:
    with pytest.raises(SqlConfigError, match="password twice") as twice:
        ConnectionComponents.from_url(f"postgresql+psycopg://u:other@127.0.0.1:9/x?password={PASSWORD}")
    with pytest.raises(SqlConfigError, match="sslpassword look like secrets") as other:
        SqlAlchemyConnector(connection_info=f"postgresql+psycopg://u@127.0.0.1:9/x?sslpassword={PASSWORD}")
    with pytest.raises(HeadwaterError, match="token look like secrets") as direct:
        DatabaseCredentials(driver="postgresql+psycopg", query={"token": PASSWORD})
    for exc in (twice, other, direct):
        assert PASSWORD not in str(exc.value)


def test_secret_not_in_logs_of_a_working_session(postgres_database: str, caplog: Any,
                                                 password_role: dict[str, Any]) -> None:
    server = password_role["server"]
    url = server.url_for(postgres_database.rsplit("/", 1)[1], password_role["user"], PASSWORD)
    caplog.set_level(logging.DEBUG)
    engine_log = logging.getLogger("sqlalchemy.engine")
    engine_log.setLevel(logging.INFO)
    try:
        with SqlAlchemyConnector(connection_info=url) as db:
            db.execute("CREATE TABLE t (a INTEGER)")
            db.insert_rows("t", [{"a": 1}])
            assert db.fetch_all("SELECT a FROM t") == [(1,)]
            shown = [repr(db), str(db), str(db.get_engine()), repr(db.create_url()), db.model_dump_json()]
    finally:
        engine_log.setLevel(logging.NOTSET)
    assert "SELECT a FROM t" in caplog.text  # the engine did log
    for text in [caplog.text, *shown]:
        assert PASSWORD not in text


def test_sqlalchemy_errors_are_not_swallowed_as_other_types(db_url: str) -> None:
    db = SqlAlchemyConnector(connection_info=db_url)
    with pytest.raises(SqlExecutionError) as info:
        db.fetch_all("SELEC 1")
    assert isinstance(info.value.__cause__, sa.exc.DBAPIError)
    assert info.value.statement == "SELEC 1"
    db.close()
