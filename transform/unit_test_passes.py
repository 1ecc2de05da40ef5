"""Unit tests passed on this code, for every warehouse of this installation.

dbt's unit tests read no warehouse data: each builds its fixtures and runs one model's SQL on
them, so their verdict depends on the code alone — the dbt project on disk (models, macros,
tests, seeds), the dbt vars, the engine and the versions of dbt, its adapter and DuckDB. A full
build that ran every unit test, all passing, leaves one empty file named after that code
(`code_key`) in the installation's cache (`Settings.code_cache_dir`, default `.cache/` beside
the project; a code-derived cache, like Python's bytecode, not data). A later full build of any
warehouse on the same code leaves the unit tests out (`--exclude test_type:unit`), as dbt's
docs advise for production runs; an edited model, another var or an upgraded dbt is another
key, so they run again. Only dbt's own results count: a build whose results hold no unit test,
or any that did not pass, records nothing. A cache that cannot be written costs only the rerun.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sfe.config import Settings

# what, besides the project, decides a unit test's verdict
_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb", "dbt-spark", "pyspark")


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def code_key(code: dict[str, Any]) -> str:
    """The code a build ran (`build_state.code_state`: project, vars, engine) and the versions
    of the tools that ran it, as one name."""
    doc = {"code": code, "tools": {p: _version(p) for p in _PACKAGES}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _record(settings: Settings, code: dict[str, Any]) -> Path:
    return settings.code_cache_dir / "unit-tests-passed" / code_key(code)


def passed(settings: Settings, code: dict[str, Any]) -> bool:
    """Every unit test passed on this very code in a build of some warehouse here."""
    return _record(settings, code).is_file()


def record(settings: Settings, code: dict[str, Any], unit_tests: dict[str, int]) -> bool:
    """After a successful full build: remember that its unit tests (dbt's counts by status)
    all passed on this code. False when there is nothing to remember or it cannot be written."""
    ran = sum(unit_tests.values())
    if ran == 0 or unit_tests.get("pass", 0) != ran:
        return False
    path = _record(settings, code)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # an empty file: there or not, never half-written
    except OSError:
        return False
    return path.is_file()  # a folder by that name touches fine but records nothing
