"""Values from config reach dbt as vars and are never pasted into SQL as raw text: a company
called O'Brien Pharma compiles to valid SQL that finds its own tender bids."""

from __future__ import annotations

from dataclasses import replace

import duckdb

from sfe.build import _env, _release_duckdb, dbt_args, dbt_env

STAGED = """
create schema if not exists staging;
create or replace table staging.stg_tenders__results (
    file_id bigint, province varchar, batch varchar, generic_name varchar, spec varchar,
    bidder varchar, result varchar, bid_price double, is_volume_based boolean);
insert into staging.stg_tenders__results values
    (1, '广东', '', '阿托伐他汀钙片', '10mg', 'O''Brien Pharma Ltd.', '中标', 10.0, true),
    (1, '广东', '', '阿托伐他汀钙片', '10mg', 'Rival Co', '未中标', 12.0, true),
    (1, '广东', '', '阿托伐他汀钙片', '20mg', 'OBrien Pharma', '中标', 15.0, true);
"""


def compiled_kpi_tender(settings) -> str:
    from dbt.cli.main import dbtRunner

    with _env(dbt_env(settings)):
        try:
            result = dbtRunner().invoke(dbt_args(settings, "compile", ["kpi_tender"]))
        finally:
            _release_duckdb()
    assert result.success, result.exception
    (node,) = [r.node for r in result.result.results if r.node.name == "kpi_tender"]
    return node.compiled_code


def test_a_company_name_with_a_quote_builds_tenders(settings) -> None:
    settings = replace(settings, company_name="O'Brien Pharma")
    settings.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.working_db))
    try:
        con.execute(STAGED)
    finally:
        con.close()
    sql = compiled_kpi_tender(settings)
    con = duckdb.connect(str(settings.working_db))
    try:
        rows = con.execute(f"select spec, bids, wins, all_bids from ({sql}) order by spec"
                           ).fetchall()
    finally:
        con.close()
    # 10mg: the one O'Brien bid (won) of two; 20mg: 'OBrien' is another company
    assert rows == [("10mg", 1, 1, 2), ("20mg", 0, 0, 1)]
