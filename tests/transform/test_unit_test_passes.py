"""Unit tests run once per code on an installation, not once per warehouse
(transform/unit_test_passes.py): a new data dir on code whose unit tests all passed in another
warehouse's build leaves them out; other code, a failed or absent unit test, or another cache
runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfe.config import Settings, load_settings
from tests.dbt.fixture_warehouse import create_fixture
from transform import build_state, unit_test_passes
from transform.build import build

CODE = {"project": "p1", "vars": {"company_name": "华康制药"}, "engine": "duckdb"}


def _settings(tmp_path: Path, name: str, cache: str = "cache") -> Settings:
    return load_settings(env={}, data_dir=tmp_path / name, cache_dir=tmp_path / cache)


def test_only_a_build_whose_unit_tests_all_passed_is_remembered(tmp_path):
    settings = _settings(tmp_path, "a")
    assert not unit_test_passes.record(settings, CODE, {})  # none ran
    assert not unit_test_passes.record(settings, CODE, {"pass": 52, "fail": 1})
    assert not unit_test_passes.record(settings, CODE, {"pass": 52, "error": 1})
    assert not unit_test_passes.passed(settings, CODE)
    assert unit_test_passes.record(settings, CODE, {"pass": 53})
    assert unit_test_passes.passed(settings, CODE)
    # other code, other vars, another engine: not known to pass
    for key, value in (("project", "p2"), ("vars", {"company_name": "x"}), ("engine", "spark")):
        assert not unit_test_passes.passed(settings, {**CODE, key: value}), key
    # another installation's cache knows nothing of it
    assert not unit_test_passes.passed(_settings(tmp_path, "a", cache="elsewhere"), CODE)


def test_the_key_names_the_tools_that_ran_the_tests(monkeypatch):
    before = unit_test_passes.code_key(CODE)
    monkeypatch.setattr(unit_test_passes, "_version",
                        lambda package: "99.0" if package == "dbt-core" else None)
    assert unit_test_passes.code_key(CODE) != before  # an upgraded dbt runs them again


def test_a_cache_that_cannot_be_written_costs_only_the_rerun(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be", encoding="utf-8")
    settings = _settings(tmp_path, "a")
    assert not unit_test_passes.record(settings, CODE, {"pass": 53})
    assert not unit_test_passes.passed(settings, CODE)


def test_a_folder_named_like_the_record_is_not_taken_as_recorded(tmp_path):
    settings = _settings(tmp_path, "a")
    folder = settings.code_cache_dir / "unit-tests-passed" / unit_test_passes.code_key(CODE)
    folder.mkdir(parents=True)
    assert not unit_test_passes.record(settings, CODE, {"pass": 53})
    assert not unit_test_passes.passed(settings, CODE)


def _warehouse(tmp_path: Path, name: str, cache: str = "cache") -> Settings:
    settings = _settings(tmp_path, name, cache)
    settings.warehouse_dir.mkdir(parents=True)
    create_fixture(settings.working_db)
    settings.dbt_target_dir.mkdir(parents=True)  # made by dbt, which is faked here
    return settings


def _fake_dbt(monkeypatch: pytest.MonkeyPatch, unit_tests: dict[str, int]) -> list[str]:
    """dbt faked: records its command; reports `unit_tests` when it was asked to run them."""
    import transform.build as build_module

    calls: list[str] = []

    def fake_run_dbt(settings, command, select, console, report, extra_vars=None):
        calls.append(command)
        if "--exclude test_type:unit" not in command:
            report.unit_tests.update(unit_tests)
            for status, count in unit_tests.items():
                report.tests[status] = report.tests.get(status, 0) + count
            if any(status != "pass" for status in unit_tests):
                report.failures.append(build_module.BuildFailure(
                    "a_unit_test", "unit_test", "fail", "actual differs from expected"))

    monkeypatch.setattr(build_module, "run_dbt", fake_run_dbt)
    return calls


def test_a_new_warehouse_on_code_whose_unit_tests_passed_elsewhere_leaves_them_out(
        tmp_path, monkeypatch):
    calls = _fake_dbt(monkeypatch, {"pass": 53})
    assert build(_warehouse(tmp_path, "first")).exit_code == 0
    assert build(_warehouse(tmp_path, "second")).exit_code == 0  # same installation
    assert build(_warehouse(tmp_path, "third", cache="other")).exit_code == 0  # another one
    assert calls == ["build", "build --exclude test_type:unit", "build"]
    # an edited model: another code, so a new warehouse runs them again
    monkeypatch.setattr(build_state, "project_fingerprint", lambda: "an edited model")
    build(_warehouse(tmp_path, "fourth"))
    assert calls[-1] == "build"


def test_a_failed_unit_test_is_not_remembered(tmp_path, monkeypatch):
    calls = _fake_dbt(monkeypatch, {"pass": 52, "fail": 1})
    assert build(_warehouse(tmp_path, "first")).exit_code != 0
    build(_warehouse(tmp_path, "second"))
    assert calls == ["build", "build"]


def test_a_build_that_ran_no_unit_test_is_not_remembered(tmp_path, monkeypatch):
    calls = _fake_dbt(monkeypatch, {})
    assert build(_warehouse(tmp_path, "first")).exit_code == 0
    build(_warehouse(tmp_path, "second"))
    assert calls == ["build", "build"]


def test_a_model_edited_while_dbt_ran_is_not_taken_as_tested(tmp_path, monkeypatch):
    """The pass is recorded for the code read before dbt ran: a file edited meanwhile is other
    code, so the next warehouse runs the unit tests on it."""
    import transform.build as build_module

    calls: list[str] = []

    def fake_run_dbt(settings, command, select, console, report, extra_vars=None):
        calls.append(command)
        report.unit_tests.update({"pass": 53})
        monkeypatch.setattr(build_state, "project_fingerprint", lambda: "edited during the run")

    monkeypatch.setattr(build_module, "run_dbt", fake_run_dbt)
    build(_warehouse(tmp_path, "first"))
    build(_warehouse(tmp_path, "second"))
    assert calls == ["build", "build"]
