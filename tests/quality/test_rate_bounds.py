"""Rate bounds have one owner (config.meta.bounds beside the column in the marts' yml) and one
check (the gate kpi_rates_out_of_bounds); a value outside any declared bound blocks publish."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.definitions import GateDefinitionError, load_gates
from quality.gates import run_checks
from quality.rate_bounds import (BoundsDeclarationError, RateBound, declared_bounds,
                                 rates_without_bounds)
from tests.quality.conftest import TODAY, execute

GATE = "kpi_rates_out_of_bounds"
SHARE, NOT_NEGATIVE, OPEN = (0.0, 1.0), (0.0, None), (None, None)

# every rate of /work/shared/spec/kpis.md with the bound its definition implies (by hand):
# shares of a count are in [0, 1]; calls per reached HCP cannot be negative but exceed 1;
# ratios of amounts (achievement, ROI, expense, sell-in/sell-out, growth) may be negative
# after net returns and exceed 1
KPIS_MD_RATES = {
    "kpi_coverage.coverage_rate": SHARE,
    "kpi_call_activity.reach_rate": SHARE,
    "kpi_call_activity.frequency": NOT_NEGATIVE,
    "kpi_call_activity.plan_adherence": SHARE,
    "kpi_call_activity.report_on_time_rate": SHARE,
    "kpi_activity_roi.roi": OPEN,
    "kpi_expense_ratio.expense_ratio": OPEN,
    "kpi_target_achievement.achievement_rate": OPEN,
    "kpi_target_achievement.ytd_achievement_rate": OPEN,
    "kpi_flow_completeness.match_rate": SHARE,
    "kpi_flow_completeness_region.completeness_rate": SHARE,
    "kpi_flow_completeness_region.on_time_rate": SHARE,
    "kpi_flow_completeness_region.match_rate": SHARE,
    "kpi_tender.win_rate": SHARE,
    "kpi_sellin_sellout.ratio": OPEN,
    "scorecard_weekly.growth": OPEN,
    "scorecard_weekly.mtd_achievement_rate": OPEN,
    "scorecard_weekly.ytd_achievement_rate": OPEN,
    "scorecard_weekly.coverage_rate": SHARE,
    "scorecard_weekly.plan_adherence": SHARE,
    "scorecard_weekly.flow_completeness_rate": SHARE,
}

CHECKED = [b for b in declared_bounds() if b.checks_something]


def test_every_rate_column_of_the_marts_declares_its_bounds() -> None:
    assert rates_without_bounds() == []


def test_every_rate_of_kpis_md_has_the_bound_its_definition_implies() -> None:
    declared = {f"{b.table.removeprefix('marts.')}.{b.column}": (b.min, b.max)
                for b in declared_bounds()}
    assert {k: declared.get(k, "not declared") for k in KPIS_MD_RATES} == KPIS_MD_RATES


def test_a_rate_column_without_bounds_is_found(tmp_path: Path) -> None:
    (tmp_path / "_x__models.yml").write_text("""
version: 2
models:
- name: kpi_x
  columns:
  - name: month
  - name: cure_rate
    data_type: double
  - name: dose_ratio
    config: {meta: {bounds: [0, null]}}
""", encoding="utf-8")
    assert rates_without_bounds(tmp_path) == ["marts.kpi_x.cure_rate"]
    assert declared_bounds(tmp_path) == [
        RateBound("marts.kpi_x", "dose_ratio", 0.0, None, tmp_path / "_x__models.yml")]


@pytest.mark.parametrize("bounds", ["[1, 0]", "[0]", "'0-1'", "[0, 'one']"])
def test_a_malformed_declaration_names_file_model_and_column(tmp_path: Path, bounds: str) -> None:
    path = tmp_path / "_x__models.yml"
    path.write_text(f"models:\n- name: kpi_x\n  columns:\n  - name: cure_rate\n"
                    f"    config: {{meta: {{bounds: {bounds}}}}}\n", encoding="utf-8")
    with pytest.raises(BoundsDeclarationError) as err:
        declared_bounds(tmp_path)
    assert str(path) in str(err.value) and "kpi_x" in str(err.value)
    assert "cure_rate" in str(err.value)


def test_a_bounds_gate_listing_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gates.yml"
    path.write_text("""gates:
  - name: rates
    description: x
    severity: blocking
    type: bounds
    columns: [{table: marts.kpi_coverage, column: coverage_rate, min: 0, max: 1}]
""", encoding="utf-8")
    with pytest.raises(GateDefinitionError, match="declare a rate's bounds beside the column"):
        load_gates(path)


def _plant(warehouse, bound: RateBound, value: float) -> None:
    """One row with `value` in the bound's column; the mart (or column) is created when the
    small quality warehouse does not have it."""
    execute(warehouse, f"""
        create table if not exists {bound.table} ("{bound.column}" double);
        alter table {bound.table} add column if not exists "{bound.column}" double;
        insert into {bound.table} ("{bound.column}") values ({value!r});""")


def _outside(bound: RateBound) -> float:
    return bound.max + 0.25 if bound.max is not None else bound.min - 0.25


@pytest.mark.parametrize("bound", CHECKED, ids=[f"{b.table}.{b.column}" for b in CHECKED])
def test_a_value_outside_any_declared_bound_blocks_publish(warehouse, bound: RateBound) -> None:
    value = _outside(bound)  # 1.25 above a share, -0.25 below a frequency or score
    _plant(warehouse, bound, value)
    report = run_checks(warehouse, select=[GATE], today=TODAY)
    (result,) = report.results
    assert result.status == "fail", result.message
    assert [r.name for r in report.blocking_failures] == [GATE] and report.exit_code == 1
    assert [(r["table_name"], r["column_name"], r["value"]) for r in result.sample] == [
        (bound.table, bound.column, value)]
    assert f"{bound.table}.{bound.column}" in result.message


def test_values_on_and_inside_the_bounds_pass(warehouse) -> None:
    """A share of exactly 0 or 1 and a frequency of 7 calls per HCP are valid; NULL (no
    denominator) is not a violation."""
    execute(warehouse, """
        insert into marts.kpi_call_activity (reach_rate, frequency, plan_adherence)
        values (1.0, 7.0, 0.0), (null, null, null);
        create table marts.kpi_flow_completeness_region (completeness_rate double);
        insert into marts.kpi_flow_completeness_region values (0.0), (1.0);""")
    (result,) = run_checks(warehouse, select=[GATE], today=TODAY).results
    assert result.status == "pass", result.message


def test_a_share_a_few_ulps_past_its_bound_passes_and_a_real_overshoot_fails(warehouse) -> None:
    """`sfe demo` published nothing: kpi_customer_grade.share_above came out as
    1.0000000000000002 (a running share in floating point) and the gate called it out of
    [0, 1]. Rounding is not a wrong number; 1.000001 still is."""
    share_above = next(b for b in CHECKED if b.column == "share_above")
    _plant(warehouse, share_above, 1.0000000000000002)
    _plant(warehouse, share_above, -4e-16)
    (result,) = run_checks(warehouse, select=[GATE], today=TODAY).results
    assert result.status == "pass", result.message
    _plant(warehouse, share_above, 1.000001)
    (result,) = run_checks(warehouse, select=[GATE], today=TODAY).results
    assert result.status == "fail" and result.failing_rows == 1, result.message


def test_a_mart_not_built_yet_is_named_not_failed(warehouse) -> None:
    (result,) = run_checks(warehouse, select=[GATE], today=TODAY).results
    assert result.status == "pass"
    assert "not built yet, not checked" in result.message
    assert "marts.kpi_flow_completeness_region.completeness_rate" in result.message
