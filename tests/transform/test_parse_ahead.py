"""dbt's parse ahead (transform/parse_ahead.py): a `dbt parse` child started while `sfe run`
loads files, whose parse the build's dbt takes instead of parsing the whole project again."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from orchestration import pipeline
from sfe.config import Settings, load_settings
from sfe.console import Console
from sfe.warehouse import duckdb_memory_limit
from transform import build_state, parse_ahead
from transform.dbt_runner import _env, dbt_args, dbt_env
from transform.parse_ahead import PARTIAL_PARSE, ParseAhead, start_parse_ahead


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # the limit resolved once, as run_pipeline does: the child's and dbt's profiles must agree;
    # a code cache of its own, holding no parse to start from (transform/shared_parse.py)
    base = load_settings(env={}, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    return replace(base, memory_limit=duckdb_memory_limit(base))


def _dbt_log(settings: Settings) -> str:
    return (settings.dbt_target_dir / "logs" / "dbt.log").read_text(encoding="utf-8")


def _dbt_ls(settings: Settings) -> None:
    """A dbt command that parses as the build does (same arguments and environment) and
    needs no warehouse."""
    from dbt.cli.main import dbtRunner

    with _env(dbt_env(settings)):
        result = dbtRunner().invoke(dbt_args(settings, "ls --resource-type unit_test"))
    assert result.success, result.exception


@pytest.mark.slow  # two real dbt parses and builds of the fixture
def test_the_build_dbt_takes_the_parse_made_ahead(settings: Settings) -> None:
    """The child's parse is the one dbt reads next: no full parse. Without it, the same
    command on a new data dir parses the whole project (the control)."""
    ahead = start_parse_ahead(settings)
    assert ahead is not None, "a new data dir has no parse: one is started"
    out = io.StringIO()
    assert ahead.take(settings, Console(stream=out))
    assert "dbt project parsed while files loaded" in out.getvalue()
    assert (settings.dbt_target_dir / "target" / PARTIAL_PARSE).is_file()
    assert not ahead.folder.exists(), "the child's folder is removed once its parse is taken"
    _dbt_ls(settings)
    assert "Unable to do partial parsing" not in _dbt_log(settings)

    control = replace(settings, data_dir=settings.data_dir.parent / "control")
    _dbt_ls(control)
    assert "Unable to do partial parsing because saved manifest not found" in _dbt_log(control)


def test_no_child_when_the_last_build_parsed_this_project(settings: Settings) -> None:
    target = settings.dbt_target_dir / "target"
    target.mkdir(parents=True)
    (target / PARTIAL_PARSE).write_bytes(b"x")
    state = {"project": build_state.project_fingerprint(), "vars": settings.dbt_vars(),
             "engine": settings.engine}
    build_state.built_state_file(settings).write_text(json.dumps(state), encoding="utf-8")
    assert start_parse_ahead(settings) is None
    # the vars changed since (dbt hashes them): the build would parse everything, so the child
    # does it ahead
    other = replace(settings, company_name="另一家药业")
    assert parse_ahead.needs_full_parse(other)
    assert start_parse_ahead(replace(settings, engine="spark")) is None, "Spark: not ahead"


def test_a_child_that_cannot_start_is_said_and_the_build_parses_itself(
        settings: Settings) -> None:
    """Hostile leftovers: the child's folder is a file (a careless copy, a crafted name)."""
    folder = parse_ahead.parse_ahead_dir(settings)
    folder.parent.mkdir(parents=True)
    folder.write_text("not a folder", encoding="utf-8")
    out = io.StringIO()
    assert start_parse_ahead(settings, Console(stream=out)) is None
    assert "could not start" in out.getvalue() and "the build parses itself" in out.getvalue()
    assert folder.read_text(encoding="utf-8") == "not a folder", "not removed blindly"


def _ahead(settings: Settings, code: str) -> ParseAhead:
    folder = parse_ahead.parse_ahead_dir(settings)
    (folder / "target").mkdir(parents=True)
    process = subprocess.Popen([sys.executable, "-c", code])
    return ParseAhead(process, folder)


def test_a_failed_child_leaves_the_target_alone_and_says_where_its_log_is(
        settings: Settings) -> None:
    ahead = _ahead(settings, "import sys; sys.exit(3)")
    (ahead.folder / "target" / PARTIAL_PARSE).write_bytes(b"half written")
    out = io.StringIO()
    assert not ahead.take(settings, Console(stream=out))
    assert "failed (exit 3" in out.getvalue() and str(ahead.folder / "logs") in out.getvalue()
    assert not (settings.dbt_target_dir / "target" / PARTIAL_PARSE).exists()
    ahead.stop()
    assert ahead.folder.exists(), "a failed child's folder stays for its log"


def test_a_parse_not_taken_is_removed_with_the_run(settings: Settings) -> None:
    """The build was not needed (up to date): the finished child's parse goes with the run."""
    ahead = _ahead(settings, "pass")
    ahead.process.wait()
    ahead.stop()
    assert not ahead.folder.exists()


def test_a_slow_child_is_stopped_and_dbt_parses_itself(settings: Settings) -> None:
    ahead = _ahead(settings, "import time; time.sleep(60)")
    out = io.StringIO()
    assert not ahead.take(settings, Console(stream=out), wait_s=0.5)
    assert "stopped, dbt parses now" in out.getvalue()
    assert ahead.process.poll() is not None, "the child is ended, not left running"
    assert not ahead.folder.exists()
    assert not (settings.dbt_target_dir / "target" / PARTIAL_PARSE).exists()


class _Report:
    exit_code = 0

    def to_dict(self) -> dict:
        return {}


class _Recorder:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_run_pipeline_hands_the_child_to_the_build_and_ends_it_on_a_stop(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child goes to the build step; when the run stops (here a signal during the build),
    it is ended with the run, not left parsing into the data dir."""
    child = _Recorder()
    given = {}
    monkeypatch.setattr(pipeline, "start_parse_ahead", lambda s, c: child)
    monkeypatch.setattr(pipeline, "ingest_inbox", lambda *a, **k: _Report())

    def build_step(*args, parsed_ahead=None, **kwargs):
        given["parsed_ahead"] = parsed_ahead
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "build_step", build_step)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(settings)
    assert given["parsed_ahead"] is child and child.stopped == 1
    # the warehouse DAG's steps load nothing: no child
    monkeypatch.setattr(pipeline, "start_parse_ahead", lambda s, c: pytest.fail("started"))
    for name in ("build_step", "run_checks", "publish"):
        monkeypatch.setattr(pipeline, name, lambda *a, **k: _Report())
    pipeline.run_pipeline(settings, steps=pipeline.WAREHOUSE_STEPS)
