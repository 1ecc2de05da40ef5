"""The SQL rules matching shares with dbt (latest master snapshot, buyer key, spec key) have one
owner, dbt_project/macros/shared_rules.sql: matching renders the macros instead of copying them."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from matching import sources
from matching.sources import SHARED_RULES, SharedRuleError, shared_rule
from sfe.config import PROJECT_ROOT

RAW = """
create schema raw;
create table raw.flow__lines (distributor_code varchar, buyer_code varchar, buyer_name varchar,
    buyer_address varchar, product_name varchar, spec varchar, manufacturer varchar);
insert into raw.flow__lines values
    ('D1', null, '北医三院', null, '阿莫仙', null, null),
    ('D1', 'B1', '协和医院', null, '阿莫仙', '0.25g', null);
create table raw.master__customers (snapshot_date date, crm_customer_id varchar, name varchar,
    customer_type varchar, province varchar, city varchar, district varchar, address varchar);
insert into raw.master__customers values
    (date '2026-09-30', 'C1', '旧名', 'hospital', null, null, null, null),
    (date '2026-10-31', 'C1', '北医三院', 'hospital', null, null, null, null),
    (date '2026-10-31', 'C2', '协和医院', 'hospital', null, null, null, null);
"""


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(RAW)
    return con


def test_the_shipped_rules_key_missing_codes_and_specs_as_empty_and_read_the_latest_master(con) -> None:
    buyers = sources.load_raw_buyers(con)
    assert sorted(zip(buyers["buyer_code"], buyers["raw_name"])) == [("", "北医三院"), ("B1", "协和医院")]
    products = sources.load_raw_products(con)
    assert sorted(products["raw_spec"]) == ["", "0.25g"]
    master = sources.load_customer_master(con)
    assert list(zip(master["crm_customer_id"], master["name"])) == [("C1", "北医三院"), ("C2", "协和医院")]


def test_matching_follows_a_change_of_dbts_macros(con, tmp_path: Path, monkeypatch) -> None:
    """Change each rule in the macro file only: matching's reads change with it."""
    text = SHARED_RULES.read_text(encoding="utf-8")
    edited = (text.replace("coalesce({{ column }}, '')", "coalesce({{ column }}, '(none)')")
                  .replace("(select max(snapshot_date) from {{ relation }})",
                           "(select min(snapshot_date) from {{ relation }})"))
    assert edited.count("'(none)'") == 2 and "min(snapshot_date)" in edited
    rules = tmp_path / "shared_rules.sql"
    rules.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(sources, "SHARED_RULES", rules)

    buyers = sources.load_raw_buyers(con)
    assert sorted(buyers["buyer_code"]) == ["(none)", "B1"]
    assert sorted(sources.load_raw_products(con)["raw_spec"]) == ["(none)", "0.25g"]
    assert list(sources.load_customer_master(con)["name"]) == ["旧名"]  # the oldest snapshot now


def test_a_rule_that_needs_dbt_is_a_clear_error(tmp_path: Path) -> None:
    rules = tmp_path / "shared_rules.sql"
    rules.write_text("{% macro buyer_key(column) %}cast({{ column }} as {{ dbt.type_string() }})"
                     "{% endmacro %}", encoding="utf-8")
    with pytest.raises(SharedRuleError, match="macro buyer_key is missing or cannot be rendered"):
        shared_rule("buyer_key", "b", path=rules)
    with pytest.raises(SharedRuleError, match="macro spec_key"):
        shared_rule("spec_key", "s", path=rules)


_COPIES = re.compile(r"coalesce\(\s*[\w.]*(buyer_code|spec)\s*,\s*''\s*\)"
                     r"|snapshot_date\s*=\s*\(\s*select\s+max\(snapshot_date\)", re.IGNORECASE)


def test_no_model_or_matching_module_spells_a_shared_rule_out_again() -> None:
    files = [*(PROJECT_ROOT / "dbt_project" / "models").rglob("*.sql"),
             *(PROJECT_ROOT / "matching").rglob("*.py")]
    copies = [f"{f.relative_to(PROJECT_ROOT)}: {m.group(0)}"
              for f in files for m in _COPIES.finditer(f.read_text(encoding="utf-8"))]
    assert copies == []
