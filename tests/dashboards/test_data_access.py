"""dashboards.data: status, access control through scope_clause, territory hierarchy."""

from __future__ import annotations

from dataclasses import replace

from dashboards import data
from tests.dashboards.conftest import add_user
from tests.dashboards.snapshot_fixture import build_snapshot


def test_status_without_snapshot_says_run_sfe_run(settings):
    s = data.status(settings)
    assert s["available"] is False and "sfe run" in s["message"]


def test_status_reads_publish_info_and_gate_results(settings):
    build_snapshot(settings.published_db)
    s = data.status(settings)
    assert (s["snapshot_id"], s["as_of_month"], s["gate_status"]) == ("snap-20261102", "2026-10", "passed")
    assert s["refuse"] is False and s["blocking_failures"] == []


def test_status_refuses_on_failed_blocking_gate(settings):
    build_snapshot(settings.published_db, blocking_failure=True)
    s = data.status(settings)
    assert s["refuse"] is True and s["blocking_failures"] == ["customer_match_rate"]


def test_access_off_sees_everything(settings):
    build_snapshot(settings.published_db)
    assert data.scope_clause("territory_id", settings=settings) == ("true", [])


def test_access_on_limits_to_the_users_subtree(settings):
    build_snapshot(settings.published_db)
    settings = replace(settings, access_control=True)
    add_user(settings.data_dir, "li@corp.cn", "district_manager", ("R-S",), password=None)
    add_user(settings.data_dir, "boss", "executive", password=None)
    acc = data.access(settings, user="Li@Corp.cn")
    assert acc.restricted and set(acc.allowed) == {"R-S", "D-GZ", "T-GZ1"}
    assert not data.access(settings, user="boss").restricted
    # nobody is identified outside a session: restricted to nothing
    assert data.scope_clause("territory_id", settings=settings) == ("false", [])
    assert data.scope_clause("x", kind="global", settings=settings) == ("false", [])
    assert data.scope_clause("x", settings=settings, scoped=False) == ("true", [])


def test_region_flow_completeness_has_no_nation_row_for_a_user_who_sees_one_region(
        settings, monkeypatch):
    build_snapshot(settings.published_db)
    settings = replace(settings, access_control=True)
    add_user(settings.data_dir, "li", "district_manager", ("R-S",), password=None)
    li = data.access(settings, user="li")
    monkeypatch.setattr(data, "access", lambda settings=None, user=None: li)
    df = data.flow_completeness_by_region("2026-10", settings)
    assert list(df["region_id"]) == ["R-S"]  # R-S's own row; a nation row would be all regions


def test_children_walk_the_hierarchy(settings, monkeypatch):
    build_snapshot(settings.published_db)
    monkeypatch.setattr(data, "get_settings", lambda: settings)
    assert list(data.children(None)["territory_id"]) == ["R-E", "R-S"]
    assert list(data.children("R-E")["territory_id"]) == ["D-SH"]
    assert list(data.children("D-SH")["territory_id"]) == ["T-SH1", "T-SH2"]
    assert data.children("T-SH1").empty
    assert sorted(data.subtree("R-E")) == ["D-SH", "R-E", "T-SH1", "T-SH2"]
