"""Each business gate fires on planted bad data and stays quiet on clean data."""

from __future__ import annotations

import json

import duckdb
import pytest

from quality.definitions import load_gates
from quality.gates import run_checks
from tests.quality.conftest import TODAY, execute, record_dbt_build

NON_GX = ["sql", "bounds", "dbt_tests"]

# gate name -> SQL that plants one kind of bad data in the clean warehouse
PLANTED: dict[str, str] = {
    "flow_completeness": """
        update marts.kpi_flow_completeness set received = false
        where month = '2026-10' and distributor_code in ('D1', 'D2')""",
    "distributor_region": """
        update marts.dim_distributor set region_id = null, region_source = 'none'
        where distributor_code = 'D3'""",
    "customer_match_rate": """
        update marts.fct_sell_out set crm_customer_id = null
        where month = '2026-09' and buyer_kind = 'terminal' and distributor_code = 'D1'""",
    "product_rows_quarantined": """
        insert into quarantine.rows values (1, 'flow', 'D1', 12, null,
            'unknown product: 阿莫西林胶囊 0.5g', 'product_name', '{"品名": "阿莫西林胶囊"}',
            timestamp '2026-11-01 09:00:00')""",
    "inventory_rollforward_variance": """
        update marts.kpi_channel_inventory
        set reported_closing_qty = 300, variance_qty = 200
        where month = '2026-10' and distributor_code = 'D1' and product_id = 'P1'""",
    "negative_computed_stock": """
        update marts.kpi_channel_inventory set computed_closing_qty = -40
        where month = '2026-09' and distributor_code = 'D2' and product_id = 'P2'""",
    "future_dates": """
        insert into marts.fct_sell_in values
            (date '2027-03-02', '2027-03', 'D1', 'P1', 10, 300)""",
    "sell_out_spike": """
        insert into marts.fct_sell_out values (date '2026-10-15', '2026-10', 'D2', 'terminal',
            'C1', '北医三院', 'P2', 2000, 40000, 'T1', 'f2.csv', 99, null)""",
    "month_end_spike_reversed": """
        insert into marts.fct_sell_out values
        (date '2026-09-29', '2026-09', 'D2', 'terminal', 'C1', '北医三院', 'P1', 300, 9000,
         'T1', 'f2.csv', 98, null),
        (date '2026-10-08', '2026-10', 'D2', 'terminal', 'C1', '北医三院', 'P1', -250, -7500,
         'T1', 'f2.csv', 99, null)""",
    "circular_flows": """
        insert into marts.fct_sell_out values (date '2026-10-20', '2026-10', 'D3',
            'distributor', null, '国药北京', 'P1', 20, 600, null, 'f3.csv', 99, 'D1')""",
    "sell_out_without_sell_in": """
        insert into marts.fct_sell_out values (date '2026-10-20', '2026-10', 'D3', 'terminal',
            'C3', '昌平区医院', 'P2', 30, 600, 'T1', 'f3.csv', 99, null)""",
    "kpi_rates_out_of_bounds": """
        update marts.kpi_coverage set coverage_rate = 1.5 where month = '2026-08'""",
    # reconciliations (more cases in test_reconciliation_gates.py)
    "territory_credit": """
        update marts.fct_sell_out set territory_id = null
        where month = '2026-10' and distributor_code = 'D2'""",
    "achievement_reconciles": """
        update marts.kpi_target_achievement set actual_amount = 2 * actual_amount
        where month = '2026-09' and territory_id = 'RG1' and product_id = 'P1'""",
    "scorecard_reconciles": """
        update marts.scorecard_weekly set sell_out_amount = 0
        where week_start = date '2026-10-05'""",
    "facts_cover_raw_months": """
        delete from marts.fct_sell_out where month = '2026-10'""",
}


def test_every_business_gate_has_a_planted_case() -> None:
    sql_gates = {g.name for g in load_gates().gates if g.type in ("sql", "bounds")}
    assert sql_gates == set(PLANTED)


def test_clean_warehouse_passes_every_gate(warehouse) -> None:
    report = run_checks(warehouse, select=NON_GX, today=TODAY)
    bad = {r.name: r.message for r in report.results if r.status not in ("pass", "skipped")}
    assert bad == {}
    assert report.status == "passed" and report.exit_code == 0


@pytest.mark.parametrize("gate", sorted(PLANTED))
def test_gate_fires_on_planted_bad_data(warehouse, gate: str) -> None:
    execute(warehouse, PLANTED[gate])
    report = run_checks(warehouse, select=[gate], today=TODAY)
    (result,) = report.results
    assert result.status == "fail", result.message
    assert result.failing_rows >= 1
    assert result.sample, "a failing check keeps sample rows for the report"
    severity = next(g.severity for g in load_gates().gates if g.name == gate)
    assert report.exit_code == (1 if severity == "blocking" else 0)


def test_circular_flows_fall_back_to_the_matching_map(warehouse) -> None:
    """Without fct_sell_out.buyer_distributor_code the buyer distributor comes from matching."""
    execute(warehouse, """
        create table matching.customer_source_map as
        select 'flow' as source, 'D1' as distributor_code, '' as buyer_code,
               '昌平医药' as raw_name, 'D3' as buyer_distributor_code
        union all select 'flow', 'D3', '', '国药北京', 'D1';
        alter table marts.fct_sell_out drop column buyer_distributor_code;
        insert into marts.fct_sell_out values (date '2026-10-20', '2026-10', 'D3',
            'distributor', null, '国药北京', 'P1', 20, 600, null, 'f3.csv', 99);
    """)
    report = run_checks(warehouse, select=["circular_flows", "sell_out_without_sell_in"],
                        today=TODAY)
    status = {r.name: r.status for r in report.results}
    assert status == {"circular_flows": "fail", "sell_out_without_sell_in": "pass"}


def test_missing_mart_is_an_error_that_blocks(warehouse) -> None:
    execute(warehouse, "drop table marts.kpi_flow_completeness")
    report = run_checks(warehouse, select=["flow_completeness", "future_dates"], today=TODAY)
    result = report.results[0]
    assert result.status == "error"
    assert "marts.kpi_flow_completeness does not exist" in result.message
    assert "sfe build" in result.message
    assert report.exit_code == 1 and report.status == "failed"


def test_distributor_region_warns_naming_each_distributor_and_its_problem(warehouse) -> None:
    """D2's master says 西南 (no such region; its sales gave RG1); D3 has no region at all."""
    execute(warehouse, """
        update marts.dim_distributor set given_region = '西南', region_source = 'derived'
        where distributor_code = 'D2';
        update marts.dim_distributor set region_id = null, region_source = 'none'
        where distributor_code = 'D3';""")
    report = run_checks(warehouse, select=["distributor_region"], today=TODAY)
    (result,) = report.results
    assert (result.status, result.failing_rows, report.exit_code) == ("fail", 2, 0)
    assert "D2 (master region_id '西南' names no region; derived RG1)" in result.message
    assert "D3 (no region given and no sell-out credited to a region)" in result.message


def test_thresholds_come_from_settings(warehouse) -> None:
    """sfe.toml [thresholds] overrides the YAML default: 2 of 3 distributors is 0.67."""
    from dataclasses import replace

    execute(warehouse, """update marts.kpi_flow_completeness set received = false
                          where month = '2026-10' and distributor_code = 'D3'""")
    strict = run_checks(warehouse, select=["flow_completeness"], today=TODAY)
    lenient = replace(warehouse, thresholds=replace(warehouse.thresholds,
                                                    min_flow_completeness=0.5))
    relaxed = run_checks(lenient, select=["flow_completeness"], today=TODAY)
    assert strict.results[0].status == "fail"
    assert "D3" in strict.results[0].message
    assert relaxed.results[0].status == "pass"


FAILING_DBT_RESULTS = [
    {"unique_id": "model.sfe.fct_sell_out", "status": "success", "failures": None},
    {"unique_id": "test.sfe.unique_fct_sell_in_id", "status": "pass", "failures": 0},
    {"unique_id": "test.sfe.not_null_dim_customer_customer_id", "status": "fail",
     "failures": 3, "message": "Got 3 results, configured to fail if != 0"},
    {"unique_id": "test.sfe.accepted_values_x", "status": "warn", "failures": 2},
]


def test_dbt_failures_block(warehouse) -> None:
    record_dbt_build(warehouse, FAILING_DBT_RESULTS, build_id="bld-2", invocation_id="inv-2")
    report = run_checks(warehouse, select=["dbt_tests"], today=TODAY)
    (result,) = report.results
    assert result.status == "fail" and result.failing_rows == 3
    assert "not_null_dim_customer_customer_id" in result.message and "bld-2" in result.message
    assert report.exit_code == 1


def test_results_are_stored_with_a_report_and_trend(warehouse) -> None:
    run_checks(warehouse, select=NON_GX, today=TODAY, run_id="run-a")
    execute(warehouse, PLANTED["kpi_rates_out_of_bounds"])
    second = run_checks(warehouse, select=NON_GX, today=TODAY, run_id="run-b")
    con = duckdb.connect(str(warehouse.working_db), read_only=True)
    try:
        rows = con.execute("""select run_id, check_name, severity, status, failing_rows,
                                     message, sample, checked_at
                              from audit.gate_results where check_name = 'kpi_rates_out_of_bounds'
                              order by run_id""").fetchall()
        runs = con.execute("select run_id, status from audit.gate_runs order by run_id").fetchall()
    finally:
        con.close()
    assert [(r[0], r[3]) for r in rows] == [("run-a", "pass"), ("run-b", "fail")]
    sample = json.loads(rows[1][6])
    assert sample[0]["value"] == 1.5 and sample[0]["table_name"] == "marts.kpi_coverage"
    assert runs == [("run-a", "passed"), ("run-b", "failed")]
    html = (warehouse.reports_dir / "quality-run-b.html").read_text(encoding="utf-8")
    assert "kpi_rates_out_of_bounds" in html and "run-a" in html  # trend lists earlier runs
    assert (warehouse.reports_dir / "quality-latest.html").exists()
    payload = second.to_dict()
    check = next(c for c in payload["checks"] if c["name"] == "kpi_rates_out_of_bounds")
    assert set(check) >= {"name", "severity", "status", "failing_rows", "message"}
    assert payload["blocking_failures"] == ["kpi_rates_out_of_bounds"]
