"""One source description (ingestion/sources.py) → the raw DDL and the pandera schemas.

Both are generated from the description, so a field added there is a raw column and a checked
column at once; these tests pin that, and the checks a few fields must carry (written out by
hand from sources.md, not read back from the code).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pandera.polars as pa
import polars as pl
import pytest

from ingestion.ddl import ensure_tables, raw_table_ddl
from ingestion.schemas import SCHEMAS, schema_failures, source_schema
from ingestion.sources import ALL_SOURCES, FLOW, MASTERS, Field, Source

SQL = {"text": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP", "number": "DOUBLE",
       "int": "INTEGER", "bool": "BOOLEAN", "month": "VARCHAR", "unit": "VARCHAR",
       "doc_type": "VARCHAR"}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for schema in ("raw", "audit", "quarantine"):
        connection.execute(f"create schema {schema}")
    ensure_tables(connection)
    yield connection
    connection.close()


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name]).fetchall()


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda s: s.key)
def test_raw_table_columns_and_types_equal_the_description(con, source: Source):
    expected = [("file_id", "BIGINT"), ("source_row", "INTEGER"), ("sheet", "VARCHAR")]
    expected += [(f.name, SQL[f.kind]) for f in source.fields]
    assert _table_columns(con, source.table) == expected


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda s: s.key)
def test_pandera_columns_equal_the_description(source: Source):
    schema = SCHEMAS[source.key]
    assert list(schema.columns) == [f.name for f in source.fields]
    for f in source.fields:
        assert schema.columns[f.name].nullable is (not (f.required or f.filled)), f.name


def test_every_source_has_exactly_one_schema():
    assert set(SCHEMAS) == {s.key for s in ALL_SOURCES}
    assert len(ALL_SOURCES) == 14  # 7 masters, flow, inventory, sellin, calls, activities,
    # targets, tenders


def test_a_field_added_to_the_description_is_a_raw_column_and_a_checked_column():
    added = dataclasses.replace(FLOW, fields=(*FLOW.fields, Field("pack_count", "int",
                                                                   required=True, bounds=(1, 50))))
    ddl = raw_table_ddl(added)
    assert ddl.endswith("    doc_type VARCHAR,\n    pack_count INTEGER\n)")
    column = source_schema(added).columns["pack_count"]
    assert column.nullable is False
    frame = _flow_frame(2).with_columns(pack_count=pl.Series([3, 60]))
    failures = schema_failures_with(added, frame)
    assert failures == [(1, "pack_count", ("failed check less_than_or_equal_to(50) on column "
                                           "pack_count (value: 60)"))]


def schema_failures_with(source: Source, frame: pl.DataFrame) -> list[tuple[int, str, str]]:
    try:
        source_schema(source).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        return [(r["index"], r["column"], (f"failed check {r['check']} on column {r['column']} "
                                           f"(value: {r['failure_case']})"))
                for r in cases.iter_rows(named=True)]
    return []


def _flow_frame(rows: int) -> pl.DataFrame:
    day = dt.date(2026, 3, 5)
    return pl.DataFrame({
        "distributor_code": ["D01"] * rows, "sale_date": [day] * rows,
        "buyer_code": [None] * rows, "buyer_name": ["市一院"] * rows,
        "buyer_address": [None] * rows, "product_name": ["阿莫西林"] * rows,
        "spec": [None] * rows, "manufacturer": [None] * rows, "batch_no": [None] * rows,
        "expiry_date": [dt.date(1960, 1, 1)] * rows, "quantity": [10.0] * rows,
        "unit": ["box"] * rows, "raw_unit": ["盒"] * rows, "unit_price": [None] * rows,
        "amount": [100.0] * rows, "doc_type": ["sale"] * rows,
    }, schema_overrides={"buyer_code": pl.String, "buyer_address": pl.String,
                         "spec": pl.String, "manufacturer": pl.String, "batch_no": pl.String,
                         "unit_price": pl.Float64})


def test_flow_checks_written_out_by_hand():
    """sources.md: old stock may expire from 1950; a unit is box/min_unit/case; the folder's
    distributor code and the unit are always set; a quantity beyond 1e12 is a misread cell."""
    frame = _flow_frame(5).with_columns(
        expiry_date=pl.Series([dt.date(1960, 1, 1), dt.date(1949, 12, 31), None, None, None]),
        unit=pl.Series(["box", "box", "kg", None, "case"]),
        quantity=pl.Series([10.0, 10.0, 10.0, 10.0, -2e12]))
    got = schema_failures("flow", frame)
    assert sorted(got["_idx"].to_list()) == [1, 2, 3, 4]
    reasons = dict(zip(got["_idx"].to_list(), got["reason"].to_list(), strict=True))
    assert reasons[1].startswith("failed check greater_than_or_equal_to(1950-01-01) on column "
                                 "expiry_date")
    assert reasons[2].startswith("failed check isin(['box', 'min_unit', 'case']) on column unit")
    assert reasons[3] == "failed check not_nullable on column unit (value: empty)"
    assert reasons[4].startswith("failed check greater_than_or_equal_to(-1000000000000.0) on "
                                 "column quantity")


def test_master_snapshot_date_is_set_by_the_loader_and_not_range_checked():
    """A master's snapshot date comes from the file name or mtime (a zip may carry 1980 mtimes):
    it is a raw column but no pandera check may quarantine the whole file for it."""
    for master in MASTERS:
        snap = master.field("snapshot_date")
        assert SCHEMAS[master.key].columns["snapshot_date"].checks == []
        assert snap.nullable
    frame = pl.DataFrame({"snapshot_date": [dt.date(1980, 1, 1)], "territory_id": ["T1"],
                          "parent_id": [None], "level": ["region"], "name": ["华东"]},
                         schema_overrides={"parent_id": pl.String})
    assert schema_failures("master:territories", frame).height == 0
