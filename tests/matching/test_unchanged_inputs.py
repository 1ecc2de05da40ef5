"""Matching is skipped when everything it reads is as the last successful match left it, and
runs again when any kind of input changed (issue 14: a no-op run spent 8 s of 17 matching)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ingestion import registry
from ingestion.ddl import ensure_tables
from ingestion.registry import Registration
from matching import inputs, pipeline
from matching.pipeline import run_matching
from matching.stewardship import record_decision
from sfe.config import Settings
from sfe.warehouse import connect


@pytest.fixture
def matched(warehouse: Settings, monkeypatch) -> list[int]:
    """The fixture warehouse with one registered flow file, matched once; the list counts the
    matches that actually ran from here on."""
    with connect(warehouse) as con:
        ensure_tables(con)
        _register(con, "flow/D01/2026-10.csv", "a" * 64)
    first = run_matching(warehouse, run_id="run-first")
    assert first.error is None and first.unchanged_since is None
    runs: list[int] = []
    real = pipeline._match_all

    def counted(*args, **kwargs):
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_match_all", counted)
    return runs


def _register(con, path: str, sha: str) -> None:
    reg = Registration(path, sha, "flow", "lines", "D01", dt.datetime(2026, 11, 1), "loaded",
                       "run-x", rows_read=1, rows_loaded=1)
    reg.file_id = registry.next_file_id(con)
    registry.insert(con, reg)


def test_unchanged_inputs_skip_matching_and_say_since_which_run(matched, warehouse) -> None:
    report = run_matching(warehouse, run_id="run-second")
    assert matched == []
    assert report.unchanged_since == "run-first"
    assert report.summary().startswith("matching: inputs unchanged since run run-first")
    # the skipped match stands on the last one's counts: 27 flow names, none lost
    assert sum(report.customer_status.values()) + report.distributor_buyers == 27
    assert run_matching(warehouse, run_id="run-third").unchanged_since == "run-first"


def test_a_new_file_means_matching_runs(matched, warehouse) -> None:
    with connect(warehouse) as con:
        _register(con, "flow/D01/2026-11.csv", "b" * 64)
        con.execute("insert into raw.flow__lines by name select 9 as file_id, 2 as source_row, "
                    "'D01' as distributor_code, '北京朝阳医院' as buyer_name")
    report = run_matching(warehouse)
    assert matched == [1] and report.unchanged_since is None
    assert run_matching(warehouse).unchanged_since is not None  # recorded again: skip


@pytest.mark.parametrize("edit", [
    "update audit.file_registry set status = 'superseded'",
    "delete from raw.flow__lines where buyer_name = '北医三院'",  # outside ingestion
    # same row count, one name changed
    "update raw.master__customers set name = '北京大学第三医院（北医三院）' "
    "where crm_customer_id = 'C001'",
], ids=["a_file_superseded_in_the_registry", "raw_rows_deleted_outside_ingestion",
        "a_master_edit"])
def test_an_edit_of_what_matching_reads_means_matching_runs(matched, warehouse, edit) -> None:
    with connect(warehouse) as con:
        con.execute(edit)
    run_matching(warehouse)
    assert matched == [1]


def test_a_steward_decision_means_matching_runs(matched, warehouse) -> None:
    record_decision(warehouse, "confirm", source="flow", distributor_code="D01",
                    raw_name="北医三院", buyer_code="B1", crm_customer_id="C001", who="ana")
    report = run_matching(warehouse)
    assert matched == [1] and report.decisions_applied == 1


def test_a_threshold_change_means_matching_runs(matched, warehouse) -> None:
    stricter = replace(warehouse, thresholds=replace(warehouse.thresholds, match_auto_score=0.99))
    run_matching(stricter)
    assert matched == [1]


def test_matchings_own_tables_edited_mean_matching_runs(matched, warehouse) -> None:
    with connect(warehouse) as con:
        con.execute("delete from matching.customer_ids")
    run_matching(warehouse)
    assert matched == [1]
    with connect(warehouse) as con:
        assert con.execute("select count(*) from matching.customer_ids").fetchone()[0] == 13


def test_a_changed_rule_of_the_code_means_matching_runs(matched, warehouse, monkeypatch) -> None:
    monkeypatch.setattr(inputs, "code_digest", lambda: "another release")
    run_matching(warehouse)
    assert matched == [1]


def test_a_failed_match_leaves_no_record_to_skip_on(matched, warehouse) -> None:
    with connect(warehouse) as con:
        con.execute("delete from raw.master__customers")
    assert run_matching(warehouse).error is not None
    assert not inputs.state_file(warehouse).exists()


def test_raw_rows_proven_unchanged_are_not_hashed(matched, warehouse, monkeypatch) -> None:
    """`sfe run` proves the raw rows unchanged (database untouched since its last run, nothing
    loaded): the 10 M-row hash is skipped; without that proof a same-count edit is seen."""
    hashed: list[int] = []
    real = inputs.raw_digest
    monkeypatch.setattr(inputs, "raw_digest", lambda con: hashed.append(1) or real(con))
    assert run_matching(warehouse, raw_unchanged=True).unchanged_since == "run-first"
    assert hashed == [] and matched == []
    with connect(warehouse) as con:  # same row count, one name changed
        con.execute("update raw.flow__lines set buyer_name = '北医三院门诊' "
                    "where buyer_name = '北医三院'")
    run_matching(warehouse)
    assert matched == [1] and hashed


def test_a_forced_build_matches_whatever_the_record_says(matched, warehouse) -> None:
    assert run_matching(warehouse, force=True).unchanged_since is None
    assert matched == [1]


def test_the_run_summary_says_matching_was_skipped_and_since_when() -> None:
    from orchestration.pipeline import step_note

    note = step_note("build", {"up_to_date": True, "matching": {"unchanged_since": "run-7"}})
    assert note == "matching: inputs unchanged since run run-7; up to date: nothing changed, dbt not run"
    assert step_note("build", {"up_to_date": False, "matching": {"unchanged_since": None}}) == ""


def test_the_match_of_a_run_records_no_raw_digest_and_its_proof_is_the_stat(
        matched, warehouse, monkeypatch) -> None:
    """`sfe run` (record_raw=False): the raw rows are not hashed at all; its next run, proving
    them unchanged by the files' stat, skips matching; without that proof (`sfe build` on its
    own) the raw rows cannot be told unchanged: matched once more, and recorded in full."""
    hashed: list[int] = []
    real = inputs.raw_digest
    monkeypatch.setattr(inputs, "raw_digest", lambda con: hashed.append(1) or real(con))
    with connect(warehouse) as con:
        _register(con, "flow/D01/2026-11.csv", "b" * 64)
    assert run_matching(warehouse, run_id="run-new", record_raw=False).unchanged_since is None
    assert matched == [1] and hashed == []
    assert run_matching(warehouse, raw_unchanged=True).unchanged_since == "run-new"
    assert matched == [1] and hashed == []
    assert run_matching(warehouse, run_id="run-build").unchanged_since is None
    assert matched == [1, 1] and hashed == [1]
    assert run_matching(warehouse).unchanged_since == "run-build"
    assert matched == [1, 1]
