"""The file registry (`audit.file_registry`): what was seen, what was loaded, what replaced what.

The registry is the source of truth for loads. A file is known by its bytes (sha256). Flow and
inventory files of one distributor are compared by period (the date range of their rows):

* the newer file covers the older one's period → the older one's rows are deleted in the same
  transaction and it becomes `superseded`;
* the periods are disjoint, or the two files hold disjoint product sets (a month split by
  product line) → both count;
* otherwise (a partial overlap, or a late file inside a loaded one's period) the file is held as
  `conflict` (or `superseded` when it was first seen before the loaded file covering it), loaded
  nowhere.

"Newer" is arrival order: when the registry first saw the file (`first_seen_at`, written once
and kept when a record is replaced), then modification time among files first seen in the same
ingest. A sender's clock cannot push a file ahead of corrections that arrive after it. Bytes of
a superseded file sent again are an old version: a `conflict` naming the file that replaced it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field, replace

import duckdb
import polars as pl
import pyarrow as pa

from ingestion.deferred import Deferred

ACTIVE = ("loaded", "partial")


@dataclass
class Registration:
    """One row of `audit.file_registry` (see docs/contracts.md)."""

    path: str
    sha256: str
    source: str | None
    entity: str | None
    distributor_code: str | None
    received_at: dt.datetime
    status: str
    run_id: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    duplicate_of: int | None = None
    superseded_by: int | None = None
    conflict_with: int | None = None
    file_id: int | None = None
    first_seen_at: dt.datetime | None = None  # set once per file; None: now
    retry_key: str | None = None  # rejected/conflict: what the outcome depended on, kept in
    # audit.file_retry (retry_key())

    def values(self) -> list[object]:
        now = dt.datetime.now()
        return [self.file_id, self.path, self.sha256, self.source, self.entity,
                self.distributor_code, self.period_start, self.period_end, self.received_at,
                now, self.status, self.rows_read, self.rows_loaded,
                self.rows_quarantined, self.reasons, self.duplicate_of, self.superseded_by,
                self.conflict_with, self.run_id, self.first_seen_at or now]


COLUMNS = ("file_id, path, sha256, source, entity, distributor_code, period_start, period_end, "
           "received_at, loaded_at, status, rows_read, rows_loaded, rows_quarantined, reasons, "
           "duplicate_of, superseded_by, conflict_with, run_id, first_seen_at")


@dataclass(frozen=True)
class Known:
    file_id: int
    status: str
    reasons: tuple[str, ...]
    received_at: dt.datetime | None = None
    first_seen_at: dt.datetime | None = None
    retry_key: str | None = None
    run_id: str | None = None


_KNOWN_COLUMNS = ("r.file_id, status, reasons, received_at, coalesce(first_seen_at, loaded_at), "
                  "k.retry_key, run_id")
_KNOWN_FROM = ("audit.file_registry as r left join audit.file_retry as k "
               "on k.file_id = r.file_id")


def _known(row: tuple) -> Known:
    file_id, status, reasons, received_at, first_seen_at, retry_key, run_id = row
    return Known(file_id, status, tuple(reasons or ()), received_at, first_seen_at, retry_key,
                 run_id)


def known_path(con: duckdb.DuckDBPyConnection, path: str, sha256: str) -> Known | None:
    """This exact file (same place, same bytes) as the registry last recorded it."""
    row = con.execute(
        f"select {_KNOWN_COLUMNS} from {_KNOWN_FROM} where path = ? and sha256 = ? "
        "order by r.file_id desc limit 1", [path, sha256]).fetchall()
    return _known(row[0]) if row else None


def known_files(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Known]:
    """`known_path` of every (path, sha256) at once: one query per run instead of one per file
    (at 1,000 files the queries cost more than reading the files)."""
    rows = con.execute(
        f"select path, sha256, {_KNOWN_COLUMNS} from {_KNOWN_FROM} "
        "qualify row_number() over (partition by path, sha256 order by r.file_id desc) = 1"
    ).fetchall()
    return {(row[0], row[1]): _known(row[2:]) for row in rows}


def mark_superseded(records: dict[tuple[str, str], Known], file_ids: list[int]) -> None:
    """`known_files` kept in step with `supersede` (the only change a file makes to other
    paths' records), instead of reading the registry again after every superseding file."""
    ids = set(file_ids)
    for key, known in records.items():
        if known.file_id in ids:
            records[key] = replace(known, status="superseded")


def retry_key(con: duckdb.DuckDBPyConnection, inputs: str, status: str, source: str | None,
              distributor: str | None) -> str:
    """What a rejected or conflict outcome depended on, as one hash: `inputs` (the bytes, the
    mapping, the reader's code, the decisions: the caller's part) and, for a conflict, the
    loaded files of the same source and distributor it was judged against. The same key next
    run means the same outcome, so the file need not be read again."""
    parts = [inputs, status]
    index = _index(con)
    if status == "conflict" and index is not None:
        parts.append(repr(index.active_periods(source, distributor)))
    elif status == "conflict":
        rows = con.execute(
            "select file_id, period_start, period_end from audit.file_registry "
            "where source is not distinct from ? and distributor_code is not distinct from ? "
            "and status in ('loaded', 'partial') order by file_id", [source, distributor]
        ).fetchall()
        parts.append(repr(rows))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Replaced:
    """A superseded file with the same bytes, and the loaded file that now stands for it."""

    file_id: int
    path: str
    current_id: int
    current_path: str


def replaced_version(con: duckdb.DuckDBPyConnection, sha256: str,
                     exclude_id: int | None = None) -> Replaced | None:
    """A superseded file holding exactly these bytes (an old version), followed along its
    `superseded_by` chain to the file that replaced it last."""
    index = _index(con)
    if index is not None:
        return index.replaced_version(sha256, exclude_id)
    row = con.execute(
        "select file_id, path, superseded_by from audit.file_registry where sha256 = ? "
        "and status = 'superseded' and superseded_by is not null and file_id <> ? "
        "order by file_id limit 1", [sha256, -1 if exclude_id is None else exclude_id]).fetchall()
    if not row:
        return None
    file_id, path, current = row[0]
    seen = {file_id}
    while True:
        step = con.execute("select path, status, superseded_by from audit.file_registry "
                           "where file_id = ?", [current]).fetchall()
        if not step:
            return Replaced(file_id, path, current, f"file {current}")
        current_path, status, newer = step[0]
        if status != "superseded" or newer is None or newer in seen:
            return Replaced(file_id, path, current, current_path)
        seen.add(current)
        current = newer


def first_with_bytes(con: duckdb.DuckDBPyConnection, sha256: str, path: str) -> int | None:
    """The first file elsewhere in the inbox with these bytes (what a duplicate duplicates)."""
    index = _index(con)
    if index is not None:
        return index.first_with_bytes(sha256, path)
    row = con.execute(
        "select min(file_id) from audit.file_registry where sha256 = ? and path <> ? "
        "and status <> 'duplicate'", [sha256, path]).fetchall()
    return row[0][0] if row and row[0][0] is not None else None


def next_file_id(con: duckdb.DuckDBPyConnection) -> int:
    index = _index(con)
    if index is not None:
        return index.top + 1
    row = con.execute("select coalesce(max(file_id), 0) + 1 from audit.file_registry").fetchall()
    return int(row[0][0])


def insert(con: duckdb.DuckDBPyConnection, reg: Registration) -> None:
    if reg.file_id is None:
        reg.file_id = next_file_id(con)
    values = reg.values()
    if (held := deferred(con)) is not None:  # written with the group's other rows
        held.add_registry(COLUMNS, values)
    else:
        con.execute(f"insert into audit.file_registry ({COLUMNS}) values "
                    f"({', '.join('?' * len(COLUMNS.split(',')))})", values)
    if reg.retry_key:
        set_retry_key(con, reg.file_id, reg.retry_key)
    if (index := _index(con)) is not None:
        index.add(reg.file_id, reg.path, reg.sha256, reg.status, reg.superseded_by,
                  Active(reg.source, reg.distributor_code, reg.period_start, reg.period_end,
                         reg.received_at, values[-1]))


def set_retry_key(con: duckdb.DuckDBPyConnection, file_id: int, key: str | None) -> None:
    """Record (or clear) what a rejected/conflict file's outcome depended on; the registry row
    itself is left alone."""
    if (held := deferred(con)) is not None:  # written with the group's other rows
        held.set_retry(file_id, key)
    elif key:  # one statement: file_id is the key
        con.execute("insert or replace into audit.file_retry values (?, ?)", [file_id, key])
    else:
        con.execute("delete from audit.file_retry where file_id = ?", [file_id])


# (size, mtime_ns, ctime_ns, inode, device): ctime cannot be set from user space (touch and
# os.utime set mtime and atime; they and any write bump ctime), so a file rewritten with the
# same size and its old mtime put back still has another stat.
Stat = tuple[int, int, int, int, int]
# a stat is kept only for a file not changed within this long before it was read: a write in
# the same timestamp tick as the read would leave the stat as it was (FAT: 2 s mtime steps)
STAT_SETTLE_NS = 2_000_000_000


def stat_of(st: os.stat_result) -> Stat:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass
class Stats:
    """The stats recorded for the registry's files, read once per run (`index`: (path, stat) ->
    sha256 of the bytes the file had with that stat), and those taken during the run, written
    at its end in one transaction (`pending`: file_id -> stat): not in the files' groups of
    commits (ingestion/batching.py), and a run stopped before its end only loses speed."""

    index: dict[tuple[str, Stat], str] = field(default_factory=dict)
    pending: dict[int, Stat] = field(default_factory=dict)


def stat_index(con: duckdb.DuckDBPyConnection) -> Stats:
    rows = con.execute("select r.path, r.sha256, s.size, s.mtime_ns, s.ctime_ns, s.inode, "
                       "s.device from audit.file_stat as s join audit.file_registry as r "
                       "using (file_id)").fetchall()
    return Stats({(path, (size, mtime, ctime, inode, device)): sha
                  for path, sha, size, mtime, ctime, inode, device in rows})


_STAT_COLUMNS = (("size", pa.int64()), ("mtime_ns", pa.int64()), ("ctime_ns", pa.int64()),
                 ("inode", pa.uint64()), ("device", pa.uint64()))  # audit.file_stat, a Stat's order


def write_stats(con: duckdb.DuckDBPyConnection, pending: dict[int, Stat]) -> None:
    """The stats taken during a run, for files whose record still exists."""
    if not pending:
        return
    # one statement each from an Arrow table: executemany ran a statement per file (3 s for
    # 2,000 files whose stat all moved, e.g. an inbox copied to another disk)
    ids = list(pending)
    stats = pa.table({"file_id": pa.array(ids, pa.int64()),
                      **{name: pa.array([pending[i][k] for i in ids], kind)
                         for k, (name, kind) in enumerate(_STAT_COLUMNS)}})
    con.register("sfe_pending_stats", stats)
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.file_stat "
                    "where file_id in (select file_id from sfe_pending_stats)")
        con.execute("insert into audit.file_stat select p.* from sfe_pending_stats as p "
                    "where p.file_id in (select file_id from audit.file_registry)")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("sfe_pending_stats")


def forget(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    """Drop a rejected/conflict record before the same file is recorded again (same id)."""
    con.execute("delete from audit.file_registry where file_id = ?", [file_id])
    con.execute("delete from audit.file_retry where file_id = ?", [file_id])
    con.execute("delete from audit.file_stat where file_id = ?", [file_id])
    if (index := _index(con)) is not None:
        index.drop(file_id)


@dataclass(frozen=True)
class Decision:
    status: str  # loaded (status then set by quarantine count) | superseded | conflict
    supersedes: tuple[int, ...] = ()
    other: int | None = None  # superseded_by / conflict_with
    reason: str | None = None


@dataclass(frozen=True)
class Candidate:
    file_id: int
    path: str
    start: dt.date
    end: dt.date
    received_at: dt.datetime
    products: frozenset[str]
    first_seen_at: dt.datetime | None = None

    def arrival(self) -> tuple[dt.datetime, dt.datetime]:
        return arrival_key(self.first_seen_at, self.received_at)


def arrival_key(first_seen_at: dt.datetime | None,
                received_at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """Arrival order: first seen by the registry, then mtime within one ingest."""
    return (first_seen_at or dt.datetime.now(), received_at or dt.datetime.min)


def _active_overlapping(con: duckdb.DuckDBPyConnection, table: str, source: str,
                        distributor: str, start: dt.date, end: dt.date) -> list[Candidate]:
    index = _index(con)
    if index is not None:
        rows = index.overlapping(source, distributor, start, end)
    else:
        rows = con.execute(
            "select file_id, path, period_start, period_end, received_at, "
            "coalesce(first_seen_at, loaded_at) from audit.file_registry "
            "where source = ? and distributor_code = ? and status in ('loaded', 'partial') "
            "and period_start <= ? and period_end >= ? order by file_id",
            [source, distributor, end, start]).fetchall()
    out = []
    for file_id, path, p_start, p_end, received, first_seen in rows:
        products = con.execute(f"select distinct product_name from {table} where file_id = ?",
                               [file_id]).fetchall()
        out.append(Candidate(file_id, path, p_start, p_end, received,
                             frozenset(p[0] for p in products if p[0] is not None), first_seen))
    return out


def decide(con: duckdb.DuckDBPyConnection, table: str, source: str, distributor: str,
           loaded: pl.DataFrame, date_col: str, received_at: dt.datetime,
           resolution: str | None = None, first_seen_at: dt.datetime | None = None) -> Decision:
    """Supersede, add or hold a flow/inventory file against what is already loaded.

    `resolution` is sales ops' decision for a file that would be a conflict: 'replace' makes it
    replace every overlapping file it shares products with; 'add' loads it beside them.
    `first_seen_at` is when the registry first saw this file (None: now, a new arrival)."""
    start, end = loaded[date_col].min(), loaded[date_col].max()
    arrival = arrival_key(first_seen_at, received_at)
    products = frozenset(loaded["product_name"].drop_nulls().unique().to_list())
    supersedes: list[int] = []
    for old in _active_overlapping(con, table, source, distributor, start, end):
        if not (products & old.products) or resolution == "add":
            continue  # same period, other products (a split file), or decided: adds up
        if resolution == "replace":
            supersedes.append(old.file_id)
            continue
        covers = start <= old.start and end >= old.end
        if covers and arrival >= old.arrival():
            supersedes.append(old.file_id)
            continue
        if old.start <= start and old.end >= end and old.arrival() > arrival:
            return Decision("superseded", other=old.file_id, reason=(
                f"an older version of {old.path} (file {old.file_id}, which arrived after this "
                f"file was first seen) which already covers {old.start}..{old.end}; "
                "nothing loaded"))
        inside = old.start <= start and old.end >= end
        how = (f"lies inside the period of {old.path} (file {old.file_id}, {old.start}.."
               f"{old.end}), which arrived earlier: an older version or a correction of part of it"
               if inside else f"overlaps {old.path} (file {old.file_id}, {old.start}..{old.end}) "
               "only in part")
        return Decision("conflict", other=old.file_id, reason=(
            f"period {start}..{end} {how}; nothing loaded. Decide in "
            "stewardship/file_decisions.yaml ('<this path>: replace' or ': add') and ingest "
            "again, or re-send one file covering the whole period"))
    return Decision("loaded", supersedes=tuple(supersedes))


def supersede(con: duckdb.DuckDBPyConnection, table: str, old_ids: tuple[int, ...],
              new_id: int) -> None:
    """Delete the rows of replaced files and mark them (inside the caller's transaction)."""
    for old in old_ids:
        con.execute(f"delete from {table} where file_id = ?", [old])
        con.execute("update audit.file_registry set status = 'superseded', superseded_by = ? "
                    "where file_id = ?", [new_id, old])
        if (index := _index(con)) is not None:
            index.superseded(old, new_id)


@dataclass
class Index:
    """What `replaced_version`, `first_with_bytes`, `next_file_id`, `decide` (the loaded files
    a period overlaps) and a conflict's `retry_key` ask of the registry, read once per run
    (issue 14: four queries a file cost more than parsing a small one) and kept in step by
    `insert`, `forget` and `supersede` on the same connection. It answers as the
    queries do; the ingest's connection (ingestion/batching.py) reads it again after a
    rollback, so it never holds what the database lost."""

    rows: dict[int, tuple[str, str, str, int | None]]  # file_id -> path, sha256, status, by
    by_sha: dict[str, set[int]] = field(default_factory=dict)
    top: int = 0  # the highest file_id
    active: dict[int, Active] = field(default_factory=dict)  # loaded and partial files

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> Index:
        index = cls({})
        for file_id, path, sha, status, by, *active in con.execute(
                "select file_id, path, sha256, status, superseded_by, source, distributor_code, "
                "period_start, period_end, received_at, coalesce(first_seen_at, loaded_at) "
                "from audit.file_registry").fetchall():
            index.add(file_id, path, sha, status, by, Active(*active))
        return index

    def add(self, file_id: int, path: str, sha: str, status: str, by: int | None,
            active: Active) -> None:
        self.rows[file_id] = (path, sha, status, by)
        self.by_sha.setdefault(sha, set()).add(file_id)
        self.top = max(self.top, file_id)
        if status in ACTIVE:
            self.active[file_id] = active

    def drop(self, file_id: int) -> None:
        row = self.rows.pop(file_id, None)
        self.active.pop(file_id, None)
        if row is not None:
            self.by_sha[row[1]].discard(file_id)
        if file_id == self.top:
            self.top = max(self.rows, default=0)

    def superseded(self, file_id: int, by: int) -> None:
        self.active.pop(file_id, None)
        if file_id in self.rows:
            path, sha, _, _ = self.rows[file_id]
            self.rows[file_id] = (path, sha, "superseded", by)

    def active_periods(self, source: str | None, distributor: str | None) -> list[tuple]:
        """`retry_key`'s query: (file_id, start, end) of the loaded files of a source and
        distributor, by file_id."""
        return [(i, a.start, a.end) for i, a in sorted(self.active.items())
                if a.source == source and a.distributor == distributor]

    def overlapping(self, source: str, distributor: str, start: dt.date, end: dt.date
                    ) -> list[tuple]:
        """`_active_overlapping`'s query: (file_id, path, start, end, received, first seen)."""
        return [(i, self.rows[i][0], a.start, a.end, a.received_at, a.first_seen)
                for i, a in sorted(self.active.items())
                if a.source == source and a.distributor == distributor and a.start is not None
                and a.end is not None and a.start <= end and a.end >= start]

    def replaced_version(self, sha: str, exclude_id: int | None) -> Replaced | None:
        old = [i for i in self.by_sha.get(sha, ()) if i != exclude_id and
               self.rows[i][2] == "superseded" and self.rows[i][3] is not None]
        if not old:
            return None
        file_id = min(old)
        path, _, _, current = self.rows[file_id]
        seen = {file_id}
        while True:
            if current not in self.rows:
                return Replaced(file_id, path, current, f"file {current}")  # type: ignore[arg-type]
            current_path, _, status, newer = self.rows[current]  # type: ignore[index]
            if status != "superseded" or newer is None or newer in seen:
                return Replaced(file_id, path, current, current_path)  # type: ignore[arg-type]
            seen.add(current)  # type: ignore[arg-type]
            current = newer

    def first_with_bytes(self, sha: str, path: str) -> int | None:
        return min((i for i in self.by_sha.get(sha, ()) if self.rows[i][0] != path
                    and self.rows[i][2] != "duplicate"), default=None)


@dataclass(frozen=True)
class Active:
    """What `decide` compares of a loaded file (Index.active)."""

    source: str | None
    distributor: str | None
    start: dt.date | None
    end: dt.date | None
    received_at: dt.datetime | None
    first_seen: dt.datetime | None


def deferred(con: object) -> Deferred | None:
    """The open group's held writes on the ingest's connection (GroupedWrites.deferred), if
    any: a write joins them instead of being a statement of its own."""
    held = getattr(con, "deferred", None)
    return held if isinstance(held, Deferred) else None


def _index(con: object) -> Index | None:
    """The in-memory index the ingest's connection carries (GroupedWrites.index), if any."""
    index = getattr(con, "index", None)
    return index if isinstance(index, Index) else None
