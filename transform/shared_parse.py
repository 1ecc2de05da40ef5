"""dbt's parse of the project, shared by every data dir of an installation.

dbt re-reads only the files that changed since its last parse (partial parsing), but it keeps
that parse per target folder, and throws it away when the profile differs — the profile holds
the DuckDB path. So every new data dir, and every copy of one moved elsewhere, parsed the whole
project (~8 s of one core here; 80 models, 248 data tests, 53 unit tests). Two things make one
parse serve them all:

- dbt runs in the warehouse folder with the warehouse named relative to it (`working.duckdb`,
  transform/dbt_runner.py), so the profile dbt hashes is the same for every data dir;
- a build leaves its parse in the installation's code cache (`Settings.code_cache_dir`, beside
  unit_test_passes' records), named after the code it parsed; a data dir whose target holds no
  parse, or one of other code (`partial_parse.code` beside it names whose), starts from it
  instead. That also ends the ping-pong of a Spark build, whose DuckDB view run shares the
  target: each used to find the other engine's parse and parse everything.

dbt checks a parse before it uses one (its version, the vars, the profile, the project files'
checksums, the env vars they read) and parses again whatever differs, so a stale or foreign
parse costs a full parse, never a wrong build. The name only picks the likely one: the code
(`build_state.code_state`, tool versions) and the project's folder (dbt keeps absolute paths
of seeds). Copies are made beside their target and renamed in place: a reader never sees half
a file. A cache that cannot be written costs only the parse.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sfe.config import PROJECT_ROOT, Settings
from transform.unit_test_passes import code_key

PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's file name (dbt.constants.PARTIAL_PARSE_FILE_NAME)


def target_parse(settings: Settings) -> Path:
    """The parse dbt reads and writes for this data dir."""
    return settings.dbt_target_dir / "target" / PARTIAL_PARSE


def _code_mark(settings: Settings) -> Path:
    """Names the code of the target's parse (the stem of its `cached_parse`)."""
    return target_parse(settings).with_suffix(".code")


def cached_parse(settings: Settings, code: dict[str, Any]) -> Path:
    name = hashlib.sha256(f"{code_key(code)}\0{PROJECT_ROOT}".encode()).hexdigest()
    return settings.code_cache_dir / "dbt-parse" / f"{name}.msgpack"


def _copy_into_place(source: Path, target: Path) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(handle)
        try:
            shutil.copyfile(source, temp)
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
    except OSError:
        return False
    return True


def _mark(settings: Settings, code: dict[str, Any]) -> None:
    try:
        _code_mark(settings).write_text(cached_parse(settings, code).stem, encoding="utf-8")
    except OSError:  # unmarked: the next run takes the cached parse, which dbt checks
        pass


def holds(settings: Settings, code: dict[str, Any]) -> bool:
    """The data dir's target holds a parse of this code (the last run's, or taken)."""
    try:
        mark = _code_mark(settings).read_text(encoding="utf-8")
    except OSError:
        return False
    return target_parse(settings).is_file() and mark == cached_parse(settings, code).stem


def take(settings: Settings, code: dict[str, Any]) -> bool:
    """Before a run that would parse the whole project: the installation's parse of this
    code into the data dir's target. False when there is none (or it cannot be copied)."""
    cached = cached_parse(settings, code)
    if not (cached.is_file() and _copy_into_place(cached, target_parse(settings))):
        return False
    _mark(settings, code)
    return True


def keep(settings: Settings, code: dict[str, Any]) -> bool:
    """After a dbt run that succeeded: its parse is of this code (marked so), and the
    installation keeps it for the next data dir on this code."""
    parsed = target_parse(settings)
    if not parsed.is_file():
        return False
    _mark(settings, code)
    return _copy_into_place(parsed, cached_parse(settings, code))
