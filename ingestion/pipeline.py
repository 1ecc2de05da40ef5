"""`sfe ingest`: every file of the inbox into the raw layer, all or nothing per file (commits
grouped across files: batching.py).

Files are taken oldest first (modification time), so a re-send supersedes what it corrects;
across runs the registry's `first_seen_at` orders versions (registry.py). Each file ends
loaded, partial (some rows quarantined), rejected, duplicate, superseded or conflict, with
reasons; an error in one file never stops the others. A file already recorded
with the same path and bytes is skipped, so running the same inbox twice changes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl

from ingestion import registry
from ingestion.batching import GroupedWrites
from ingestion.ddl import ensure_tables
from ingestion.deferred import insert_frame
from ingestion.discover import BUSINESS_TZ, InboxFile, Skipped, scan
from ingestion.file_decisions import (ACK_PREFIX, Acknowledgement, load_acknowledgements,
                                      load_file_decisions)
from ingestion.fileparse import Outcome, ParseSpec, Rejected, _header  # noqa: F401 (_header:
# bench_scale's plain copies)
from ingestion.headers import MappingError, Mapping, load_mapping
from ingestion.parse import Parsed
from ingestion.isolation import (IsolatedReader, Limits, ReaderPool, ReadTask, default_workers,
                                 parse_file, read_grids)
from ingestion.readers import Grid, ReadError
from ingestion.registry import Registration
from ingestion.report import FUTURE_MTIME_FLAG, FileResult, IngestReport
from ingestion.sources import Source
from ingestion.spool import FileRef
from ingestion.values import product_keys
from sfe.config import ConfigError, Settings
from sfe.console import Console
from sfe.runs import new_run_id
from sfe.signals import is_interrupt
from sfe.warehouse import connect

RETRY_STATUSES = ("rejected", "conflict")  # re-examined on every run: a mapping may be fixed
# mtimes this far past the ingest's clock are a sender's clock (or a touch), not an arrival time
FUTURE_MTIME_TOLERANCE = dt.timedelta(minutes=15)
LOOK_PAST = 8  # files beyond the workers' count searched for the next ones likely read
GUESS_BYTES = 64 << 20  # bytes of guessed files held beyond one a worker (ReaderPool.prefetch)
Reader = IsolatedReader | ReaderPool


def ingest_inbox(settings: Settings, inbox: Path | None = None,
                 console: Console | None = None, run_id: str | None = None) -> IngestReport:
    console = console or Console(quiet=True)
    inbox = Path(inbox or settings.inbox)
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} does not exist; create it or pass another folder")
    seen_at = dt.datetime.now()  # first_seen_at of every file new in this run (one value)
    run_id = run_id or new_run_id("ingest")  # `sfe run` passes its own
    report = IngestReport(str(inbox), run_id)
    found = scan(inbox)
    files = found.files
    report.skipped = [asdict(s) for s in found.skipped]
    resolutions = load_file_decisions(settings)
    acks = load_acknowledgements(settings)
    limits = Limits(settings.ingest_memory_mb, settings.ingest_timeout_s)
    workers = default_workers(settings.ingest_workers)
    with connect(settings) as con, ReaderPool(limits, workers) as reader:
        ensure_tables(con)
        _record_skipped(con, found.skipped, run_id)
        writes = GroupedWrites(con)
        writes.meanwhile = reader.prefetch  # the workers parse on while a group is written
        writes.index = registry.Index.read(con)
        run = _Run(settings, writes, reader, run_id, console, resolutions, acks,
                   seen_at, registry.known_files(con), _last_seen(con), code_key(),
                   stats=registry.stat_index(con))
        group: list[int] = []  # files since the last commit (a lost group is written again)
        mark = _Mark.of(report)
        for n, _item in enumerate(console.track(files, description="ingesting files",
                                                total=len(files))):
            commits = run.writes.commits
            run.ingest(report, files, n)
            group.append(n)
            if not run.writes.lost and (run.writes.flush_if_due()
                                        or run.writes.commits != commits):
                group, mark = [], _Mark.of(report)
            if run.writes.lost:  # the group was rolled back: its files one transaction each
                run.redo_lost(report, files, group, mark)
                group, mark = [], _Mark.of(report)
        if not run.writes.flush():
            run.redo_lost(report, files, group, mark)  # the held writes failed: see batching
        registry.write_stats(con, run.stats.pending if run.stats else {})
    return report


@dataclass
class _Mark:
    """The report as of the last commit, to go back to when a group is rolled back."""
    files: int
    superseded: int
    states: list[tuple[str, list[str]]]

    @classmethod
    def of(cls, report: IngestReport) -> _Mark:
        return cls(len(report.files), len(report.superseded),
                   [(f.status, list(f.reasons)) for f in report.files])

    def restore(self, report: IngestReport) -> None:
        del report.files[self.files:]
        del report.superseded[self.superseded:]
        for f, (status, reasons) in zip(report.files, self.states):
            f.status, f.reasons = status, reasons


@dataclass
class _Run:
    """What every file of one ingest shares."""
    settings: Settings
    writes: GroupedWrites
    reader: ReaderPool
    run_id: str
    console: Console
    resolutions: dict[str, str]
    acks: dict[str, Acknowledgement]
    seen_at: dt.datetime
    records: dict[tuple[str, str], registry.Known]
    last_seen: dict[str, tuple[str, dt.datetime]]
    code: str
    products: tuple[str, ...] | None = None  # read once the masters (sorted first) are in
    stats: registry.Stats | None = None  # registry.stat_index
    # the next files' read tasks, built once each: (index in the inbox, product keys) -> task
    ahead: dict[tuple[int, tuple[str, ...]], ReadTask | None] = field(default_factory=dict)

    def ingest(self, report: IngestReport, files: list[InboxFile], n: int) -> None:
        item = files[n]
        if self.products is None and item.folder != "master":
            self.products = load_product_keys(self.writes)  # type: ignore[arg-type]
        self.reader.upcoming = self._next_tasks(files, n)
        result = ingest_file(self.writes, self.settings, item, self.run_id,  # type: ignore[arg-type]
                             self.console, self.products or (),
                             resolution=self.resolutions.get(item.rel), seen_at=self.seen_at,
                             reader=self.reader, ack=self.acks.get(item.rel),
                             records=self.records, code=self.code, stats=self.stats)
        self.reader.prefetch(0)  # a worker done meanwhile takes its next file now
        if result.supersedes:  # other files' records changed: the snapshot follows
            registry.mark_superseded(self.records, result.supersedes)
        _mark_superseded(report, result)
        report.files.append(result)

    def _next_tasks(self, files: list[InboxFile], n: int) -> list[ReadTask]:
        """The read tasks of the files likely read after file n, nearest first (guesses:
        `_upcoming`): one per worker, then more up to the pool's `lookahead` while their bytes,
        held here until read, stay within GUESS_BYTES (a few huge files must not be held 16
        at a time)."""
        want, products = self.reader.lookahead, self.products or ()
        for key in [k for k in self.ahead if k[0] <= n or k[1] != products]:
            del self.ahead[key]
        tasks: list[ReadTask] = []
        held = 0
        for k in range(n + 1, min(len(files), n + 1 + want + LOOK_PAST)):
            if len(tasks) >= self.reader.workers and held >= GUESS_BYTES:
                break
            if (k, products) not in self.ahead:
                self.ahead[(k, products)] = _upcoming(self.last_seen, self.settings,
                                                      files[k:k + 1], products)
            task = self.ahead[(k, products)]
            if task is not None:
                tasks.append(task)
                held += len(task.raw)
                if len(tasks) == want:
                    break
        return tasks

    def redo_lost(self, report: IngestReport, files: list[InboxFile], indices: list[int],
                  mark: _Mark) -> None:
        """A rolled-back group (`writes.lost`): the report back to its last commit, the
        group's files written again one transaction each."""
        if not self.writes.lost:
            return
        self.writes.discard()
        mark.restore(report)
        self.redo(report, files, indices)

    def redo(self, report: IngestReport, files: list[InboxFile], indices: list[int]) -> None:
        """Files of a rolled-back group again, each committed on its own."""
        self.products = None  # the masters may have been in the lost group
        self.records = registry.known_files(self.writes)  # type: ignore[arg-type]
        self.writes.solo = True
        try:
            for n in indices:
                self.ingest(report, files, n)
        finally:
            self.writes.solo = False


def _record_skipped(con: duckdb.DuckDBPyConnection, skipped: list[Skipped], run_id: str) -> None:
    """`audit.inbox_skipped` holds what the latest scan set aside, for the Loads page."""
    now = dt.datetime.now()
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.inbox_skipped")
        if skipped:
            con.executemany("insert into audit.inbox_skipped values (?, ?, ?, ?)",
                            [[s.path, s.reason, run_id, now] for s in skipped])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _mark_superseded(report: IngestReport, result: FileResult) -> None:
    """Files of this run that a later file of the same run replaced end as `superseded`."""
    for earlier in report.files:
        if earlier.file_id in result.supersedes:
            earlier.status = "superseded"
            earlier.reasons.append(f"superseded by {result.path} (file {result.file_id}) "
                                   "in the same run; its rows were replaced")
    report.superseded.extend(result.supersedes)


def ingest_command(settings: Settings, args: argparse.Namespace, console: Console) -> IngestReport:
    return ingest_inbox(settings, getattr(args, "inbox", None), console)


def ingest_file(con: duckdb.DuckDBPyConnection, settings: Settings, item: InboxFile,
                run_id: str, console: Console, products: tuple[str, ...] = (),
                resolution: str | None = None, seen_at: dt.datetime | None = None,
                reader: Reader | None = None,
                ack: Acknowledgement | None = None,
                records: dict[tuple[str, str], registry.Known] | None = None,
                code: str = "",
                stats: registry.Stats | None = None) -> FileResult:
    """One file, start to end; never raises (an unexpected error rejects the file).
    `resolution` is sales ops' decision for a conflicting file ('replace' or 'add');
    `seen_at` is this ingest's start, the first_seen_at of files it sees for the first time;
    `ack` a person's `ignore` of a rejected file; `reader` reads it in an isolated worker;
    `records` the registry's `known_files` read once per run (None: one query for this file);
    `code` the reader's `code_key()`, part of a rejected/conflict file's retry key;
    `stats` the registry's `stat_index`: a file loaded before whose stat is unchanged is not
    read again; the stat of a loaded file read again is added to it, for the end of the run to
    write (not at its load: that stays one transaction, and a file just copied in is not settled)."""
    same = _loaded_by_stat(item, records, stats.index) if stats else None
    if same is not None:
        return same
    try:
        read_at = time.time_ns()
        stat = None if item.unopened else os.stat(item.path)
        raw = b"" if item.unopened else _read_whole(item.path)
    except OSError as exc:
        return FileResult(item.rel, item.source.name if item.source else None, "rejected",
                          reasons=[f"cannot be opened ({exc.strerror}); check the file's "
                                   "permissions or copy it again"])
    except Rejected as exc:
        raw, changed = b"", str(exc)
    else:
        changed = None
    unread = item.unopened or changed is not None
    sha = hashlib.sha256(f"unread:{item.rel}".encode() if unread else raw).hexdigest()
    reg = Registration(item.rel, sha, item.source.name if item.source else (item.folder or None),
                       item.source.entity if item.source else None, item.distributor_code,
                       item.received_at, "rejected", run_id)
    known = records.get((item.rel, sha)) if records is not None \
        else registry.known_path(con, item.rel, sha)
    if ack and known and known.status == "rejected":
        return _acknowledged(con, reg, known, ack)  # set aside by a person: not read again
    if unread:
        reg.reasons = [item.problem or changed or ""]
        return _reject(con, reg, known, ack)
    if blank(raw):
        known = known if known and known.status in RETRY_STATUSES else None
    elif known and known.status not in RETRY_STATUSES:
        if not _sent_again(item, known):
            _keep_stat(stats, item, known.file_id, stat, read_at)
            return _already_ingested(reg, known)
        known = None  # an old version copied in again: a new arrival, judged below
    reg.first_seen_at = (known.first_seen_at if known else None) or seen_at or dt.datetime.now()
    clock = _future_mtime(item, console)
    stale = registry.replaced_version(con, sha, known.file_id if known else None) \
        if not blank(raw) else None
    if stale is not None and resolution is None:
        return _hold_old_version(con, reg, stale, known, clock)
    twin = registry.first_with_bytes(con, sha, item.rel) if not blank(raw) and not stale else None
    if twin is not None and known is None:
        reg.status, reg.duplicate_of = "duplicate", twin
        reg.reasons = [f"same bytes as file {twin}; skipped (not counted twice)"]
        registry.insert(con, reg)
        return _result(reg, reg.status, reg.reasons, reg.file_id)
    reg.retry_key = _retry_inputs(settings, item, sha, resolution, products, clock, code)
    if known and known.status in RETRY_STATUSES and known.retry_key and known.retry_key == \
            registry.retry_key(con, reg.retry_key, known.status, reg.source, reg.distributor_code):
        return _unchanged(reg, known)
    try:
        per_distributor = item.source is not None and item.source.per_distributor
        outcome = _read_and_parse(settings, item, raw, products if per_distributor else (),
                                  reader)
        return _load(con, item, reg, outcome, known, resolution, clock)
    except Rejected as exc:
        reg.reasons = [str(exc), *clock]
    except ConfigError:
        raise  # the reader cannot work at all: a setting to fix, not this file's fault
    except Exception as exc:  # noqa: BLE001 - one broken file must not stop the run
        if is_interrupt(exc):  # a stop signal inside a query: stop, the file is not to blame
            raise KeyboardInterrupt(str(exc)) from exc
        console.warn(f"{item.rel}: unexpected error\n{traceback.format_exc()}")
        reg.reasons = [f"could not be processed ({type(exc).__name__}: {str(exc)[:300]}); "
                       "report this file to the data team"]
    return _reject(con, reg, known, ack)


def _already_ingested(reg: Registration, known: registry.Known) -> FileResult:
    return _result(reg, "duplicate", [f"already ingested as file {known.file_id} "
                                      f"({known.status}); skipped"], known.file_id)


def _loaded_by_stat(item: InboxFile, records: dict[tuple[str, str], registry.Known] | None,
                    stats: dict[tuple[str, registry.Stat], str]) -> FileResult | None:
    """`already ingested` without reading the file, when its stat is the one it had when its
    bytes were read and hashed (same inode, device, size, mtime and ctime: not rewritten since,
    registry.Stat) and those bytes' record is a load, not a rejected/conflict file (those
    depend on more than their bytes: judged as before) nor an old version sent again."""
    if item.unopened or item.problem or records is None:
        return None
    try:
        sha = stats.get((item.rel, registry.stat_of(os.stat(item.path))))
    except OSError:
        return None  # read below, which says why
    known = records.get((item.rel, sha)) if sha else None
    if known is None or known.status in RETRY_STATUSES or _sent_again(item, known):
        return None
    reg = Registration(item.rel, sha, item.source.name if item.source else (item.folder or None),
                       item.source.entity if item.source else None, item.distributor_code,
                       item.received_at, known.status, "")
    return _already_ingested(reg, known)


def _keep_stat(stats: registry.Stats | None, item: InboxFile, file_id: int | None,
               before: os.stat_result | None, read_at: int) -> None:
    """Keep the stat the file had while its bytes were read (written at the run's end): the
    same after the read, and settled (not changed within registry.STAT_SETTLE_NS before it, so
    that a write in the same timestamp tick as the read cannot hide behind it)."""
    if stats is None or before is None or file_id is None:
        return
    stat = registry.stat_of(before)
    if max(before.st_mtime_ns, before.st_ctime_ns) >= read_at - registry.STAT_SETTLE_NS:
        return
    try:
        if registry.stat_of(os.stat(item.path)) == stat:
            stats.pending[file_id] = stat
    except OSError:
        return


def code_key() -> str:
    """The reader's own code and synonyms: a new release may read a file it rejected before."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *here.glob("*.yaml")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _retry_inputs(settings: Settings, item: InboxFile, sha: str, resolution: str | None,
                  products: tuple[str, ...], clock: list[str], code: str) -> str:
    """Everything besides the registry that decides a read file's outcome (registry.retry_key
    adds the rest): its bytes and mtime, its distributor's mapping file, the decision for it,
    the product master, the mtime flag, the reader's code and its limits (a file rejected as too
    large or too slow to read is read again once the limit is raised). Any change → read again."""
    mapping = settings.mappings_dir / f"{item.distributor_code}.yaml"
    try:
        mapping_bytes = mapping.read_bytes() if item.distributor_code else b""
    except OSError:
        mapping_bytes = b"-"  # absent (or unreadable: read_and_parse reports it)
    digest = hashlib.sha256()
    limits = f"{settings.ingest_memory_mb}\0{settings.ingest_timeout_s}"
    for part in (sha, item.rel, item.received_at.isoformat(), resolution or "", code, limits,
                 "\0".join(products), "\0".join(clock)):
        digest.update(part.encode() + b"\x1f")
    digest.update(mapping_bytes)
    return digest.hexdigest()


def _unchanged(reg: Registration, known: registry.Known) -> FileResult:
    """A rejected/conflict file whose outcome cannot differ from last time: not read again."""
    result = _result(reg, known.status, list(known.reasons), known.file_id)
    result.unchanged_since = known.run_id
    return result


def blank(raw: bytes) -> bool:
    """Empty or only whitespace, without copying the file's bytes (`raw.strip()` copies)."""
    return not raw or raw.isspace()


def _read_whole(path: Path) -> bytes:
    """The file's bytes, rejected when it changed while being read (a copy still running)."""
    before = os.stat(path)
    raw = path.read_bytes()
    after = os.stat(path)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or \
            len(raw) != after.st_size:
        raise Rejected("changed while it was being read (still being copied or rewritten?); "
                       "nothing loaded. It is read again on the next run")
    return raw


def _reject(con: duckdb.DuckDBPyConnection, reg: Registration, known: registry.Known | None,
            ack: Acknowledgement | None) -> FileResult:
    reg.status = "rejected"
    reg.rows_read = reg.rows_loaded = reg.rows_quarantined = 0
    reg.period_start = reg.period_end = None
    if ack:
        reg.reasons.append(ack.note())
    result = _record_unloaded(con, reg, known)
    result.acknowledged = ack.note() if ack else None
    return result


def _acknowledged(con: duckdb.DuckDBPyConnection, reg: Registration, known: registry.Known,
                  ack: Acknowledgement) -> FileResult:
    """A rejected file a person set aside: its reasons keep the decision, nothing is re-read."""
    reg.reasons = [r for r in known.reasons if not r.startswith(ACK_PREFIX)]
    return _reject(con, reg, known, ack)


def _sent_again(item: InboxFile, known: registry.Known) -> bool:
    """A superseded file's bytes put back at its path (a newer mtime): sent again, not a rerun."""
    return (known.status == "superseded" and known.received_at is not None
            and item.received_at > known.received_at)


def _future_mtime(item: InboxFile, console: Console) -> list[str]:
    """A reason (and a warning) when the file's mtime lies in the future: its arrival order
    comes from when the registry first saw it, so the stamp cannot make it win."""
    now = dt.datetime.now(BUSINESS_TZ).replace(tzinfo=None)
    if item.received_at <= now + FUTURE_MTIME_TOLERANCE:
        return []
    note = (f"{FUTURE_MTIME_FLAG} {item.received_at:%Y-%m-%d %H:%M} (Asia/Shanghai) is later "
            "than the ingest that read it; arrival order uses when the registry first saw the "
            "file, not this stamp. Check the sender's or the file server's clock")
    console.warn(f"{item.rel}: {note}")
    return [note]


def _hold_old_version(con: duckdb.DuckDBPyConnection, reg: Registration,
                      old: registry.Replaced, known: registry.Known | None,
                      clock: list[str]) -> FileResult:
    """Bytes of a superseded file sent again: a person decides; nothing loaded meanwhile."""
    reg.status, reg.conflict_with = "conflict", old.current_id
    reg.rows_read = reg.rows_loaded = reg.rows_quarantined = 0
    reg.reasons = [
        f"same bytes as {old.path} (file {old.file_id}), an older version that {old.current_path} "
        f"(file {old.current_id}) replaced; nothing loaded. If the old figures are right after "
        f"all, write '{reg.path}: replace' in stewardship/file_decisions.yaml and ingest again; "
        "otherwise remove this file from the inbox", *clock]
    return _record_unloaded(con, reg, known)


def _result(reg: Registration, status: str, reasons: list[str], file_id: int | None) -> FileResult:
    return FileResult(reg.path, reg.source, status, reg.rows_read, reg.rows_loaded,
                      reg.rows_quarantined, list(reasons), file_id, reg.distributor_code)


def _record_unloaded(con: duckdb.DuckDBPyConnection, reg: Registration,
                     known: registry.Known | None) -> FileResult:
    """A rejected/conflict file: recorded once; re-runs with the same outcome change nothing."""
    if reg.retry_key and reg.status in RETRY_STATUSES:
        reg.retry_key = registry.retry_key(con, reg.retry_key, reg.status, reg.source,
                                           reg.distributor_code)
    else:
        reg.retry_key = None  # only a read file's rejected/conflict outcome can be kept
    if known and known.status == reg.status and list(known.reasons) == reg.reasons:
        if known.retry_key != reg.retry_key:  # same outcome, new inputs: only the key moves
            registry.set_retry_key(con, known.file_id, reg.retry_key)
        return _result(reg, reg.status, reg.reasons, known.file_id)
    con.execute("begin transaction")
    try:
        if known:
            registry.forget(con, known.file_id)
            reg.file_id = known.file_id
        registry.insert(con, reg)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return _result(reg, reg.status, reg.reasons, reg.file_id)


# -- reading and parsing ----------------------------------------------------------------------

def load_product_keys(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Names from the product master (every snapshot), for the unknown-product check."""
    rows = con.execute("select distinct generic_name, brand_name from raw.master__products"
                       ).fetchall()
    return tuple(product_keys([n for row in rows for n in row if n]))


def _read_and_parse(settings: Settings, item: InboxFile, raw: bytes,
                    products: tuple[str, ...] = (), reader: Reader | None = None
                    ) -> Outcome:
    """Read and parse in the reader worker (or here without one); Rejected with the reason."""
    if item.problem:
        raise Rejected(item.problem)
    if not raw:
        raise Rejected("is empty (0 bytes); ask the sender for the file again")
    task = _parse_task(settings, item, raw, products)
    try:
        return reader.parse(task) if reader else parse_file(task, Limits())
    except ReadError as exc:
        raise Rejected(f"the file {exc}") from exc


def _parse_task(settings: Settings, item: InboxFile, raw: bytes,
                products: tuple[str, ...]) -> ReadTask:
    """The file's read and parse as one task for the worker; Rejected for a broken mapping."""
    source = item.source
    assert source is not None
    try:
        mapping = load_mapping(settings.mappings_dir, item.distributor_code, source)
    except MappingError as exc:
        raise Rejected(str(exc)) from exc
    spec = ParseSpec(source, mapping, item.distributor_code, item.name_date,
                     item.received_at.date(), products if source.per_distributor else ())
    return replace(read_task(item, raw, mapping), parse=spec)


def _read_grids(item: InboxFile, raw: bytes, mapping: Mapping,
                reader: Reader | None = None) -> list[Grid]:
    """Without a reader (tests, one-off calls) the file is read here, without limits."""
    if not raw:
        raise Rejected("is empty (0 bytes); ask the sender for the file again")
    task = read_task(item, raw, mapping)
    try:
        grids = reader.read(task) if reader else read_grids(task, Limits())
    except ReadError as exc:
        raise Rejected(f"the file {exc}") from exc
    if not grids:
        raise Rejected("the workbook has no sheet with data")
    return grids


def read_task(item: InboxFile, raw: bytes, mapping: Mapping) -> ReadTask:
    """The file's read; a worker given it reads the file itself (`FileRef`: checked to hold
    these bytes) instead of receiving them through its pipe."""
    return ReadTask(raw, Path(item.rel).suffix.lower(), mapping.sheet, mapping.encoding,
                    mapping.delimiter, file=FileRef.for_task(item.path, raw))


def _last_seen(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, dt.datetime]]:
    """Each path's latest status and mtime in the registry, read once per run (one query per
    file cost more than reading it, at 1,000 files)."""
    rows = con.execute("select path, arg_max(status, file_id), arg_max(received_at, file_id) "
                       "from audit.file_registry group by path").fetchall()
    return {path: (status, received) for path, status, received in rows}


def _upcoming(last_seen: dict[str, tuple[str, dt.datetime]], settings: Settings,
              following: list[InboxFile], products: tuple[str, ...] = ()) -> ReadTask | None:
    """The next file's read, for the reader to start while this one is parsed and loaded;
    None when it will likely not be read (a file already loaded, one that cannot be opened).
    A guess only: `ingest_file` decides as before, and a read it does not ask for is dropped."""
    if not following or following[0].unopened or following[0].problem:
        return None
    item = following[0]
    if item.source is None:
        return None
    last = last_seen.get(item.rel)
    if last and last[1] == item.received_at:
        return None  # most likely the same file again: a duplicate, or a rejected/conflict
        # file whose retry key is unchanged, is not read
    try:
        raw = item.path.read_bytes()
        return _parse_task(settings, item, raw, products) if not blank(raw) else None
    except (OSError, Rejected):
        return None


def preview_file(settings: Settings, item: InboxFile, raw: bytes,
                 products: tuple[str, ...] = ()) -> Outcome:
    """Read, recognise headers, map and validate one file exactly as `ingest_file` does, and
    write nothing (the Loads page's upload preview), in the same isolated worker with the same
    limits, so an uploaded file cannot hurt the dashboards. Raises Rejected with the reason."""
    limits = Limits(settings.ingest_memory_mb, settings.ingest_timeout_s)
    with IsolatedReader(limits) as reader:
        return _read_and_parse(settings, item, raw, products, reader)


# -- loading ----------------------------------------------------------------------------------

def _load(con: duckdb.DuckDBPyConnection, item: InboxFile, reg: Registration, outcome: Outcome,
          known: registry.Known | None, resolution: str | None = None,
          clock: list[str] | None = None) -> FileResult:
    source = item.source
    assert source is not None
    parsed = outcome.parsed
    reg.rows_read = parsed.rows_read
    reg.rows_loaded, reg.rows_quarantined = parsed.loaded.height, parsed.quarantined.height
    reg.reasons = _quarantine_summary(parsed.quarantined) + outcome.notes + (clock or [])
    decision = registry.Decision("loaded")
    if outcome.period_col and parsed.loaded.height:
        reg.period_start = parsed.loaded[outcome.period_col].min()
        reg.period_end = parsed.loaded[outcome.period_col].max()
        decision = registry.decide(con, source.table, source.name, item.distributor_code or "",
                                   parsed.loaded, outcome.period_col, item.received_at,
                                   resolution, reg.first_seen_at)
    if decision.status != "loaded":
        return _hold(con, reg, decision, known, clock or [])
    reg.status = "partial" if reg.rows_quarantined else "loaded"
    _commit(con, reg, source, parsed, decision.supersedes, known)
    result = _result(reg, reg.status, reg.reasons, reg.file_id)
    result.supersedes = list(decision.supersedes)
    if decision.supersedes:
        result.reasons.append(f"replaces the rows of file(s) {list(decision.supersedes)} "
                              "for the same period")
    return result


def _hold(con: duckdb.DuckDBPyConnection, reg: Registration, decision: registry.Decision,
          known: registry.Known | None, clock: list[str]) -> FileResult:
    """Conflict or stale re-send: recorded, nothing loaded (rows counted as read: none)."""
    held = reg.rows_read
    reg.status = decision.status
    reg.rows_read = reg.rows_loaded = reg.rows_quarantined = 0
    reg.reasons = [f"{decision.reason} ({held} rows held)", *clock]
    if decision.status == "conflict":
        reg.conflict_with = decision.other
    else:
        reg.superseded_by = decision.other
    return _record_unloaded(con, reg, known)


def _quarantine_summary(quarantined: pl.DataFrame, limit: int = 5) -> list[str]:
    if quarantined.height == 0:
        return []
    top = (quarantined.group_by("reason").agg(pl.len().alias("n"), pl.col("source_row").min())
           .sort(["n", "source_row"], descending=[True, False]).head(limit))  # ties: by row,
    # so the reasons (and the registry row) are the same on every run
    return [f"{n} rows quarantined (first at row {row}): {reason}"
            for reason, n, row in top.iter_rows()]


def _commit(con: duckdb.DuckDBPyConnection, reg: Registration, source: Source, parsed: Parsed,
            supersedes: tuple[int, ...], known: registry.Known | None) -> None:
    """Rows, quarantine, registry and supersedes in ONE transaction: all or nothing."""
    con.execute("begin transaction")
    try:
        if known:
            registry.forget(con, known.file_id)
        reg.file_id = known.file_id if known else registry.next_file_id(con)
        registry.supersede(con, source.table, supersedes, reg.file_id)
        _insert_rows(con, reg, source, parsed)
        registry.insert(con, reg)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _insert_rows(con: duckdb.DuckDBPyConnection, reg: Registration, source: Source,
                 parsed: Parsed) -> None:
    loaded = parsed.loaded.with_columns(pl.lit(reg.file_id, pl.Int64).alias("file_id"))
    _insert_frame(con, source.table, loaded)
    if parsed.quarantined.height == 0:
        return
    q = parsed.quarantined.with_columns(
        pl.lit(reg.file_id, pl.Int64).alias("file_id"), pl.lit(source.name).alias("source"),
        pl.lit(reg.distributor_code, pl.String).alias("distributor_code"),
        pl.lit(dt.datetime.now()).alias("quarantined_at"))
    _insert_frame(con, "quarantine.rows", q)


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Rows into a table by name: held for the group's one insert (ingestion/deferred.py)
    while a group is open, else inserted now."""
    if (held := registry.deferred(con)) is not None:
        held.add_rows(table, frame)
    else:
        insert_frame(con, table, frame)
