"""A run with nothing new skips check and publish only when the published snapshot is the
checked state of exactly this data; any change means the full check (issue 14)."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from quality import unchanged
from quality.gates import run_checks
from quality.publish import publish
from orchestration import pipeline
from tests.quality.conftest import TODAY, execute
from tests.sfe.test_pipeline import FakeReport

CHEAP = ["future_dates", "kpi_rates_out_of_bounds", "flow_completeness"]


def check(settings, run_id=None):
    return run_checks(settings, select=CHEAP, today=TODAY, run_id=run_id)


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
                return run_checks(settings, select=CHEAP, today=TODAY, run_id=kwargs["run_id"])
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
