"""Writes of a group of files held back to its commit (issue 14): each file's rows, quarantine
rows, registry row and retry key are kept here while the group's transaction is open and
written once per group, one statement per table, instead of four or five statements a file.

Held writes go to the database before any other statement on the ingest's connection
(`GroupedWrites.execute`), so a query or delete inside the group sees every file before it,
and they are written inside the group's transaction, so a group is still committed, or lost,
whole. Rows are inserted by name as each file gave them: consecutive frames of the same
columns and types are concatenated, one insert per such run, so the rows keep their order, a
column a file lacks gets the table's default as before, and no value is cast across files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import duckdb
import polars as pl

VALUES_PER_STATEMENT = 2_000  # bound parameters of one multi-row `values` statement


@dataclass
class Deferred:
    """The group's writes not yet sent to DuckDB, in the order they are to be applied."""

    registry: list[list[object]] = field(default_factory=list)  # audit.file_registry rows
    registry_columns: str = ""
    retry: dict[int, str | None] = field(default_factory=dict)  # file_id -> key; None: delete
    frames: dict[str, list[pl.DataFrame]] = field(default_factory=dict)  # table -> frames

    def __bool__(self) -> bool:
        return bool(self.registry or self.retry or self.frames)

    @property
    def rows(self) -> int:
        """Rows held: the group writes them early (still uncommitted) past a bound, so a
        group of large files does not hold them all in Python as well as in DuckDB."""
        return sum(frame.height for frames in self.frames.values() for frame in frames)

    def add_registry(self, columns: str, values: list[object]) -> None:
        self.registry_columns = columns
        self.registry.append(values)

    def set_retry(self, file_id: int, key: str | None) -> None:
        self.retry.pop(file_id, None)  # the latest write of a file's key is the one that stands
        self.retry[file_id] = key

    def add_rows(self, table: str, frame: pl.DataFrame) -> None:
        self.frames.setdefault(table, []).append(frame)

    def clear(self) -> None:
        self.registry, self.retry, self.frames = [], {}, {}

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """Everything held, into the open transaction; then nothing is held."""
        try:
            if self.registry:
                _insert_values(con, f"insert into audit.file_registry ({self.registry_columns})",
                               self.registry)
            gone = [i for i, key in self.retry.items() if key is None]
            if gone:
                con.execute("delete from audit.file_retry where list_contains(?, file_id)",
                            [gone])
            keys = [[i, key] for i, key in self.retry.items() if key is not None]
            if keys:
                _insert_values(con, "insert or replace into audit.file_retry", keys)
            for table, frames in self.frames.items():
                _insert_frames(con, table, frames)
        finally:
            self.clear()


def _insert_values(con: duckdb.DuckDBPyConnection, insert: str, rows: list[list[object]]) -> None:
    """Rows as multi-row `values` statements: the parameters convert as one row's would."""
    width = len(rows[0])
    step = max(1, VALUES_PER_STATEMENT // width)
    for at in range(0, len(rows), step):
        chunk = rows[at:at + step]
        marks = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
        con.execute(f"{insert} values {marks}", [v for row in chunk for v in row])


def _insert_frames(con: duckdb.DuckDBPyConnection, table: str, frames: list[pl.DataFrame]
                   ) -> None:
    """One insert by name per run of consecutive frames with the same columns and types (the
    rows keep the order in which the files gave them)."""
    runs: list[list[pl.DataFrame]] = []
    for frame in frames:
        if runs and runs[-1][0].schema == frame.schema:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    for same in runs:
        insert_frame(con, table, pl.concat(same, how="vertical", rechunk=False)
                     if len(same) > 1 else same[0])


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """A frame's rows into `table` by name, one statement."""
    con.register("_ingest_rows", frame)
    try:
        con.execute(f"insert into {table} by name select * from _ingest_rows")
    finally:  # after a failed insert the transaction is aborted and unregister fails too:
        with contextlib.suppress(duckdb.Error):  # the insert's error is the one to report
            con.unregister("_ingest_rows")
