"""The reconciliation gates: each recomputes a total from the facts and compares it with what a
mart reports, so a silent zero or a double count anywhere in raw → facts → KPIs → scorecard
fails one of them. The clean warehouse (conftest.py) adds up: every month T1 (region RG1) is
credited P1 7500 and P2 4000 (11500), all on the 10th; each case below breaks one link.
"""

from __future__ import annotations

import pytest

from quality.gates import run_checks
from tests.quality.conftest import TODAY, execute

GATES = ["territory_credit", "achievement_reconciles", "scorecard_reconciles",
         "facts_cover_raw_months"]

# an own product sold to a matched terminal customer in October, credited to no territory
UNCREDITED_OCTOBER = """
    insert into marts.fct_sell_out values (date '2026-10-12', '2026-10', 'D1', 'terminal',
        'C7', '通州医院', 'P1', 5, {amount}, null, 'f1.csv', 97, null)"""


def _gate(warehouse, gate: str):
    (result,) = run_checks(warehouse, select=[gate], today=TODAY).results
    return result


def test_the_clean_warehouse_reconciles(warehouse) -> None:
    report = run_checks(warehouse, select=GATES, today=TODAY)
    assert {r.name: r.status for r in report.results} == dict.fromkeys(GATES, "pass")


# ------------------------------------------------------------------ territory_credit

def test_territory_credit_fails_when_every_sale_is_credited_nowhere(warehouse) -> None:
    """The field report: lines named CV/代谢 resolved to nothing, territory_id NULL everywhere."""
    execute(warehouse, "update marts.fct_sell_out set territory_id = null")
    result = _gate(warehouse, "territory_credit")
    assert result.status == "fail" and result.failing_rows == 6  # every month
    assert "2026-05 (1" in result.message and "11500" in result.message


def test_territory_credit_threshold_is_one_percent_of_the_month(warehouse) -> None:
    execute(warehouse, UNCREDITED_OCTOBER.format(amount=100))  # 100 / 11600 = 0.86 %
    assert _gate(warehouse, "territory_credit").status == "pass"
    execute(warehouse, UNCREDITED_OCTOBER.format(amount=100).replace("97", "98"))  # 1.7 %
    result = _gate(warehouse, "territory_credit")
    assert result.status == "fail"
    assert result.sample[0]["month"] == "2026-10"
    assert float(result.sample[0]["uncredited_share"]) == pytest.approx(200 / 11700, abs=1e-4)


def test_territory_credit_names_the_unresolved_line_and_the_top_customers(warehouse) -> None:
    execute(warehouse, UNCREDITED_OCTOBER.format(amount=900) + """;
        insert into marts.bridge_customer_territory values
            ('C7', 'T1', '降压', date '2026-01-01', null, 0);
        insert into marts.fct_sell_out_uncredited values (date '2026-10-12', '2026-10', 'D1',
            'C7', '通州医院', 'P1', 'CV', 5, 900, 'f1.csv', 97, '1--97',
            'line_names_no_product', '降压', '降压')""")
    result = _gate(warehouse, "territory_credit")
    assert result.status == "fail"
    assert "降压" in result.message
    assert "C7 通州医院 900" in result.message and "line_names_no_product" in result.message
    assert "customer_alignment.csv" in result.message


def test_territory_credit_ignores_distributor_unmatched_and_competitor_sales(warehouse) -> None:
    execute(warehouse, """
        insert into marts.dim_product values ('X1', '竞品', 'Rival', '1g', 10, false);
        insert into marts.fct_sell_out values
        (date '2026-10-12', '2026-10', 'D1', 'terminal', null, '某诊所', 'P1', 50, 5000, null, 'f1.csv', 95, null),
        (date '2026-10-12', '2026-10', 'D1', 'terminal', 'C1', '北医三院', 'X1', 50, 5000, null, 'f1.csv', 96, null)""")
    assert _gate(warehouse, "territory_credit").status == "pass"


# ------------------------------------------------------------------ achievement_reconciles

@pytest.mark.parametrize(("case", "sql", "where"), [
    ("leaf double counted",
     "update marts.kpi_target_achievement set actual_amount = 15000 "
     "where month = '2026-08' and territory_id = 'T1' and product_id = 'P1'",
     ("2026-08", "P1", "(every leaf territory)")),
    ("parent double counted",
     "update marts.kpi_target_achievement set actual_amount = 8000 "
     "where month = '2026-09' and territory_id = 'RG1' and product_id = 'P2'",
     ("2026-09", "P2", "RG1")),
    ("silent zero",
     "update marts.kpi_target_achievement set actual_amount = 0",
     ("2026-05", "P1", "(every leaf territory)")),
    ("row missing",
     "delete from marts.kpi_target_achievement "
     "where month = '2026-07' and territory_id = 'T1' and product_id = 'P2'",
     ("2026-07", "P2", "(every leaf territory)")),
    ("credited to a territory the hierarchy does not know",
     # as a build would: T9 has no row in the KPI, so T1 lost D3's 1500 and nobody has it
     "update marts.fct_sell_out set territory_id = 'T9' where month = '2026-06' "
     "and distributor_code = 'D3'; update marts.kpi_target_achievement set actual_amount = 6000 "
     "where month = '2026-06' and territory_id in ('T1', 'RG1') and product_id = 'P1'",
     ("2026-06", "P1", "(every leaf territory)")),
    ("one fen off",
     "update marts.kpi_target_achievement set actual_amount = 7500.01 "
     "where month = '2026-10' and product_id = 'P1'",
     ("2026-10", "P1", "(every leaf territory)")),
])
def test_achievement_reconciles_fails_when_actuals_do_not_add_up(warehouse, case, sql, where):
    execute(warehouse, sql)
    result = _gate(warehouse, "achievement_reconciles")
    assert result.status == "fail", case
    first = result.sample[0]
    assert (first["month"], first["product_id"], first["territory_id"]) == where, case
    assert where[0] in result.message


# ------------------------------------------------------------------ scorecard_reconciles

@pytest.mark.parametrize(("case", "sql"), [
    ("double counted", "update marts.scorecard_weekly set sell_out_amount = 23000 "
                       "where week_start = date '2026-08-10'"),
    ("silent zero", "update marts.scorecard_weekly set sell_out_amount = 0"),
    ("week missing", "delete from marts.scorecard_weekly where week_start = date '2026-06-08'"),
    ("sale in a week the scorecard does not have",
     "insert into marts.fct_sell_out values (date '2026-10-20', '2026-10', 'D1', 'terminal', "
     "'C1', '北医三院', 'P1', 1, 30, 'T1', 'f1.csv', 99, null)"),
])
def test_scorecard_reconciles_fails_when_region_totals_differ_from_facts(warehouse, case, sql):
    execute(warehouse, sql)
    result = _gate(warehouse, "scorecard_reconciles")
    assert result.status == "fail", case
    assert "RG1" in result.message


def test_scorecard_reconciles_names_region_week_and_both_amounts(warehouse) -> None:
    execute(warehouse, "update marts.scorecard_weekly set sell_out_amount = 23000 "
                       "where week_start = date '2026-08-10'")
    result = _gate(warehouse, "scorecard_reconciles")
    assert result.failing_rows == 1
    assert "RG1 week 2026-08-10: scorecard 23000" in result.message
    assert "facts 11500" in result.message


# ------------------------------------------------------------------ facts_cover_raw_months

def test_facts_cover_raw_months_fails_for_a_month_with_flow_but_no_facts(warehouse) -> None:
    execute(warehouse, "delete from marts.fct_sell_out where month = '2026-07'")
    result = _gate(warehouse, "facts_cover_raw_months")
    assert result.status == "fail" and result.failing_rows == 1
    assert "2026-07 (flow in raw, no facts: 1 raw rows from D1" in result.message


def test_facts_cover_raw_months_fails_for_facts_left_without_raw_flow(warehouse) -> None:
    """A replaced file's month lingering in the facts (issue 11, case 4)."""
    execute(warehouse, "delete from raw.flow__lines where sale_date = date '2026-06-10'")
    result = _gate(warehouse, "facts_cover_raw_months")
    assert result.status == "fail"
    assert "2026-06 (facts without raw flow" in result.message


def test_facts_cover_raw_months_ignores_rows_of_superseded_files(warehouse) -> None:
    execute(warehouse, """
        insert into audit.file_registry values (2, 'flow/D1/old.csv', 'superseded');
        insert into raw.flow__lines (file_id, source_row, distributor_code, sale_date, buyer_name,
            product_name, quantity, unit, doc_type)
        values (2, 2, 'D1', date '2026-04-03', '北医三院', '阿莫西林', 10, 'box', 'sale')""")
    assert _gate(warehouse, "facts_cover_raw_months").status == "pass"
    execute(warehouse, "update audit.file_registry set status = 'loaded' where file_id = 2")
    result = _gate(warehouse, "facts_cover_raw_months")
    assert result.status == "fail" and "2026-04" in result.message
