"""A small, hand-checkable working warehouse with marts shaped as kpis.md says.

Three distributors: D1 and D2 (tier 1, supplied by sell-in) and D3 (tier 2, buys P1 from D1).
Two own products P1, P2. Six months 2026-05 … 2026-10, every month the same clean flows, so
every gate is quiet on it; each test plants one kind of bad data with a few SQL statements.
Business date for the checks: TODAY (2026-11-20, so October's flow is due and nothing is in
the future).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sfe.builds import BuildRecord, record_build
from sfe.config import Settings

TODAY = dt.date(2026, 11, 20)
MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]

SCHEMA = """
create schema if not exists marts;
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists quarantine;
create schema if not exists matching;

create or replace table marts.dim_product (product_id varchar, generic_name varchar,
    brand_name varchar, spec varchar, pack_size integer, is_own boolean);
create or replace table marts.dim_distributor (distributor_code varchar, name varchar,
    tier integer, province varchar, flow_required boolean, region_id varchar,
    region_source varchar, given_region varchar);
create or replace table marts.fct_sell_out (sale_date date, month varchar,
    distributor_code varchar, buyer_kind varchar, crm_customer_id varchar,
    raw_buyer_name varchar, product_id varchar, qty_boxes double, amount double,
    territory_id varchar, source_file varchar, source_row integer,
    buyer_distributor_code varchar);
create or replace table marts.fct_sell_in (ship_date date, month varchar,
    distributor_code varchar, product_id varchar, qty_boxes double, amount double);
create or replace table marts.kpi_flow_completeness (month varchar, distributor_code varchar,
    expected boolean, received boolean, first_received_at timestamp, on_time boolean,
    rows integer, matched_rows integer, match_rate double, quarantined_rows integer);
create or replace table marts.kpi_channel_inventory (month varchar, distributor_code varchar,
    product_id varchar, opening_qty double, purchase_qty double, sales_qty double,
    computed_closing_qty double, reported_closing_qty double, variance_qty double,
    days_of_inventory double);
create or replace table marts.map_customer_source (source varchar, distributor_code varchar,
    source_key varchar, raw_name varchar, crm_customer_id varchar, match_status varchar,
    match_method varchar, match_score double);
create or replace table marts.kpi_coverage (month varchar, territory_id varchar,
    product_id varchar, target_customers integer, covered_customers integer,
    coverage_rate double);
create or replace table marts.kpi_call_activity (month varchar, rep_id varchar,
    territory_id varchar, target_hcps integer, reached_hcps integer, calls integer,
    planned_calls integer, reach_rate double, frequency double, plan_adherence double,
    report_on_time_rate double);
create or replace table marts.scorecard_weekly (week_start date, region_id varchar,
    sell_out_amount double, sell_out_amount_ly double, growth double,
    mtd_achievement_rate double, ytd_achievement_rate double, coverage_rate double,
    plan_adherence double, flow_completeness_rate double,
    distributors_over_doi_threshold integer, data_status varchar);
create or replace table raw.flow__lines (file_id bigint, source_row integer, sheet varchar,
    distributor_code varchar, sale_date date, buyer_code varchar, buyer_name varchar,
    buyer_address varchar, product_name varchar, spec varchar, manufacturer varchar,
    batch_no varchar, expiry_date date, quantity double, unit varchar, raw_unit varchar,
    unit_price double, amount double, doc_type varchar);
create or replace table quarantine.rows (file_id bigint, source varchar,
    distributor_code varchar, source_row integer, sheet varchar, reason varchar,
    column_name varchar, raw_values json, quarantined_at timestamp);
create or replace table audit.file_registry (file_id bigint, path varchar, status varchar);
"""


def build_clean_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)
    con.execute("insert into marts.dim_product values "
                "('P1', '阿莫西林', 'AmoxA', '0.25g*24', 24, true), "
                "('P2', '头孢克肟', 'CefB', '0.1g*6', 6, true)")
    con.execute("insert into marts.dim_distributor values "
                "('D1', '国药北京', 1, '北京', true, 'RG1', 'given', 'RG1'), "
                "('D2', '华润北京', 1, '北京', true, 'RG1', 'given', '华北'), "
                "('D3', '昌平医药', 2, '北京', true, 'RG1', 'derived', null)")
    for i, month in enumerate(MONTHS):
        day10 = f"{month}-10"
        con.execute(f"""
            insert into marts.fct_sell_out values
            (date '{day10}', '{month}', 'D1', 'terminal', 'C1', '北医三院', 'P1', 100, 3000, 'T1', 'f1.csv', {i * 10 + 1}, null),
            (date '{day10}', '{month}', 'D1', 'terminal', 'C2', '朝阳医院', 'P2', 100, 2000, 'T1', 'f1.csv', {i * 10 + 2}, null),
            (date '{day10}', '{month}', 'D1', 'distributor', null, '昌平医药', 'P1', 50, 1500, null, 'f1.csv', {i * 10 + 3}, 'D3'),
            (date '{day10}', '{month}', 'D2', 'terminal', 'C1', '北京大学第三医院', 'P1', 100, 3000, 'T1', 'f2.csv', {i * 10 + 4}, null),
            (date '{day10}', '{month}', 'D2', 'terminal', 'C2', '朝阳医院', 'P2', 100, 2000, 'T1', 'f2.csv', {i * 10 + 5}, null),
            (date '{day10}', '{month}', 'D3', 'terminal', 'C3', '昌平区医院', 'P1', 50, 1500, 'T1', 'f3.csv', {i * 10 + 6}, null)
        """)
        con.execute(f"""
            insert into marts.fct_sell_in values
            (date '{month}-02', '{month}', 'D1', 'P1', 150, 4000),
            (date '{month}-02', '{month}', 'D1', 'P2', 100, 1800),
            (date '{month}-02', '{month}', 'D2', 'P1', 100, 2700),
            (date '{month}-02', '{month}', 'D2', 'P2', 100, 1800)
        """)
        for d in ("D1", "D2", "D3"):
            con.execute(f"""insert into marts.kpi_flow_completeness values
                ('{month}', '{d}', true, true, timestamp '{month}-28 10:00:00', true, 2, 2, 1.0, 0)""")
        for d, p in (("D1", "P1"), ("D1", "P2"), ("D2", "P1"), ("D2", "P2")):
            con.execute(f"""insert into marts.kpi_channel_inventory values
                ('{month}', '{d}', '{p}', 100, 100, 100, 100, 100, 0, 30)""")
        con.execute(f"insert into marts.kpi_coverage values ('{month}', 'T1', 'P1', 10, 6, 0.6)")
        con.execute(f"""insert into marts.kpi_call_activity values
            ('{month}', 'R1', 'T1', 20, 15, 60, 70, 0.75, 3.5, 0.8, 0.9)""")
    add_reconciled_marts(con)
    con.execute("""insert into marts.map_customer_source values
        ('flow', 'D1', '北医三院', '北医三院', 'C1', 'auto', 'alias', 0.97),
        ('flow', 'D1', '昌平医药', '昌平医药', null, 'unmatched', 'distributor', null)""")
    con.execute("""insert into raw.flow__lines values
        (1, 2, null, 'D1', date '2026-10-10', 'B01', '北医三院', null, '阿莫西林', '0.25g*24',
         null, 'L1', null, 100, 'box', '盒', 30, 3000, 'sale'),
        (1, 3, null, 'D1', date '2026-10-12', 'B01', '北医三院', null, '阿莫西林', '0.25g*24',
         null, 'L1', null, -5, 'box', '盒', 30, -150, 'return')""")
    for i, month in enumerate(MONTHS[:-1]):  # every month of the facts has raw flow behind it
        con.execute(f"""insert into raw.flow__lines values (1, {20 + i}, null, 'D1',
            date '{month}-10', 'B01', '北医三院', null, '阿莫西林', '0.25g*24', null, 'L1', null,
            100, 'box', '盒', 30, 3000, 'sale')""")
    con.execute("""insert into quarantine.rows values
        (1, 'flow', 'D1', 9, null, 'unparseable date', 'sale_date', '{"日期": "2026-13-45"}',
         timestamp '2026-11-01 09:00:00')""")
    con.execute("insert into audit.file_registry values (1, 'flow/D1/a.csv', 'partial')")


PASSING_DBT_RESULTS = [
    {"unique_id": "model.sfe.fct_sell_out", "status": "success", "failures": None},
    {"unique_id": "test.sfe.unique_fct_sell_in_id", "status": "pass", "failures": 0},
]


def record_dbt_build(settings: Settings, results: list[dict[str, Any]], *, build_id: str,
                     invocation_id: str, written_by: str | None = None,
                     path: Path | None = None) -> Path:
    """What `sfe build` leaves: run_results.json (its metadata naming the dbt invocation that
    wrote it, `written_by`, default this build's) and the build's row in audit.dbt_builds."""
    path = path or settings.dbt_target_dir / "target" / "run_results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "metadata": {"generated_at": "2026-11-20T01:00:00Z",
                     "invocation_id": written_by or invocation_id},
        "results": results}), encoding="utf-8")
    con = duckdb.connect(str(settings.working_db))
    try:
        record_build(con, BuildRecord(build_id, invocation_id, str(path), "ok"))
    finally:
        con.close()
    return path


# The marts the reconciliation gates compare with fct_sell_out, consistent with it: every month
# T1 (region RG1) is credited P1 3000 + 3000 + 1500 = 7500 and P2 2000 + 2000 = 4000, all on
# the 10th, so the scorecard's week holding the 10th shows 11500 for RG1.
RECONCILED = """
create or replace table marts.dim_territory (territory_id varchar, name varchar, level varchar,
    territory_path varchar, region_id varchar, district_id varchar, parent_id varchar);
create or replace table marts.kpi_target_achievement (month varchar, territory_id varchar,
    product_id varchar, target_amount double, actual_amount double, achievement_rate double,
    ytd_target_amount double, ytd_actual_amount double, ytd_achievement_rate double);
create or replace table marts.bridge_customer_territory (crm_customer_id varchar,
    territory_id varchar, product_line varchar, valid_from date, valid_to date,
    products_named bigint);
create or replace table marts.fct_sell_out_uncredited (sale_date date, month varchar,
    distributor_code varchar, crm_customer_id varchar, raw_buyer_name varchar,
    product_id varchar, product_line varchar, qty_boxes double, amount double,
    source_file varchar, source_row integer, sell_out_line_id varchar, reason varchar,
    alignment_lines varchar, unresolved_lines varchar);
insert into marts.dim_territory values ('RG1', '华北大区', 'region', 'RG1', 'RG1', null, null),
    ('T1', '海淀片', 'territory', 'RG1/T1', 'RG1', null, 'RG1');
insert into marts.bridge_customer_territory values
    ('C1', 'T1', 'ALL', date '2026-01-01', null, 2), ('C2', 'T1', 'ALL', date '2026-01-01', null, 2),
    ('C3', 'T1', 'ALL', date '2026-01-01', null, 2);
"""


def add_reconciled_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RECONCILED)
    for month in MONTHS:
        day10 = dt.date.fromisoformat(f"{month}-10")
        week_start = day10 - dt.timedelta(days=day10.weekday())
        for territory in ("T1", "RG1"):
            con.execute(f"""insert into marts.kpi_target_achievement values
                ('{month}', '{territory}', 'P1', 10000, 7500, 0.75, null, null, null),
                ('{month}', '{territory}', 'P2', 5000, 4000, 0.8, null, null, null)""")
        con.execute(f"""insert into marts.scorecard_weekly values (date '{week_start}', 'RG1',
            11500, null, null, 0.9, 0.95, 0.6, 0.8, 1.0, 0, 'unchecked')""")


@pytest.fixture
def warehouse(settings: Settings) -> Settings:
    """settings whose working DB holds the clean marts, built by a dbt build that passed."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.working_db))
    try:
        build_clean_marts(con)
    finally:
        con.close()
    record_dbt_build(settings, PASSING_DBT_RESULTS, build_id="bld-clean", invocation_id="inv-clean")
    return settings


def execute(settings: Settings, sql: str) -> None:
    con = duckdb.connect(str(settings.working_db))
    try:
        con.execute(sql)
    finally:
        con.close()
