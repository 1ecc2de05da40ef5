"""Opening the working warehouse. DuckDB allows one writing process: open, work, close.

Readers (dashboards, scorecard) never open this file; they open the published snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sfe.config import ConfigError, Settings
from sfe.report import WorkBlocked

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "quarantine", "matching")


class WarehouseBusy(WorkBlocked, RuntimeError):
    """Another process holds the working warehouse's write lock."""


def _open(path: Path, read_only: bool, attempts: int, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    for attempt in range(attempts):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == attempts - 1:
                if "lock" in str(exc).lower():
                    raise WarehouseBusy(
                        f"{path} is in use by another sfe process (a build or load is running); "
                        "wait for it to finish and try again") from exc
                raise
            time.sleep(wait_seconds)
    raise AssertionError("unreachable")


@contextmanager
def connect(settings: Settings, read_only: bool = False, attempts: int = 30,
            wait_seconds: float = 1.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working warehouse, with every schema created; waits a while for a writer's lock."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    if read_only and not settings.working_db.exists():
        raise FileNotFoundError(f"no warehouse at {settings.working_db}; run 'sfe ingest' first")
    con = _open(settings.working_db, read_only, attempts, wait_seconds)
    try:
        set_memory_limit(con, settings)
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
        yield con
    finally:
        con.close()


def set_memory_limit(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Apply settings.memory_limit (a SET, not a connect option: other code in this process may
    open the same file without options, and DuckDB refuses mismatched options on one file)."""
    try:
        con.execute(f"set memory_limit = {sql_string(settings.memory_limit)}")
    except duckdb.Error as exc:
        raise ConfigError(f"memory_limit = {settings.memory_limit!r} is not a size DuckDB "
                          "understands; use e.g. '4GB' or '50%' in sfe.toml or SFE_MEMORY_LIMIT"
                          ) from exc


def sql_string(text: str) -> str:
    """A SQL string literal, for statements that take no parameters (SET, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()
    return bool(row and row[0])
