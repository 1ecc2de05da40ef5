"""The run orchestration: step order, stop on failure, audit.runs, exit codes."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass

import duckdb
import pytest

from orchestration import pipeline
from orchestration.status import status


@dataclass
class FakeReport:
    exit_code: int = 0
    payload: dict | None = None

    def to_dict(self) -> dict:
        return self.payload or {}

    def summary(self) -> str:
        return ""


STAGE_FUNCTIONS = {"ingest": "ingest_inbox", "build": "build_step", "check": "run_checks",
                   "publish": "publish"}


def _fake_stages(monkeypatch, calls: list[str], outcomes: dict[str, object],
                 run_ids: dict[str, str | None] | None = None) -> None:
    def stage(step: str):
        def func(*args, **kwargs):
            calls.append(step)
            if run_ids is not None:
                run_ids[step] = kwargs.get("run_id")
            outcome = outcomes.get(step, FakeReport())
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return func
    for step, name in STAGE_FUNCTIONS.items():
        monkeypatch.setattr(pipeline, name, stage(step))


def test_every_step_gets_the_run_id(settings, monkeypatch) -> None:
    """One id per run (issue 15): ingestion's registry rows, the dbt build record and the gate
    run carry the id audit.runs has; publish records the gate run's, which is the same."""
    run_ids: dict[str, str | None] = {}
    _fake_stages(monkeypatch, [], {}, run_ids)
    report = pipeline.run_pipeline(settings)
    assert report.run.run_id.startswith("run-")
    assert run_ids == {"ingest": report.run.run_id, "build": report.run.run_id,
                       "check": report.run.run_id, "publish": None}


def test_steps_run_in_order_and_run_is_recorded(settings, monkeypatch) -> None:
    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {"publish": FakeReport(payload={"snapshot": "snap-1"})})
    report = pipeline.run_pipeline(settings)
    assert calls == ["ingest", "build", "check", "publish"]
    assert report.exit_code == 0
    assert (report.gate_status, report.published_snapshot) == ("passed", "snap-1")
    con = duckdb.connect(str(settings.working_db), read_only=True)
    row = con.execute("select status, gate_status, published_snapshot, json_array_length(steps) "
                      "from audit.runs").fetchone()
    con.close()
    assert row == ("ok", "passed", "snap-1", 4)


def test_a_failing_step_stops_the_run_and_names_the_error(settings, monkeypatch) -> None:
    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {"build": RuntimeError("dbt could not parse model x")})
    report = pipeline.run_pipeline(settings)
    assert calls == ["ingest", "build"]
    assert report.exit_code == 1
    assert report.stopped_at == "build"
    assert "dbt could not parse model x" in report.summary()
    assert report.gate_status == "not_run"


def test_gate_failure_is_needs_attention_not_crash(settings, monkeypatch) -> None:
    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {"check": FakeReport(exit_code=1)})
    report = pipeline.run_pipeline(settings)
    assert calls == ["ingest", "build", "check", "publish"]
    assert (report.exit_code, report.gate_status) == (1, "failed")
    assert report.to_dict()["status"] == "needs_attention"


def test_status_shows_last_run(settings, monkeypatch) -> None:
    _fake_stages(monkeypatch, [], {})
    run = pipeline.run_pipeline(settings, command="run")
    data = status(settings).to_dict()
    assert data["last_run"]["run_id"] == run.run.run_id
    assert [s["name"] for s in data["last_run"]["steps"]] == list(pipeline.STEPS)
    assert data["gate_status"] == "passed"


def test_summary_says_why_a_step_needs_attention(settings, monkeypatch) -> None:
    ingest = FakeReport(exit_code=1, payload={"totals": {
        "files": 4, "by_status": {"loaded": 3, "rejected": 1, "partial": 0},
        "rows_loaded": 1200, "rows_quarantined": 0}})
    check = FakeReport(exit_code=1, payload={"blocking_failures": ["flow_completeness"],
                                             "warnings": [], "report": "q.html"})
    _fake_stages(monkeypatch, [], {"ingest": ingest, "check": check})
    text = pipeline.run_pipeline(settings).summary()
    assert "4 files (loaded 3, rejected 1); 1,200 rows loaded" in text
    assert "blocking: flow_completeness" in text


def _runs(settings) -> list[tuple]:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    rows = con.execute("select command, status, gate_status, published_snapshot, "
                       "steps::varchar from audit.runs").fetchall()
    con.close()
    return rows


def test_a_run_stopped_by_a_signal_is_recorded_as_stopped_at_its_step(settings, monkeypatch):
    from sfe.signals import Stopped

    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {"check": Stopped(signal.SIGTERM)})
    with pytest.raises(Stopped) as caught:  # the stop goes on up: the command ends as stopped
        pipeline.run_pipeline(settings)
    assert caught.value.signum == signal.SIGTERM
    assert calls == ["ingest", "build", "check"]  # publish never started
    [(command, status, gates, published, steps)] = _runs(settings)
    assert (command, status, gates, published) == ("run", "stopped", "not_run", None)
    steps = {s["name"]: (s["status"], s["exit_code"], s["error"]) for s in json.loads(steps)}
    assert steps == {"ingest": ("ok", 0, None), "build": ("ok", 0, None),
                     "check": ("stopped", 143, "stopped by SIGTERM")}


def test_a_signal_duckdb_turned_into_query_interrupted_is_a_stopped_run(settings, monkeypatch):
    """No StopHandler here (as under a plain Ctrl-C): DuckDB's 'Query interrupted' is SIGINT."""
    from sfe.signals import Stopped

    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {"build": RuntimeError("Query interrupted")})
    with pytest.raises(Stopped):
        pipeline.run_pipeline(settings, steps=pipeline.WAREHOUSE_STEPS)
    [(_, status, _, _, steps)] = _runs(settings)
    assert status == "stopped"
    assert [(s["name"], s["status"], s["error"]) for s in json.loads(steps)] == [
        ("build", "stopped", "stopped by SIGINT")]


def test_run_pipeline_waits_for_the_writer_lock_and_gives_up_naming_the_holder(
        settings, monkeypatch):
    """The DAG's warehouse task and `sfe run` both come here: a run that cannot get the lock
    starts no step and writes nothing."""
    from dataclasses import replace

    from sfe.warehouse import WarehouseBusy
    from tests.sfe.test_writer_lock import holding_lock

    calls: list[str] = []
    _fake_stages(monkeypatch, calls, {})
    with holding_lock(settings.data_dir, "sfe ingest") as pid:
        with pytest.raises(WarehouseBusy, match=rf"being written by 'sfe ingest' \(pid {pid},"):
            pipeline.run_pipeline(replace(settings, lock_wait_s=0.3), command="dag:sfe_warehouse",
                                  steps=pipeline.WAREHOUSE_STEPS)
    assert calls == []

