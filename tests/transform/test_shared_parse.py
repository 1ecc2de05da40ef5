"""One dbt parse for every data dir of an installation (transform/shared_parse.py): dbt runs in
the warehouse folder with the warehouse named relative to it, so a new data dir's first dbt run
starts from the installation's parse, and a data dir copied elsewhere keeps its own; a damaged
or foreign parse costs a full parse, never a failed run."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from sfe.config import Settings, load_settings
from sfe.console import Console
from transform import shared_parse
from transform.build_state import code_state
from transform.dbt_runner import run_dbt
from transform.report import BuildReport

FULL_PARSE = "Unable to do partial parsing"  # dbt's log line whenever it parses everything


def _settings(root: Path, name: str, cache: str = "cache") -> Settings:
    return load_settings(env={}, data_dir=root / name, cache_dir=root / cache)


def _parse(settings: Settings) -> str:
    """`dbt parse` as sfe runs dbt; the lines this run added to the data dir's dbt.log."""
    log = settings.dbt_target_dir / "logs" / "dbt.log"
    before = log.stat().st_size if log.exists() else 0
    report = BuildReport()
    run_dbt(settings, "parse", None, Console(quiet=True), report)
    assert not report.error, report.error
    with log.open("rb") as handle:
        handle.seek(before)
        return handle.read().decode("utf-8")


@pytest.mark.slow  # four dbt parses, one of them full
def test_new_and_moved_data_dirs_start_from_a_parse_and_a_damaged_one_costs_only_a_parse(
        tmp_path: Path) -> None:
    first = _settings(tmp_path, "first")
    assert FULL_PARSE in _parse(first), "a new installation parses the whole project once"
    assert shared_parse.cached_parse(first, code_state(first)).is_file(), "kept for the next"

    # another data dir of the installation: no full parse (fails where the profile held the path)
    assert FULL_PARSE not in _parse(_settings(tmp_path, "second"))

    # a data dir copied elsewhere, on an installation that never saw it: its own parse holds
    moved = _settings(tmp_path, "moved", cache="other-cache")
    shutil.copytree(first.data_dir, moved.data_dir)
    assert FULL_PARSE not in _parse(moved)

    # a damaged parse in the cache: dbt reads it, drops it and parses everything (its debug
    # log says so); the run succeeds and leaves its own parse in the cache
    cached = shared_parse.cached_parse(first, code_state(first))
    cached.write_bytes(b"\x00 not a parse")
    third = _settings(tmp_path, "third")
    _parse(third)
    assert cached.read_bytes() == shared_parse.target_parse(third).read_bytes() != b"\x00 not a parse"


@pytest.mark.slow  # three dbt parses, two of them full
def test_a_parse_of_other_code_in_the_target_gives_way_to_the_installations_parse_of_this_code(
        tmp_path: Path) -> None:
    """Runs of two codes taking turns in one data dir (a Spark build and its DuckDB view run;
    here two company names, so two --vars): each found the other's parse and parsed everything."""
    first = _settings(tmp_path, "data")
    second = replace(first, company_name="另一家药业")
    assert FULL_PARSE in _parse(first)
    assert FULL_PARSE in _parse(second), "other vars: dbt parses everything once"
    assert not shared_parse.holds(second, code_state(first))
    assert FULL_PARSE not in _parse(first), "the first code's parse comes back from the cache"
    assert shared_parse.holds(first, code_state(first))


def test_a_relative_data_dir_and_the_callers_directory_survive_a_dbt_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={}, data_dir=Path("rel"), cache_dir=Path("cache"))
    report = BuildReport()
    run_dbt(settings, "parse --no-such-flag", None, Console(quiet=True), report)
    assert report.error, "dbt refused the command"
    assert Path.cwd() == tmp_path, "the caller's directory is back after a failed run"
    _parse(settings)
    assert Path.cwd() == tmp_path
    assert (tmp_path / "rel" / "dbt_target" / "target" / shared_parse.PARTIAL_PARSE).is_file()
    assert not (tmp_path / "rel" / "warehouse" / "rel").exists(), "no path taken twice"


def test_the_parse_is_named_after_the_code(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "a")
    code = code_state(settings)
    name = shared_parse.cached_parse(settings, code)
    for key, value in (("vars", {"company_name": "另一家药业"}), ("engine", "spark"),
                       ("project", "edited")):
        assert shared_parse.cached_parse(settings, {**code, key: value}) != name, key
    assert not shared_parse.take(settings, code), "nothing cached yet"
    assert not shared_parse.keep(settings, code), "nothing parsed yet"


def test_a_cache_that_cannot_be_written_costs_only_the_parse(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "a")
    (tmp_path / "cache").write_text("a file where the cache folder would be", encoding="utf-8")
    parsed = shared_parse.target_parse(settings)
    parsed.parent.mkdir(parents=True)
    parsed.write_bytes(b"a parse")
    assert not shared_parse.keep(settings, code_state(settings))
    # no temp file left behind; the target's parse is marked as this code's all the same
    assert sorted(os.listdir(parsed.parent)) == ["partial_parse.code", parsed.name]
    assert shared_parse.holds(settings, code_state(settings))
