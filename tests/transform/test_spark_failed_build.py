"""A Spark build whose model failed leaves the working warehouse as it was (transform/dbt_runner.py
`run_dbt_on_spark`). Before, the tables the lake held were loaded (this build's up to the failed
model, older ones after it) and the DuckDB views were run over them: a view over a skipped
model's missing table failed, and the report's error named that view, not the model (seen in
the engines' equality test when the JVM ran out of code cache in fct_sell_out)."""

from __future__ import annotations

import importlib.util

import pytest

from sfe.config import Settings
from sfe.console import Console
from transform import dbt_runner, lake
from transform.report import BuildFailure, BuildReport


@pytest.fixture
def spark_calls(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A Spark build faked around dbt: which steps ran, in order."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        object() if name in ("pyspark", "dbt.adapters.spark") else real_find_spec(name, *a)))
    calls: list[str] = []
    monkeypatch.setattr(lake, "export_sources", lambda s, con: calls.append("export"))
    monkeypatch.setattr(lake, "reset_spark_tables", lambda s: False)
    monkeypatch.setattr(lake, "stop_spark", lambda: calls.append("stop"))
    monkeypatch.setattr(lake, "load_marts", lambda s, con: calls.append("load"))
    settings.ensure_dirs()
    return calls


def _fake_dbt(calls: list[str], failure: BuildFailure):
    def run_dbt(settings, command, select, console, report, extra_vars=None):
        calls.append(command)
        results = settings.dbt_target_dir / "target" / "run_results.json"
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(f'{{"command": "{command}"}}', encoding="utf-8")
        if command == "build":
            report.failures.append(failure)
    return run_dbt


def _build(settings: Settings, calls: list[str], failure: BuildFailure,
           monkeypatch: pytest.MonkeyPatch) -> BuildReport:
    monkeypatch.setattr(dbt_runner, "run_dbt", _fake_dbt(calls, failure))
    report = BuildReport()
    dbt_runner.run_dbt_on_spark(settings, "build", None, Console(quiet=True), report)
    assert report.failures == [failure]
    return report


def test_a_failed_model_loads_nothing_and_the_report_names_the_model(
        settings: Settings, spark_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    failure = BuildFailure("fct_sell_out", "model", "error", "Out of space in CodeCache")
    report = _build(settings, spark_calls, failure, monkeypatch)
    assert spark_calls == ["export", "build", "stop"]  # no load, no DuckDB views
    assert report.error is None and "fct_sell_out" in report.summary()


def test_a_failed_data_test_still_loads_the_marts_and_runs_the_views(
        settings: Settings, spark_calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every model was built: the marts are loaded so the gates can show the failing rows."""
    failure = BuildFailure("not_null_fct_sell_out_month", "test", "fail", "Got 2 results")
    _build(settings, spark_calls, failure, monkeypatch)
    assert spark_calls == ["export", "build", "stop", "load",
                           "run --select config.materialized:view"]
    # the build's results stay for the dbt_tests gate, not the views run's
    assert '"build"' in (settings.dbt_target_dir / "target" / "run_results.json").read_text()
