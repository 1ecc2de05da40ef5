"""dashboards.status, dashboards.access (scope_clause) and the territory hierarchy."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from dashboards import access, status
from dashboards.queries import kpi_explorer, loads
from tests.dashboards.conftest import add_user
from tests.dashboards.snapshot_fixture import build_snapshot


def test_status_without_snapshot_says_run_sfe_run(settings):
    s = status.status(settings)
    assert s["available"] is False and "sfe run" in s["message"]


def test_status_reads_publish_info_and_gate_results(settings):
    build_snapshot(settings.published_db)
    s = status.status(settings)
    assert (s["snapshot_id"], s["as_of_month"], s["gate_status"]) == ("snap-20261102", "2026-10", "passed")
    assert s["refuse"] is False and s["blocking_failures"] == []


def test_status_refuses_on_failed_blocking_gate(settings):
    build_snapshot(settings.published_db, blocking_failure=True)
    s = status.status(settings)
    assert s["refuse"] is True and s["blocking_failures"] == ["customer_match_rate"]


def test_access_off_sees_everything(settings):
    build_snapshot(settings.published_db)
    assert access.scope_clause("territory_id", settings=settings) == ("true", [])


def test_access_on_limits_to_the_users_subtree(settings):
    build_snapshot(settings.published_db)
    settings = replace(settings, access_control=True)
    add_user(settings.data_dir, "li@corp.cn", "district_manager", ("R-S",), password=None)
    add_user(settings.data_dir, "boss", "executive", password=None)
    acc = access.access(settings, user="Li@Corp.cn")
    assert acc.restricted and set(acc.allowed) == {"R-S", "D-GZ", "T-GZ1"}
    assert not access.access(settings, user="boss").restricted
    # nobody is identified outside a session: restricted to nothing
    assert access.scope_clause("territory_id", settings=settings) == ("false", [])
    assert access.scope_clause("x", kind="global", settings=settings) == ("false", [])
    assert access.scope_clause("x", settings=settings, scoped=False) == ("true", [])


def test_region_flow_completeness_has_no_nation_row_for_a_user_who_sees_one_region(
        settings, monkeypatch):
    build_snapshot(settings.published_db)
    settings = replace(settings, access_control=True)
    add_user(settings.data_dir, "li", "district_manager", ("R-S",), password=None)
    li = access.access(settings, user="li")
    monkeypatch.setattr(access, "access", lambda settings=None, user=None: li)
    df = loads.flow_completeness_by_region("2026-10", settings)
    assert list(df["region_id"]) == ["R-S"]  # R-S's own row; a nation row would be all regions


def test_children_walk_the_hierarchy(settings):
    build_snapshot(settings.published_db)
    assert list(kpi_explorer.children(None, settings)["territory_id"]) == ["R-E", "R-S"]
    assert list(kpi_explorer.children("R-E", settings)["territory_id"]) == ["D-SH"]
    assert list(kpi_explorer.children("D-SH", settings)["territory_id"]) == ["T-SH1", "T-SH2"]
    assert kpi_explorer.children("T-SH1", settings).empty
    assert sorted(kpi_explorer.subtree("R-E", settings)) == ["D-SH", "R-E", "T-SH1", "T-SH2"]


def test_nation_flow_completeness_is_the_sums_of_the_regions_counts(settings):
    """September has one region row (R-E: 1 expected, 1 received, 1 on time, 950 of 1000 boxes
    matched), so the nation is that row's counts; August has no rows, so no nation row."""
    build_snapshot(settings.published_db)
    sept = loads.flow_completeness_by_region("2026-09", settings)
    assert list(sept["region_name"]) == ["华东大区 East", "全国 Nation"]
    nation = sept.iloc[-1]
    assert (nation["expected"], nation["received"], nation["on_time"]) == (1, 1, 1)
    assert (nation["completeness_rate"], nation["on_time_rate"]) == (1.0, 1.0)
    assert nation["match_rate"] == pytest.approx(0.95)
    assert loads.flow_completeness_by_region("2026-08", settings).empty


@pytest.mark.parametrize(("severity", "check_status", "refuse"), [
    ("blocking", "fail", True), ("blocking", "error", True), ("blocking", "pass", False),
    ("blocking", "skipped", False), ("warning", "fail", False), ("warning", "error", False)])
def test_a_check_withholds_the_numbers_as_the_quality_package_says(settings, severity,
                                                                  check_status, refuse):
    """Statuses and severities as quality writes them (checks.py, definitions.py): a blocking
    check that failed or could not run withholds the numbers; anything else does not."""
    build_snapshot(settings.published_db)
    con = duckdb.connect(str(settings.published_db))
    con.execute("update audit.gate_results set severity = ?, status = ? "
                "where run_id = 'run-2' and check_name = 'customer_match_rate'",
                [severity, check_status])
    con.close()
    s = status.status(settings)
    assert s["refuse"] is refuse
    assert s["blocking_failures"] == (["customer_match_rate"] if refuse else [])
