"""The run summary starts with one line a person reads in five seconds."""

from __future__ import annotations

from orchestration import pipeline
from tests.sfe.test_pipeline import FakeReport, _fake_stages

PUBLISHED = FakeReport(payload={"outcome": "published", "snapshot": "snap-7",
                                "current_snapshot_id": "snap-7"})


def _first_line(settings, monkeypatch, outcomes: dict) -> str:
    _fake_stages(monkeypatch, [], outcomes)
    return pipeline.run_pipeline(settings).summary().splitlines()[0]


def test_published_run_with_warnings_and_rejected_files_says_so_first(settings, monkeypatch):
    ingest = FakeReport(exit_code=1, payload={"totals": {"files": 5, "by_status": {
        "loaded": 3, "rejected": 1, "partial": 1, "duplicate": 0}}})
    check = FakeReport(payload={"blocking_failures": [], "report": "q.html",
                                "warnings": ["inventory_variance", "call_plan_gaps"]})
    line = _first_line(settings, monkeypatch,
                       {"ingest": ingest, "check": check, "publish": PUBLISHED})
    assert line == ("PUBLISHED snap-7: gates passed; 2 warning(s): inventory_variance, "
                    "call_plan_gaps; files for a person: 1 rejected, 1 partial (Loads page)")


def test_acknowledged_rejected_files_are_not_files_for_a_person(settings, monkeypatch):
    ingest = FakeReport(payload={"totals": {"files": 12, "acknowledged": 2, "by_status": {
        "loaded": 9, "rejected": 3}}})
    line = _first_line(settings, monkeypatch, {"ingest": ingest, "publish": PUBLISHED})
    assert line.endswith("files for a person: 1 rejected (Loads page); "
                         "2 rejected file(s) set aside by a person")
    ingest = FakeReport(payload={"totals": {"files": 3, "acknowledged": 1, "by_status": {
        "loaded": 2, "rejected": 1}}})
    line = _first_line(settings, monkeypatch, {"ingest": ingest, "publish": PUBLISHED})
    assert "for a person" not in line and line.endswith("1 rejected file(s) set aside by a person")


def test_blocked_run_names_the_blocking_gates_and_what_readers_keep(settings, monkeypatch):
    check = FakeReport(exit_code=1, payload={"blocking_failures": ["flow_completeness"],
                                             "warnings": []})
    publish = FakeReport(exit_code=1, payload={"outcome": "refused", "reason": "gates failed",
                                               "current_snapshot_id": "snap-6"})
    line = _first_line(settings, monkeypatch, {"check": check, "publish": publish})
    assert line == ("NOT PUBLISHED: blocking gate(s) failed: flow_completeness; "
                    "readers keep snap-6")


def test_a_failed_step_is_the_headline(settings, monkeypatch):
    line = _first_line(settings, monkeypatch, {"build": RuntimeError("dbt could not parse x")})
    assert line == ("NOT PUBLISHED: build failed (RuntimeError: dbt could not parse x); "
                    "the last good snapshot stays")
