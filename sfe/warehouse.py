"""Opening the working warehouse. DuckDB allows one writing process: open, work, close.

Readers (dashboards, scorecard) never open this file; they open the published snapshot.
Writing commands (ingest, build, check, publish, run and the DAG tasks that call them) hold the
writer lock (`writer_lock`) for their whole work, so two of them run one after the other.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from sfe.config import ConfigError, Settings
from sfe.console import Console
from sfe.report import WorkBlocked

AUTO_MEMORY_MIN_MB, AUTO_MEMORY_MAX_MB = 1024, 3072  # memory_limit = 'auto' (the default)
SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "quarantine", "matching")


class WarehouseBusy(WorkBlocked, RuntimeError):
    """Another process holds the working warehouse's write lock."""


def writer_lock_file(settings: Settings) -> Path:
    return settings.warehouse_dir / "writer.lock"


@contextmanager
def writer_lock(settings: Settings, command: str, console: Console | None = None,
                poll_seconds: float = 0.25) -> Iterator[None]:
    """Hold the warehouse's writer lock while a writing command works, waiting up to
    `settings.lock_wait_s` for the command that holds it; past that, WarehouseBusy names it.

    DuckDB's own lock lasts one connection, and a command opens several (dbt its own): without
    this a second writer would slip in between them, or fail at once. The lock is an flock, so
    the system drops it when its holder ends, however it ends: there is never a stale lock.
    Not re-entrant: take it once, around a command's whole work."""
    if settings.lock_wait_s < 0:
        raise ConfigError(f"lock_wait_s = {settings.lock_wait_s} must be 0 or more seconds "
                          "(sfe.toml or SFE_LOCK_WAIT_S)")
    path = writer_lock_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, settings, command, console, poll_seconds)
        holder = {"pid": os.getpid(), "command": command,
                  "since": datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # a free lock names no holder
    finally:
        os.close(fd)  # releases the flock


def _acquire(fd: int, settings: Settings, command: str, console: Console | None,
             poll_seconds: float) -> None:
    deadline = time.monotonic() + settings.lock_wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = _holder(fd)
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"the working warehouse {settings.working_db} is being written by {holder}; "
                f"'{command}' waited {settings.lock_wait_s:g} s (lock_wait_s) and gave up. "
                "Try again when that command has finished, or raise lock_wait_s in sfe.toml "
                "or SFE_LOCK_WAIT_S")
        if not told and console is not None:
            console.warn(f"waiting for {holder} to finish writing the warehouse (up to "
                         f"{settings.lock_wait_s:g} s, lock_wait_s)")
            told = True
        time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.0)))


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder recorded it."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (ValueError, OSError):
        info = {}
    if not info.get("pid"):  # it has not written its name yet
        return "another sfe process"
    return f"'{info.get('command')}' (pid {info['pid']}, since {info.get('since')})"


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
    # in steps of 256 MiB: the figure is part of dbt's profile, and a profile that differs
    # from the last build's makes dbt parse the whole project again (~7 s)
    return f"{mb // 256 * 256}MiB"


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


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def row_hash(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """SQL: the hash of a row of schema.table as hash(c1, .., cn), the value hash(t) of the
    row gives, in 60-75 % of its time (DuckDB builds no struct per row); "hash(t)" for a table
    whose columns are not found (the caller's alias must be t)."""
    columns = [c for (c,) in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, table]).fetchall()]
    return f"hash({', '.join(sql_name(c) for c in columns)})" if columns else "hash(t)"
