"""A run with nothing new skips check and publish only when the published snapshot is the
checked state of exactly this data; any change means the full check (issue 14). "Same rules"
is judged by content (the gates and the effective thresholds), not by mtimes (issue 15)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
import yaml

from quality import definitions, store, unchanged
from quality.definitions import GATES_FILE, load_gates
from quality.gates import run_checks
from quality.publish import publish
from orchestration import pipeline
from sfe.config import load_settings
from sfe.gate_tables import GATE_RUNS_DDL, ensure_tables
from tests.quality.conftest import TODAY, execute
from tests.sfe.test_pipeline import FakeReport

CHEAP = ["future_dates", "kpi_rates_out_of_bounds", "flow_completeness"]
HOUR_AGO = time.time() - 3600  # older than any check a test runs: mtimes say "unchanged"


def _aged(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    return path


@pytest.fixture(autouse=True)
def cheap_gates(tmp_path, monkeypatch) -> Path:
    """The cheap gates of quality/gates.yml as the gates file `sfe run` reads: the checks below
    run exactly these, so unless a test changes something their rules are the current ones."""
    doc = yaml.safe_load(GATES_FILE.read_text(encoding="utf-8"))
    doc["gates"] = [g for g in doc["gates"] if g["name"] in CHEAP]
    path = _aged(tmp_path / "gates.yml", yaml.safe_dump(doc, allow_unicode=True))
    monkeypatch.setattr(unchanged, "GATES_FILE", path)
    return path


def check(settings, run_id=None, fingerprint=None):
    given = {"fingerprint": fingerprint} if fingerprint else {}  # as `sfe run` hands it on
    return run_checks(settings, gates=load_gates(unchanged.GATES_FILE), today=TODAY,
                      run_id=run_id, **given)


def checked_and_published(settings) -> str:
    assert check(settings, "run-1").status == "passed"
    report = publish(settings)
    assert report.outcome == "published"
    return report.snapshot_id


def test_the_published_check_of_this_data_is_nothing_new(warehouse) -> None:
    snapshot = checked_and_published(warehouse)
    same = unchanged.nothing_new(warehouse)
    assert same is not None
    assert (same.run_id, same.snapshot_id) == ("run-1", snapshot)
    assert same.exit_code == 0 and same.for_publish().to_dict()["snapshot"] is None


def test_a_changed_row_after_the_check_means_check_again(warehouse) -> None:
    checked_and_published(warehouse)
    execute(warehouse, "update marts.fct_sell_out set amount = amount + 1 "
                       "where rowid = (select min(rowid) from marts.fct_sell_out)")
    assert unchanged.nothing_new(warehouse) is None


def test_a_passed_check_not_yet_published_is_not_skipped(warehouse) -> None:
    checked_and_published(warehouse)
    check(warehouse, "run-2")  # passed, same data, but readers still have run-1's snapshot
    assert unchanged.nothing_new(warehouse) is None


def test_a_check_of_an_earlier_day_is_not_reused(warehouse) -> None:
    checked_and_published(warehouse)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert unchanged.nothing_new(warehouse, now=tomorrow) is None


def test_gates_edited_after_the_check_mean_check_again(warehouse, tmp_path,
                                                      monkeypatch) -> None:
    checked_and_published(warehouse)
    edited = tmp_path / "gates.yml"
    edited.write_text("gates: []\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(edited, (later, later))
    monkeypatch.setattr(unchanged, "GATES_FILE", edited)
    assert unchanged.nothing_new(warehouse) is None


def test_nothing_published_yet_is_not_nothing_new(warehouse) -> None:
    check(warehouse, "run-1")
    assert unchanged.nothing_new(warehouse) is None


@pytest.fixture
def real_check_and_publish(warehouse, monkeypatch) -> list[str]:
    """ingest and build as no-ops; check and publish the real ones (cheap gates)."""
    calls: list[str] = []

    def stage(step: str):
        def func(settings, *args, **kwargs):
            calls.append(step)
            if step == "check":
                return check(settings, kwargs["run_id"], kwargs.get("fingerprint"))
            if step == "publish":
                return publish(settings)
            return FakeReport()
        return func

    for step, name in {"ingest": "ingest_inbox", "build": "build_step", "check": "run_checks",
                       "publish": "publish"}.items():
        monkeypatch.setattr(pipeline, name, stage(step))
    return calls


def test_second_run_with_nothing_new_skips_check_and_publish(warehouse,
                                                             real_check_and_publish) -> None:
    first = pipeline.run_pipeline(warehouse)
    assert first.published_snapshot and first.gate_status == "passed"
    real_check_and_publish.clear()
    second = pipeline.run_pipeline(warehouse)
    assert real_check_and_publish == ["ingest", "build"]
    assert second.exit_code == 0 and second.gate_status == "passed"
    assert second.published_snapshot is None  # nothing newly published; readers keep `first`
    assert [s.name for s in second.run.steps] == ["ingest", "build", "check", "publish"]
    assert second.run.step("publish").detail["current_snapshot_id"] == first.published_snapshot
    assert second.headline().startswith("NOTHING NEW")


def test_a_change_between_runs_means_a_full_check_and_a_new_snapshot(
        warehouse, real_check_and_publish) -> None:
    first = pipeline.run_pipeline(warehouse)
    execute(warehouse, "delete from marts.fct_sell_in where rowid = "
                       "(select min(rowid) from marts.fct_sell_in)")
    real_check_and_publish.clear()
    second = pipeline.run_pipeline(warehouse)
    assert real_check_and_publish == ["ingest", "build", "check", "publish"]
    assert second.published_snapshot not in (None, first.published_snapshot)


def _stricter_config(tmp_path: Path, settings) -> Path:
    """A config file asking every distributor's flow (completeness above 100 % fails the
    clean warehouse's flow_completeness gate), dated before the check."""
    return _aged(tmp_path / "other.toml", f"data_dir = '{settings.data_dir}'\n"
                 "[thresholds]\nmin_flow_completeness = 1.01\n")


def test_identical_settings_and_gates_still_take_the_no_op_path(warehouse) -> None:
    checked_and_published(warehouse)
    same = replace(warehouse, thresholds=replace(warehouse.thresholds))  # equal, not identical
    assert unchanged.nothing_new(same) is not None


def test_a_threshold_changed_in_the_settings_means_check_again(warehouse) -> None:
    checked_and_published(warehouse)
    stricter = replace(warehouse, thresholds=replace(warehouse.thresholds,
                                                     min_flow_completeness=0.95))
    assert unchanged.nothing_new(stricter) is None
    assert unchanged.nothing_new(warehouse) is not None  # the settings it ran with: no-op


def test_a_threshold_changed_through_sfe_config_in_the_environment_means_check_again(
        warehouse, tmp_path, monkeypatch) -> None:
    checked_and_published(warehouse)
    monkeypatch.setenv("SFE_CONFIG", str(_stricter_config(tmp_path, warehouse)))
    from_env = load_settings(env={})  # SFE_CONFIG names the file, as in a shell
    assert from_env.thresholds.min_flow_completeness == 1.01
    assert unchanged.nothing_new(from_env) is None


def test_a_run_with_another_config_file_checks_again_and_its_gates_apply(
        warehouse, tmp_path, real_check_and_publish) -> None:
    """`sfe run --config other.toml`: the settings the CLI loads from that file; the re-check
    applies its stricter threshold, so nothing is published and readers keep the first."""
    first = pipeline.run_pipeline(warehouse)
    assert first.published_snapshot
    other = load_settings(_stricter_config(tmp_path, warehouse), env={})
    real_check_and_publish.clear()
    second = pipeline.run_pipeline(other)
    assert real_check_and_publish == ["ingest", "build", "check", "publish"]
    assert second.gate_status == "failed" and second.published_snapshot is None
    assert second.run.step("check").detail["blocking_failures"] == ["flow_completeness"]


def test_gates_edited_with_an_old_mtime_mean_check_again(warehouse, cheap_gates) -> None:
    checked_and_published(warehouse)
    text = cheap_gates.read_text(encoding="utf-8")
    assert "completeness_months: 1\n" in text  # a default no setting overrides
    _aged(cheap_gates, text.replace("completeness_months: 1\n", "completeness_months: 2\n"))
    assert unchanged.nothing_new(warehouse) is None


def test_a_rate_bound_edited_in_a_marts_yml_means_check_again(warehouse, monkeypatch) -> None:
    """Rate bounds live beside their columns (quality/rate_bounds.py), not in gates.yml."""
    checked_and_published(warehouse)
    bounds = definitions.declared_bounds()
    coverage = next(b for b in bounds if b.column == "coverage_rate")
    widened = [replace(b, max=2.0) if b is coverage else b for b in bounds]
    monkeypatch.setattr(definitions, "declared_bounds", lambda: widened)
    assert unchanged.nothing_new(warehouse) is None


def test_a_gate_run_recorded_before_the_rules_digest_means_check_again(warehouse) -> None:
    checked_and_published(warehouse)
    execute(warehouse, "update audit.gate_runs set rules_digest = null")
    assert unchanged.nothing_new(warehouse) is None


def test_an_old_warehouse_gets_the_rules_digest_column(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        con.execute("create schema audit")
        con.execute(GATE_RUNS_DDL)  # as the first release created it
        con.execute("insert into audit.gate_runs (run_id, status) values ('old-1', 'passed')")
        ensure_tables(con)
        assert con.execute("select run_id, rules_digest from audit.gate_runs").fetchall() == [
            ("old-1", None)]
    finally:
        con.close()


def test_data_changed_by_hand_is_told_by_content_and_the_check_keeps_that_fingerprint(
        warehouse, real_check_and_publish, monkeypatch) -> None:
    """Edited with duckdb between runs: the data now and the checked data (its candidate copy:
    the first check deferred its fingerprint) are hashed to tell "nothing new", once each; the
    check records the one taken, and publish's guard that the data did not change since the
    check reads the stamp the check left, the files untouched since (a write between them:
    tests/quality/test_publish.py)."""
    pipeline.run_pipeline(warehouse)
    execute(warehouse, "delete from marts.fct_sell_in where rowid = "
                       "(select min(rowid) from marts.fct_sell_in)")
    taken: list[str] = []
    real = store.fingerprint

    def counted(con):
        taken.append("fingerprint")
        return real(con)

    monkeypatch.setattr(store, "fingerprint", counted)
    second = pipeline.run_pipeline(warehouse)
    assert second.published_snapshot  # the stamp the check left agreed with its run
    assert len(taken) == 2
    con = duckdb.connect(str(warehouse.working_db), read_only=True)
    try:
        recorded = con.execute("select fingerprint from audit.gate_runs where run_id = ?",
                               [second.run.run_id]).fetchone()[0]
        assert recorded == real(con)
    finally:
        con.close()
