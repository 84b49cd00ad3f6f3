"""insert_rows, fetch_dataframe and load_dataframe: rows a user would find in the table."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from headwater_sql import SqlAlchemyConnector, SqlExecutionError


def _rows(n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + n):
        yield {"id": i, "name": f"row-{i}", "score": i / 2}


def _table_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _table_exists(url: str, name: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


def test_insert_rows_in_batches_from_a_generator(connector: SqlAlchemyConnector, db_url: str) -> None:
    connector.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20), score FLOAT)")
    assert connector.insert_rows("items", _rows(2_345), batch_size=500) == 2_345
    expected = [(2_345, 0, 2_344, sum(i / 2 for i in range(2_345)))]
    assert _table_rows(db_url, "SELECT count(*), min(id), max(id), sum(score) FROM items") == expected
    assert _table_rows(db_url, "SELECT name FROM items WHERE id = 77") == [("row-77",)]


def test_insert_rows_creates_the_table_from_the_first_row(connector: SqlAlchemyConnector, db_url: str,
                                                          backend: str) -> None:
    row = {
        "id": 1, "name": "a", "ratio": 0.5, "flag": True, "amount": decimal.Decimal("12.50"),
        "day": datetime.date(2024, 5, 1), "ts": datetime.datetime(2024, 5, 1, 12, 30), "blob": b"\x00\x01",
    }
    assert connector.insert_rows("loaded", [row, {**row, "id": 2, "name": "b"}], create_table=True) == 2
    got = connector.fetch_all("SELECT id, name, ratio, flag, amount, day, ts, blob FROM loaded ORDER BY id")
    assert [r[1] for r in got] == ["a", "b"]
    first = got[0]
    assert first.ratio == 0.5 and bool(first.flag) is True and decimal.Decimal(str(first.amount)) == decimal.Decimal(
        "12.50"
    )
    if backend != "sqlite":  # SQLite keeps dates as text unless read through a typed column
        assert first.day == datetime.date(2024, 5, 1) and first.ts == datetime.datetime(2024, 5, 1, 12, 30)
    assert bytes(first.blob) == b"\x00\x01"
    # An existing table is used as it is.
    assert connector.insert_rows("loaded", [{**row, "id": 3}], create_table=True) == 1
    assert _table_rows(db_url, "SELECT count(*) FROM loaded") == [(3,)]


def test_batch_failing_midway_leaves_nothing_written(connector: SqlAlchemyConnector, db_url: str) -> None:
    connector.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20), score FLOAT)")
    connector.insert_rows("items", _rows(1))  # id 0 exists already

    def rows() -> Iterator[dict[str, Any]]:
        yield from _rows(250, start=1)
        yield {"id": 0, "name": "duplicate", "score": 0.0}  # third batch: primary key violation
        yield from _rows(100, start=1000)

    with pytest.raises(SqlExecutionError) as info:
        connector.insert_rows("items", rows(), batch_size=100)
    assert "rows 201-300" in str(info.value) and "INSERT INTO items" in str(info.value)
    assert _table_rows(db_url, "SELECT id FROM items") == [(0,)]


def test_failed_load_into_a_new_table_leaves_no_table(connector: SqlAlchemyConnector, db_url: str) -> None:
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b", "extra": "not a column"}]
    with pytest.raises(SqlExecutionError):
        connector.insert_rows("fresh", [rows[0], *([rows[0]] * 10), {"id": 3}], create_table=True, batch_size=5)
    assert not _table_exists(db_url, "fresh")


def test_insert_no_rows_is_a_no_op(connector: SqlAlchemyConnector) -> None:
    assert connector.insert_rows("whatever", []) == 0


def test_dataframes_round_trip(connector: SqlAlchemyConnector, db_url: str) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is not installed: pip install 'headwater-sql[pandas]'")
    df = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"], "score": [0.5, 1.5, 2.5]})
    assert connector.load_dataframe(df, "frame") == 3
    assert connector.load_dataframe(df.iloc[:1], "frame") == 1  # appends by default
    assert _table_rows(db_url, "SELECT count(*) FROM frame") == [(4,)]
    got = connector.fetch_dataframe("SELECT id, name, score FROM frame WHERE id > :low ORDER BY id", {"low": 1})
    assert list(got.columns) == ["id", "name", "score"]
    assert got["name"].tolist() == ["b", "c"] and got["score"].tolist() == [1.5, 2.5]
    connector.load_dataframe(df.iloc[:2], "frame", if_exists="replace")
    assert _table_rows(db_url, "SELECT count(*) FROM frame") == [(2,)]


def test_insert_rows_takes_any_mappings_and_sequences(connector: SqlAlchemyConnector, db_url: str) -> None:
    from types import MappingProxyType

    connector.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20), score FLOAT)")
    as_tuple = tuple(MappingProxyType(r) for r in _rows(7))
    assert connector.insert_rows("items", as_tuple, batch_size=3) == 7
    assert connector.insert_rows("items", list(_rows(5, start=10)), batch_size=2) == 5
    copied = [r._mapping for r in connector.fetch_all("SELECT id + 100 AS id, name, score FROM items")]
    assert connector.insert_rows("items", copied) == 12
    assert _table_rows(db_url, "SELECT count(*), max(id) FROM items") == [(24, 114)]


def test_insert_rows_into_an_existing_table_passes_values_as_they_are(connector: SqlAlchemyConnector,
                                                                      db_url: str) -> None:
    connector.execute("CREATE TABLE events (id INTEGER, day DATE, amount NUMERIC(10, 2))")
    rows = [{"id": 1, "day": "2024-05-01", "amount": 1.5}, {"id": 2, "day": "2024-05-02", "amount": 2}]
    assert connector.insert_rows("events", rows) == 2
    got = _table_rows(db_url, "SELECT id, day, amount FROM events ORDER BY id")
    assert [(r[0], str(r[1]), float(r[2])) for r in got] == [(1, "2024-05-01", 1.5), (2, "2024-05-02", 2.0)]


def test_rows_iterable_failing_midway_writes_nothing_and_keeps_its_error(connector: SqlAlchemyConnector,
                                                                         db_url: str) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        yield from _rows(150)
        raise ValueError("bad source row 151")

    with pytest.raises(ValueError, match="bad source row 151"):
        connector.insert_rows("items", rows(), create_table=True, batch_size=100)
    assert not _table_exists(db_url, "items")
    assert connector.get_engine().pool.checkedout() == 0
