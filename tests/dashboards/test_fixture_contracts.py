"""The dashboards' hand-built snapshot (snapshot_fixture.py) must have the real warehouse's shape,
so a page test cannot pass on a column or type the warehouse does not have:

* every table it puts in `marts` is a dbt model under an enforced contract (all of marts/,
  dbt_project.yml) with exactly the contract's columns, types and order
  (dbt_project/models/marts/**/_*.yml; dbt creates a contracted table in the yml's order);
* every `audit` / `quarantine` table that ingestion or the quality gates create has exactly the
  columns of their DDL (ingestion.ddl, quality.store).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion import ddl as ingestion_ddl
from sfe import gate_tables as quality_store
from tests.dashboards.snapshot_fixture import build_snapshot

MARTS = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"
Shape = dict[str, dict[str, str]]  # table → {column: DuckDB type}, in column order
_COLUMNS = ("select table_schema || '.' || table_name, column_name, data_type "
            "from information_schema.columns where table_schema in ({}) "
            "order by 1, ordinal_position")


def _shape(con: duckdb.DuckDBPyConnection, *schemas: str) -> Shape:
    out: Shape = {}
    quoted = ", ".join(f"'{s}'" for s in schemas)
    for table, column, kind in con.execute(_COLUMNS.format(quoted)).fetchall():
        out.setdefault(table, {})[column] = kind
    return out


def dbt_contracts() -> Shape:
    """marts.<model> → the contract's columns, typed as DuckDB spells them (a table created
    with the yml's data_type strings and read back: `double` → DOUBLE, `int` → INTEGER)."""
    con = duckdb.connect()
    try:
        con.execute("create schema marts")
        for path in sorted(MARTS.rglob("_*.yml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for model in doc.get("models", []):
                cols = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in model["columns"])
                con.execute(f'create table marts."{model["name"]}" ({cols})')
        return _shape(con, "marts")
    finally:
        con.close()


def stage_ddl() -> Shape:
    """The audit and quarantine tables as ingestion and the quality gates create them."""
    con = duckdb.connect()
    try:
        for schema in ("raw", "audit", "quarantine"):
            con.execute(f"create schema {schema}")
        ingestion_ddl.ensure_tables(con)
        quality_store.ensure_tables(con)
        return _shape(con, "audit", "quarantine")
    finally:
        con.close()


@pytest.fixture(scope="module")
def fixture_shape(tmp_path_factory: pytest.TempPathFactory) -> Shape:
    path = build_snapshot(tmp_path_factory.mktemp("contract") / "snap.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        return _shape(con, "marts", "audit", "quarantine")
    finally:
        con.close()


def _drift(have: dict[str, str], want: dict[str, str]) -> dict[str, object]:
    problems = {
        "missing": [c for c in want if c not in have],
        "not in the contract": [c for c in have if c not in want],
        "type": {c: f"{have[c]}, contract {want[c]}" for c in have
                 if c in want and have[c] != want[c]},
    }
    if not any(problems.values()) and list(have) != list(want):
        problems["order"] = list(have)
    return {k: v for k, v in problems.items() if v}


def test_every_fixture_mart_is_a_dbt_model_under_contract(fixture_shape):
    marts = {t for t in fixture_shape if t.startswith("marts.")}
    assert sorted(marts - set(dbt_contracts())) == []


def test_fixture_marts_have_the_contracts_columns_types_and_order(fixture_shape):
    contracts = dbt_contracts()
    drift = {t: _drift(cols, contracts.get(t, {})) for t, cols in fixture_shape.items()
             if t.startswith("marts.")}
    assert {t: d for t, d in drift.items() if d} == {}


def test_fixture_audit_tables_have_the_stages_ddl(fixture_shape):
    ddl = stage_ddl()
    mine = {t: cols for t, cols in fixture_shape.items() if t in ddl}
    # the tables the pages read from these schemas, at least, are checked
    assert {"audit.file_registry", "audit.gate_results", "audit.inbox_skipped",
            "quarantine.rows"} <= set(mine)
    drift = {t: _drift(cols, ddl[t]) for t, cols in mine.items()}
    assert {t: d for t, d in drift.items() if d} == {}


def test_the_check_finds_a_drifted_column():
    """The comparison itself: a renamed column, a wrong type and a swapped order are reported."""
    want = {"month": "VARCHAR", "expected": "BIGINT", "received": "BIGINT"}
    assert _drift({"month": "VARCHAR", "expected": "INTEGER", "got": "BIGINT"}, want) == {
        "missing": ["received"], "not in the contract": ["got"],
        "type": {"expected": "INTEGER, contract BIGINT"}}
    assert _drift({"expected": "BIGINT", "month": "VARCHAR", "received": "BIGINT"}, want) == {
        "order": ["expected", "month", "received"]}
    assert _drift(dict(want), want) == {}
