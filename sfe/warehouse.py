"""Opening the working warehouse. DuckDB allows one writing process: open, work, close.

Readers (dashboards, scorecard) never open this file; they open the published snapshot.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sfe.config import ConfigError, Settings
from sfe.report import WorkBlocked

AUTO_MEMORY_MIN_MB, AUTO_MEMORY_MAX_MB = 1024, 3072  # memory_limit = 'auto' (the default)
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


def available_memory_bytes() -> int | None:
    """Memory the kernel could give us now (MemAvailable), else the machine's total; None if
    neither can be read (not Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


def auto_memory_limit(available: int | None) -> str:
    """Half of what is available, within [1 GB, 3 GB]: DuckDB spills to disk beyond it, and
    Python, polars frames and the reader worker come on top (a whole run stays under 4 GB).
    DuckDB's own default, 80 % of RAM, let a 10 M-row build reach 6 GB on a 24 GB machine."""
    if available is None:
        return f"{AUTO_MEMORY_MAX_MB}MiB"
    mb = min(max(available // 2 >> 20, AUTO_MEMORY_MIN_MB), AUTO_MEMORY_MAX_MB)
    return f"{mb}MiB"


def duckdb_memory_limit(settings: Settings) -> str:
    """settings.memory_limit as DuckDB takes it ('auto' resolved for this machine, now)."""
    if settings.memory_limit.strip().lower() == "auto":
        return auto_memory_limit(available_memory_bytes())
    return settings.memory_limit


def set_memory_limit(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Apply settings.memory_limit and threads (a SET, not a connect option: other code in this
    process may open the same file without options, and DuckDB refuses mismatched options on
    one file)."""
    limit = duckdb_memory_limit(settings)
    try:
        con.execute(f"set memory_limit = {sql_string(limit)}")
    except duckdb.Error as exc:
        raise ConfigError(f"memory_limit = {settings.memory_limit!r} is not a size DuckDB "
                          "understands; use e.g. '4GB', '50%' or 'auto' in sfe.toml or "
                          "SFE_MEMORY_LIMIT") from exc
    if settings.threads > 0:
        con.execute(f"set threads = {int(settings.threads)}")


def sql_string(text: str) -> str:
    """A SQL string literal, for statements that take no parameters (SET, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchone()
    return bool(row and row[0])
