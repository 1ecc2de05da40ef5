"""Consecutive files' transactions committed together (issue 14): one commit, with its WAL
write and fsync, per group of files instead of per file.

The pipeline's code keeps writing one transaction per file (`begin transaction` … `commit`);
`GroupedWrites` stands in for the connection and turns those statements into group markers:

* a file's `begin` opens the group's transaction if none is open, its `commit` counts the file
  done; the group is committed when it holds `max_files` files or is `max_seconds` old;
* all or nothing per file still holds: a file's rows, quarantine and registry row sit in one
  transaction, and a group is a whole number of files;
* a killed ingest loses the uncommitted group and nothing else: the warehouse is at the last
  group commit, every file in it complete, and the registry rows went with the rows, so the
  next run reads the lost files again as new (idempotent, as before);
* a `rollback` (a file failed while writing) or a failed statement between files (DuckDB then
  aborts the whole transaction) rolls back the group; `lost` then tells the caller to write
  the group's earlier files again, one transaction each (the old behaviour), and the failing
  file is judged on its own as before;
* the group's rows, quarantine rows, registry rows and retry keys are held (`Deferred`) and
  written once per group, one statement per table, before the group's commit or before any
  other statement (which then sees them). When writing them fails, the group is lost as
  above (`lost`; `flush` does not raise then) and its files are written again one
  transaction each, where the failing file's write fails on its own.

While the held rows are written (DuckDB's insert, ~1 s per million rows), `meanwhile` — the
reader pool's `prefetch` — keeps the reader workers parsing the next files: the write runs in
a thread, this thread takes in the workers' answers. The write is still one statement per
table in the group's transaction; only the waiting changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import duckdb

from ingestion.deferred import Deferred
from ingestion.registry import Index
from sfe.signals import is_interrupt

TRANSACTION_STATEMENTS = ("begin transaction", "commit", "rollback")
OVERLAP_ROWS = 20_000  # held rows worth a thread to write while the workers keep parsing


class GroupedWrites:
    """A DuckDB connection whose per-file transactions are committed in groups."""

    def __init__(self, con: duckdb.DuckDBPyConnection, max_files: int = 50,
                 max_seconds: float = 5.0, max_held_rows: int = 1_000_000) -> None:
        self.con = con
        self.max_files, self.max_seconds = max_files, max_seconds
        self.max_held_rows = max_held_rows  # rows held in Python before they go to DuckDB
        self.solo = False  # one transaction per file (redoing a lost group)
        self.lost = False  # the open group was rolled back with files already done in it
        self.commits = 0
        self._open_since: float | None = None
        self._done = 0  # files completed in the open group
        self._in_file = False  # between a file's begin and its commit
        # the registry's in-memory index (registry.Index), kept in step by registry's writes
        # on this connection; read again after a rollback, which it cannot follow
        self.index: Index | None = None
        self.held = Deferred()  # the open group's writes, written once per group
        # called while the held writes run, with the seconds it may block; False: nothing to
        # do meanwhile (ReaderPool.prefetch)
        self.meanwhile: Callable[[float], bool] | None = None

    @property
    def deferred(self) -> Deferred | None:
        """Where a write joins the open group's held writes; None: no group open, write now."""
        return self.held if self._open_since is not None else None

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        if sql == "begin transaction":
            return self._begin()
        if sql == "commit":
            return self._file_done()
        if sql == "rollback":
            return self._rollback()
        if self._open_since is None or self._in_file:
            self._write_held()
            return self.con.execute(sql, *args)
        try:  # between files inside an open group: a failure aborts the group's transaction
            self._write_held()
            return self.con.execute(sql, *args)
        except Exception:
            self._rollback()
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)

    def _write_held(self) -> None:
        """The held writes before another statement, which may read or delete them."""
        if not self.held:
            return
        if self.meanwhile is None or self.held.rows < OVERLAP_ROWS:
            self.held.write(self.con)
            return
        write_while(lambda: self.held.write(self.con), self.meanwhile, self.con)

    def _begin(self) -> duckdb.DuckDBPyConnection:
        if self._open_since is None:
            self.con.execute("begin transaction")
            self._open_since = time.monotonic()
        self._in_file = True
        return self.con

    def _file_done(self) -> duckdb.DuckDBPyConnection:
        self._in_file = False
        self._done += 1
        if self.solo or self._done >= self.max_files or \
                time.monotonic() - (self._open_since or 0) >= self.max_seconds:
            self.flush()
        elif self.held.rows >= self.max_held_rows:
            self._write_held_or_lose()  # into the open group: still committed, or lost, whole
        return self.con

    def _rollback(self) -> duckdb.DuckDBPyConnection:
        if self._open_since is not None:
            self.con.execute("rollback")
            self.lost = self.lost or self._done > 0
        self._group_lost()
        return self.con

    def _group_lost(self) -> None:
        """No group open any more and its writes gone: the index is read again, since it
        cannot follow what the database dropped."""
        self._open_since, self._done, self._in_file = None, 0, False
        self.held.clear()
        if self.index is not None:
            self.index = Index.read(self.con)

    def flush_if_due(self) -> bool:
        """Between files: commit a group that is old enough even if no file wrote lately."""
        if self._open_since is not None and (
                self.solo or time.monotonic() - self._open_since >= self.max_seconds):
            return self.flush()
        return False

    def flush(self) -> bool:
        """Commit the open group, if any; True when something was committed."""
        if self._open_since is None:
            return False
        if not self._write_held_or_lose():
            return False
        try:
            self.con.execute("commit")
        except Exception:  # DuckDB ends a transaction whose commit failed (a stop signal lands
            # here as 'Query interrupted'): nothing is open now, a later rollback must not fail
            self.lost = self.lost or self._done > 0
            self._group_lost()
            raise
        self.commits += 1
        self._open_since, self._done, self._in_file = None, 0, False
        return True

    def _write_held_or_lose(self) -> bool:
        """The held writes before the commit; False when they failed and the group is lost
        (the caller writes its files again one by one). A stop signal, and a failure of a
        file written on its own (`solo`: that file's error), are raised."""
        try:
            self._write_held()
            return True
        except Exception as exc:
            self.con.execute("rollback")
            if self.solo or is_interrupt(exc):
                self._group_lost()
                raise
            self.lost = True
            self._group_lost()
            return False

    def discard(self) -> None:
        """Roll back whatever is open (after `lost`: the caller writes those files again)."""
        self._rollback()
        self.lost = False


def write_while(write: Callable[[], None], meanwhile: Callable[[float], bool],
                con: duckdb.DuckDBPyConnection) -> None:
    """`write` (DuckDB statements on `con`) in a thread while this thread calls `meanwhile`;
    returns when the write is done, raising its error. DuckDB releases the GIL while it works,
    so both go on at once. A stop signal lands in this thread: the write is interrupted and
    waited for (its transaction is then the caller's to roll back) before it is raised."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            write()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failed.append(exc)

    writer = threading.Thread(target=run, name="sfe-group-write", daemon=True)
    writer.start()
    try:
        while writer.is_alive():
            if not meanwhile(0.02):
                writer.join(0.05)
    except BaseException:
        if writer.is_alive():
            con.interrupt()
        writer.join()
        raise
    if failed:
        raise failed[0]
