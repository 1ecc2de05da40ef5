"""Against real dbt (one `dbt compile` of kpi_tender, shared by the tests here):

- values from config reach dbt as vars and are never pasted into SQL as raw text: a company
  called O'Brien Pharma compiles to valid SQL that finds its own tender bids;
- the invocation id `run_dbt` records for a build is the one dbt writes into run_results.json,
  which the dbt_tests gate matches results against.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from transform.dbt_runner import run_dbt
from transform.report import BuildReport
from sfe.config import load_settings
from sfe.console import Console

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


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("obrien") / "data"
    settings = replace(load_settings(env={}, data_dir=data_dir), company_name="O'Brien Pharma")
    settings.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.working_db))
    try:
        con.execute(STAGED)
    finally:
        con.close()
    report = BuildReport()
    run_dbt(settings, "compile", ["kpi_tender"], Console(quiet=True), report)
    assert report.error is None and not report.failures, report.summary()
    return settings, report


def test_a_company_name_with_a_quote_builds_tenders(compiled) -> None:
    settings, _ = compiled
    sql = next((settings.dbt_target_dir / "target" / "compiled").rglob("kpi_tender.sql")
               ).read_text(encoding="utf-8")
    con = duckdb.connect(str(settings.working_db))
    try:
        rows = con.execute(f"select spec, bids, wins, all_bids from ({sql}) order by spec"
                           ).fetchall()
    finally:
        con.close()
    # 10mg: the one O'Brien bid (won) of two; 20mg: 'OBrien' is another company
    assert rows == [("10mg", 1, 1, 2), ("20mg", 0, 0, 1)]


def test_the_recorded_invocation_id_is_the_one_in_run_results(compiled) -> None:
    settings, report = compiled
    path = Path(settings.dbt_target_dir / "target" / "run_results.json")
    written = json.loads(path.read_text(encoding="utf-8"))["metadata"]["invocation_id"]
    assert report.invocation_id and report.invocation_id == written
