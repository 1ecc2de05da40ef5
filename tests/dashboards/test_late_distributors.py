"""loads.late_distributors: rows of kpi_flow_completeness picked by the mart's flags."""

from __future__ import annotations

from dashboards.queries import loads


def test_late_distributors_of_one_month_say_late_or_missing(published):
    late = loads.late_distributors("2026-10").set_index("distributor_code")
    assert set(late.index) == {"D002", "D003"}
    assert late.loc["D002", "problem"] == "late 迟交"  # received 14 Nov, after the 10th
    assert late.loc["D003", "problem"] == "missing 未收到"


def test_late_distributors_of_all_months(published):
    late = loads.late_distributors()
    assert sorted(zip(late["month"], late["distributor_code"])) == [
        ("2026-10", "D002"), ("2026-10", "D003")]  # D001 was on time in September and October


def test_late_distributors_carry_the_distributors_name(published):
    """Sales ops call the distributor: the list gave only its code (D002), not 广州医药."""
    late = loads.late_distributors("2026-10").set_index("distributor_code")
    assert late.loc["D002", "distributor_name"] == "广州医药"
    assert late.loc["D003", "distributor_name"] == "南京医药"
