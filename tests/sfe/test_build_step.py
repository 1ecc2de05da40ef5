"""`sfe build` = matching, then the dbt stage, called in that order by orchestration/build.py
(issue 15: transform/ no longer loads matching by name)."""

from __future__ import annotations

import duckdb
import pytest

from orchestration import build as build_step_module
from sfe.report import UsageError
from transform import build as transform_build


class FakeMatch:
    def __init__(self, payload: dict) -> None:
        self.payload = payload

    def to_dict(self) -> dict:
        return self.payload


def _fakes(monkeypatch, matching: dict) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(build_step_module, "run_matching",
                        lambda settings, console=None, **kwargs: calls.append("matching") or FakeMatch(matching))
    def run_dbt(settings, *args, **kwargs) -> None:  # as dbt does: its target folder exists after
        calls.append("dbt")
        settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(transform_build, "run_dbt", run_dbt)
    return calls


def _warehouse(settings) -> None:
    settings.ensure_dirs()
    duckdb.connect(str(settings.working_db)).close()


def test_without_a_warehouse_it_says_run_ingest_before_matching(settings, monkeypatch) -> None:
    calls = _fakes(monkeypatch, {})
    with pytest.raises(UsageError, match="run 'sfe ingest' first"):
        build_step_module.build_step(settings)
    assert calls == []


def test_failed_matching_stops_before_dbt_and_is_reported(settings, monkeypatch) -> None:
    _warehouse(settings)
    calls = _fakes(monkeypatch, {"error": "no customer master"})
    report = build_step_module.build_step(settings)
    assert calls == ["matching"]
    assert report.error == "matching failed, dbt not run: no customer master"
    assert report.matching == {"error": "no customer master"}
    assert report.exit_code == 1


def test_matching_then_dbt_and_the_build_is_recorded_under_the_run_id(settings, monkeypatch) -> None:
    _warehouse(settings)
    calls = _fakes(monkeypatch, {"matched": 3})
    report = build_step_module.build_step(settings, run_id="run-20260101T000000-abcdef")
    assert calls == ["matching", "dbt"]
    assert report.matching == {"matched": 3}
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        rows = con.execute("select build_id from audit.dbt_builds").fetchall()
    finally:
        con.close()
    assert rows == [("run-20260101T000000-abcdef",)]


def test_a_build_on_its_own_gets_its_own_id(settings, monkeypatch) -> None:
    _warehouse(settings)
    _fakes(monkeypatch, {})
    report = build_step_module.build_step(settings)
    assert report.build_id is not None and report.build_id.startswith("bld-")
