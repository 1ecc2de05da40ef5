"""The parts of the dbt stage that need no dbt run (issue 15 split transform/build.py): the
progress callback, how dbt's node results are counted, and the build state files."""

from __future__ import annotations

import io
from types import SimpleNamespace

from sfe.console import Console
from transform import build_state
from transform.dbt_runner import _count_results
from transform.progress import Progress
from transform.report import BuildReport


def _event(name: str, **data) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(name=name), data=SimpleNamespace(**data))


def _finished(node: str, status: str) -> SimpleNamespace:
    return _event("NodeFinished", node_info=SimpleNamespace(node_name=node, node_status=status))


def test_progress_says_every_tenth_of_the_nodes_and_each_failure() -> None:
    out = io.StringIO()
    progress = Progress(Console(stream=out))
    progress(_event("LogStartLine", total=4))
    for node, status in (("m1", "success"), ("m2", "error"), ("t3", "pass"), ("t4", "fail")):
        progress(_finished(node, status))
    # shares 0.25, 0.5, 0.75, 1.0: each at least 0.1 past the last report, so each is said
    assert out.getvalue().splitlines() == [
        "    dbt: 1/4 nodes done, 0 failed",
        "    error: m2",
        "    dbt: 2/4 nodes done, 1 failed",
        "    dbt: 3/4 nodes done, 1 failed",
        "    fail: t4",
        "    dbt: 4/4 nodes done, 2 failed"]


def _result(name: str, kind: str, status: str, message: str | None = None) -> SimpleNamespace:
    node = SimpleNamespace(name=name, unique_id=f"x.{name}",
                           resource_type=SimpleNamespace(value=kind))
    return SimpleNamespace(node=node, status=SimpleNamespace(value=status), message=message)


def test_node_results_are_counted_by_kind_and_status_and_failures_named() -> None:
    report = BuildReport()
    _count_results([_result("dim_a", "model", "success"), _result("seed_b", "seed", "success"),
                    _result("fct_c", "model", "error", "Binder Error:\n  column x\n"),  # lines joined
                    _result("not_null_a", "test", "pass"), _result("ut_c", "unit_test", "fail"),
                    _result("unique_a", "test", "warn")], report)
    assert report.models == {"success": 2, "error": 1}
    assert report.tests == {"pass": 1, "fail": 1, "warn": 1}
    assert [(f.name, f.resource_type, f.status, f.message) for f in report.failures] == [
        ("fct_c", "model", "error", "Binder Error:   column x"), ("ut_c", "unit_test", "fail", "fail")]
    assert report.exit_code == 1


def test_a_full_rebuild_unless_the_last_successful_builds_inputs_are_the_same(settings) -> None:
    settings.dbt_target_dir.mkdir(parents=True)
    inputs = {"customer_map": "(3, 12)", "master": "(datetime.date(2026, 10, 1),)"}
    assert build_state.needs_full_rebuild(settings, None)  # unknown inputs
    assert build_state.needs_full_rebuild(settings, inputs)  # no earlier build
    build_state.record_success(settings, inputs, None, None, None, None)
    assert not build_state.needs_full_rebuild(settings, dict(inputs))
    assert build_state.needs_full_rebuild(settings, {**inputs, "master": "(datetime.date(2026, "
                                                                         "11, 1),)"})


def test_up_to_date_only_with_dbt_results_and_the_same_state(settings) -> None:
    settings.dbt_target_dir.mkdir(parents=True)
    state = {"inputs": {"master": "x"}, "files": "(2, 7)", "project": "abc", "vars": {},
             "engine": "duckdb"}
    build_state.record_success(settings, state["inputs"], state, "key", {}, None)
    assert not build_state.up_to_date(settings, state)  # no run_results.json: dbt never finished
    (settings.dbt_target_dir / "target").mkdir()
    (settings.dbt_target_dir / "target" / "run_results.json").write_text("{}", encoding="utf-8")
    assert build_state.up_to_date(settings, dict(state))
    assert not build_state.up_to_date(settings, {**state, "files": "(3, 9)"})
    assert not build_state.up_to_date(settings, None)
