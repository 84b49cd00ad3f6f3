"""The test project on dbt-postgres against a real PostgreSQL: tables, failures, secrets."""

from __future__ import annotations

import glob
import logging
import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from headwater.errors import HeadwaterError
from headwater_dbt import DbtCliProfile, DbtCoreOperation, DbtRunError, PostgresTargetConfigs

pytestmark = pytest.mark.postgres
SECRET = "dbt-pg-" + uuid.uuid4().hex[:12]


class PgBuilt:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(**self.server.libpq_kwargs(self.dbname)) as conn:
            return conn.execute(sql).fetchall()


def _profile(server: Any, dbname: str, password: str = SECRET) -> DbtCliProfile:
    return DbtCliProfile(
        name="headwater_demo", target="pg",
        target_configs=PostgresTargetConfigs(
            host=server.host, port=server.port, user="dbt_etl", password=password, dbname=dbname, schema="analytics",
            threads=2,
        ),
    )


@pytest.fixture(scope="session")
def pg_built(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgBuilt]:
    import shutil

    postgres_server.create_role("dbt_etl", SECRET)
    dbname = f"dbt_{uuid.uuid4().hex[:10]}"
    postgres_server.create_database(dbname)
    project = tmp_path_factory.mktemp("dbt-pg") / "project"
    shutil.copytree(Path(__file__).parent / "project", project)
    records: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("headwater_dbt")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        profile = _profile(postgres_server, dbname)
        result = DbtCoreOperation(commands=["dbt build"], project_dir=project, dbt_cli_profile=profile).run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    yield PgBuilt(server=postgres_server, dbname=dbname, project=project, result=result, logs=records)
    postgres_server.drop_database(dbname)


def test_build_creates_the_tables_in_postgres(pg_built):
    rows = pg_built.query(
        "select first_name, order_count, completed_amount from analytics.customer_orders order by customer_id"
    )
    assert rows[0] == ("Ada", 2, Decimal("200.50")) and rows[3] == ("Edsger", 0, Decimal("0"))
    assert pg_built.query("select count(*) from analytics.customers_snapshot") == [(5,)]
    assert pg_built.query("select count(*) from analytics.country_revenue") == [(3,)]
    nodes = {n.unique_id: n for n in pg_built.result.invocations[0].nodes}
    assert len(nodes) == 16 and all(n.status in ("success", "pass") for n in nodes.values())
    assert nodes["seed.headwater_demo.raw_orders"].rows_affected == 7
    assert nodes["model.headwater_demo.customer_orders"].rows_affected == 5, "postgres reports rows for table models"


def test_the_password_is_nowhere_it_should_not_be(pg_built):
    assert pg_built.logs, "dbt's log lines were streamed"
    assert not any(SECRET in line for line in pg_built.logs)
    for path in pg_built.project.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"password written to {path}"
    assert not (pg_built.project / "profiles.yml").exists()
    leftovers = glob.glob(str(Path(tempfile.gettempdir()) / "headwater-dbt-*" / "profiles.yml"))
    assert not any(SECRET in Path(p).read_text() for p in leftovers), "private profiles.yml left behind"


def test_failing_model_on_postgres(pg_built):
    op = DbtCoreOperation(
        commands=["dbt run --select broken_model"], project_dir=pg_built.project,
        dbt_cli_profile=_profile(pg_built.server, pg_built.dbname),
    )
    with pytest.raises(DbtRunError) as info:
        op.run()
    assert "model.headwater_demo.broken_model" in str(info.value)
    assert "invalid input syntax" in str(info.value)
    assert SECRET not in str(info.value)


def test_wrong_password_is_one_clear_error_without_the_password(pg_built):
    wrong = "wrong-" + uuid.uuid4().hex[:10]
    op = DbtCoreOperation(
        commands=["dbt run --select stg_orders"], project_dir=pg_built.project,
        dbt_cli_profile=_profile(pg_built.server, pg_built.dbname, password=wrong),
    )
    with pytest.raises(HeadwaterError) as info:
        op.run()
    assert "password authentication failed" in str(info.value)
    assert wrong not in str(info.value)


def test_postgres_target_from_sql_plugin_credentials(pg_built):
    sql = pytest.importorskip("headwater_sql",
                              reason="headwater-sql not installed: pip install headwater-sql[postgres]")
    creds = sql.DatabaseCredentials(
        driver="postgresql+psycopg", username="dbt_etl", password=SECRET,
        host=pg_built.server.host, port=pg_built.server.port, database=pg_built.dbname,
    )
    profile = DbtCliProfile(name="headwater_demo", target="pg",
                            target_configs=PostgresTargetConfigs(credentials=creds, schema="via_sql"))
    DbtCoreOperation(commands=["dbt seed --select raw_customers"], project_dir=pg_built.project,
                     dbt_cli_profile=profile).run()
    assert pg_built.query("select count(*) from via_sql.raw_customers") == [(5,)]


def test_check_connects_with_the_target_credentials(pg_built):
    DbtCoreOperation(commands=["dbt build"], project_dir=pg_built.project,
                     dbt_cli_profile=_profile(pg_built.server, pg_built.dbname)).check()
    wrong = "wrong-" + uuid.uuid4().hex[:10]
    with pytest.raises(HeadwaterError) as info:
        _profile(pg_built.server, pg_built.dbname, password=wrong).check()
    assert "password authentication failed" in str(info.value) and wrong not in str(info.value)
