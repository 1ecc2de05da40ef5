"""data.late_distributors: rows of kpi_flow_completeness picked by the mart's flags."""

from __future__ import annotations

import duckdb

from dashboards import data


def test_late_distributors_never_lists_the_months_total_row(published):
    """kpi_flow_completeness carries a per-month total row (distributor 'ALL', is_total); it is
    no distributor, so it is never reported as late or missing."""
    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("alter table marts.kpi_flow_completeness add column is_total boolean default false")
    con.execute("insert into marts.kpi_flow_completeness values ('2026-10', 'ALL', true, false, "
                "null, false, 2000, 1850, 0.925, 4, true)")
    con.close()
    late = data.late_distributors("2026-10").set_index("distributor_code")
    assert set(late.index) == {"D002", "D003"}
    assert late.loc["D002", "problem"] == "late 迟交"  # received 14 Nov, after the 10th
    assert late.loc["D003", "problem"] == "missing 未收到"


def test_late_distributors_of_all_months(published):
    late = data.late_distributors()
    assert sorted(zip(late["month"], late["distributor_code"])) == [
        ("2026-10", "D002"), ("2026-10", "D003")]  # D001 was on time in September and October
