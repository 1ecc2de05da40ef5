"""Reading untrusted files in a worker process, under a memory cap and a time limit.

A native reader (calamine for Excel, polars for CSV) can be made to allocate terabytes by a
5 KB file: a workbook with one cell at XFD1048576, a zip bomb, an .xls whose DIMENSIONS record
claims four billion rows. Such an allocation aborts the whole process, so no Python `except`
can catch it. Every file is therefore read in a worker process (spawned once per run and
reused) whose address space is capped with RLIMIT_AS; before an Excel reader sees a workbook,
its declared size is checked against that cap. A worker that dies, runs out of time or memory
rejects that one file with a reason; the next file gets a fresh worker.
"""

from __future__ import annotations

import fcntl
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_answers
from pathlib import Path

from ingestion.biff import ContainerError, sheet_dimensions
from ingestion.fileparse import Outcome, ParseSpec, Rejected, parse_grids
from ingestion.readers import Grid, ReadError, read_excel, read_table_file, read_text, sniff_format
from ingestion.spool import CHANGED, FileRef, read_checked, remove_folder, spool_folder
from sfe.config import ConfigError

AHEAD_PER_WORKER = 8  # files guessed ahead per worker, for `ReaderPool.prefetch`
MAX_READY_BYTES = 256 << 20  # answers kept in this process before they are asked for
PIPE_BYTES = 1 << 20  # /proc/sys/fs/pipe-max-size's default
BYTES_PER_CELL = 64  # calamine's cell (32 B) plus its copy as text: a generous estimate
MIN_BOMB_BYTES = 50 << 20  # below this, a high compression ratio is harmless
XLS_MAX_ROWS, XLS_MAX_COLS = 65_536, 256  # what the .xls (BIFF8) format can hold
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_ROW = re.compile(rb'<row r="(\d+)"')
_WIDE_CELL = re.compile(rb'<c r="([A-Z]{3})\d+"')  # columns AAA.. (703+): rare in real files
_SST_COUNT = re.compile(rb'<sst[^>]*?uniqueCount="(\d+)"')
_OOM = re.compile(r"memory allocation of (\d+) bytes failed")
# RLIMIT_AS caps address space, not use: each thread's stack and each malloc arena reserves
# some. A reader needs few threads; without these a many-core server would hit the cap at start.
STARTUP_SECONDS = 120.0  # importing polars and calamine on a busy machine
WORKER_ENV = {"POLARS_MAX_THREADS": "2", "RAYON_NUM_THREADS": "2", "MALLOC_ARENA_MAX": "2"}


@dataclass(frozen=True)
class Limits:
    """What one file may cost to read (settings `ingest_memory_mb`, `ingest_timeout_s`)."""

    memory_mb: int = 2048
    seconds: float = 120.0
    max_ratio: float = 100.0  # uncompressed / compressed size of a workbook (zip bombs)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb << 20

    @property
    def max_cells(self) -> int:
        return self.memory_bytes // BYTES_PER_CELL


@dataclass(frozen=True)
class ReadTask:
    raw: bytes
    suffix: str
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    parse: ParseSpec | None = None  # set: the worker also parses the grids (`parse_file`)
    # the file `raw` was read from: a large task reaches the worker as this name, and the
    # worker reads the file itself (ingestion/spool.py)
    file: FileRef | None = None
    unread: str | None = None  # in the worker: why the named file could not be read as sent

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        rest = (self.suffix, self.sheet, self.encoding, self.delimiter, self.parse)
        if self.file is not None:  # set only for a large file (`FileRef.for_task`)
            return _task_from_file, (self.file, *rest)
        return ReadTask, (self.raw, *rest, None, self.unread)


def _task_from_file(file: FileRef, *rest: object) -> ReadTask:
    """The task as the worker unpickles it: the named file's bytes, when they are still the
    ones the loading process read."""
    raw = read_checked(file)
    return ReadTask(raw or b"", *rest, unread=None if raw is not None else CHANGED)  # type: ignore[arg-type]


SELF_TEST = ReadTask(b"a,b\n1,2\n", ".csv")  # a worker that cannot read this is misconfigured


def read_grids(task: ReadTask, limits: Limits) -> list[Grid]:
    """The file as grids, read in this process, without a cap; ReadError if unreadable."""
    check(task, limits)
    return _read(task)


def parse_file(task: ReadTask, limits: Limits) -> Outcome:
    """The file read and parsed in this process, without a cap; ReadError if unreadable,
    Rejected if no sheet holds the source's data."""
    assert task.parse is not None
    return _parsed(read_grids(task, limits), task.parse)


def _parsed(grids: list[Grid], spec: ParseSpec) -> Outcome:
    if not grids:
        raise Rejected("the workbook has no sheet with data")
    return parse_grids(grids, spec)


def check(task: ReadTask, limits: Limits) -> None:
    """What a workbook declares, checked in plain Python before any native reader sees it."""
    kind = sniff_format(task.raw, task.suffix)
    if kind == "xlsx":
        check_xlsx(task.raw, limits)
    elif kind == "xls":
        check_xls(task.raw, limits)


def _read(task: ReadTask) -> list[Grid]:
    kind = sniff_format(task.raw, task.suffix)
    if kind in ("xlsx", "xls"):
        return read_excel(task.raw, kind, task.sheet)
    if kind in ("parquet", "jsonl"):
        return [read_table_file(task.raw, kind)]
    return [read_text(task.raw, task.encoding, task.delimiter)]


# -- checks before a native reader sees a workbook -------------------------------------------

def _too_big(what: str, needed: int, limits: Limits) -> ReadError:
    return ReadError(
        f"{what}: about {needed / 2**30:.1f} GB to read, more than the reader's limit of "
        f"{limits.memory_mb} MB. Open it in Excel, delete the stray cells far right or below "
        "the data (Ctrl+End shows the last used cell) and save it again, or ask the data team "
        "to raise `ingest_memory_mb`")


def check_xlsx(raw: bytes, limits: Limits) -> None:
    """Sizes the workbook declares, before calamine allocates for them (zip bombs included)."""
    try:
        zf = zipfile.ZipFile(_Bytes(raw))
    except zipfile.BadZipFile:
        return  # calamine reports a damaged workbook in its own words
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if total > limits.memory_bytes or (
                total > MIN_BOMB_BYTES and total > limits.max_ratio * max(len(raw), 1)):
            raise ReadError(
                f"unpacks to {total / 2**20:,.0f} MB from {len(raw) / 2**20:,.1f} MB (a zip "
                f"bomb, or far beyond the reader's limit of {limits.memory_mb} MB); it was not "
                "opened. Ask the sender for a plain export of the data")
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                _check_sheet(zf, info, limits)
            elif info.filename == "xl/sharedStrings.xml":
                _check_shared_strings(zf, info, limits)


def _check_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    sheet = info.filename.rsplit("/", 1)[-1]
    max_row, max_col, dimension = 0, 0, ""
    tail = b""
    with zf.open(info) as stream:
        while chunk := stream.read(1 << 20):
            text = tail + chunk
            if not dimension and (m := _DIMENSION.search(text)):
                dimension = m[0].decode()[16:-1]
                max_col = max(column_number(m[1]), column_number(m[3] or m[1]))
                max_row = max(int(m[2]), int(m[4] or m[2]))
            max_row = max([max_row, *map(int, _ROW.findall(text))])
            for letters in _WIDE_CELL.findall(text):
                max_col = max(max_col, column_number(letters))
            tail = text[-64:]
    cells = max_row * max(max_col, 1)
    if cells > limits.max_cells:
        where = f" ({dimension})" if dimension else ""
        raise _too_big(f"has a sheet ({sheet}) that declares {max_row:,} rows × {max_col:,} "
                       f"columns{where}", cells * BYTES_PER_CELL, limits)


def _check_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    with zf.open(info) as stream:
        head = stream.read(4096)
    m = _SST_COUNT.search(head)
    count = int(m[1]) if m else 0
    if count * BYTES_PER_CELL > limits.memory_bytes:
        raise _too_big(f"declares {count:,} distinct texts",
                       count * BYTES_PER_CELL, limits)


def column_number(letters: bytes) -> int:
    """b'A' → 1, b'XFD' → 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def check_xls(raw: bytes, limits: Limits) -> None:
    """Every sheet's DIMENSIONS record must stay within what the .xls format can hold.

    The records are walked in order (`ingestion.biff`): the record's id also occurs inside cell
    data. A container this walk cannot follow is left to the reader, which still runs under the
    worker's memory cap and time limit.
    """
    try:
        dimensions = list(sheet_dimensions(raw))
    except ContainerError:
        return
    for first_row, last_row, first_col, last_col in dimensions:
        if first_row <= last_row <= XLS_MAX_ROWS and first_col <= last_col <= XLS_MAX_COLS:
            continue
        raise ReadError(
            f"declares a sheet of {last_row:,} rows × {last_col:,} columns, more than an .xls "
            f"workbook can hold ({XLS_MAX_ROWS:,} × {XLS_MAX_COLS}); the file is damaged or "
            "crafted and was not opened. Ask the sender to save it again as .xlsx")


class _Bytes:
    """A seekable view on bytes without copying them (zipfile needs seek/tell/read)."""

    def __init__(self, data: bytes) -> None:
        self._view, self._pos = memoryview(data), 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n is None or n < 0 else min(self._pos + n, len(self._view))
        out = bytes(self._view[self._pos:end])
        self._pos = end
        return out


# -- the worker process -----------------------------------------------------------------------

def serve(memory_bytes: int, spool: str | None = None) -> None:
    """Worker loop: tasks on stdin, results on stdout (large parsed rows as files in `spool`,
    ingestion/spool.py)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    tasks = Connection(os.dup(0), writable=False)
    results = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not corrupt the result channel
    _read(SELF_TEST)  # dies here, before any inbox file, when the cap is too tight to work
    results.send(("ready", None))
    while True:
        try:
            task = tasks.recv()
        except EOFError:
            return
        if task is None:
            return
        results.send(_answer(task, spool))


def _answer(task: ReadTask, spool: str | None = None) -> tuple[str, object]:
    if task.unread:
        return "error", task.unread
    try:
        grids = _read(task)
    except ReadError as exc:
        return "error", str(exc)
    except MemoryError:
        return "memory", ""
    except Exception as exc:  # noqa: BLE001 - a reader's bug rejects the file, not the run
        return "error", (f"cannot be read ({type(exc).__name__}: {str(exc)[:200]}); "
                         "report this file to the data team")
    if task.parse is None:
        return "ok", grids
    try:  # only the typed rows travel back, not the grids of text
        outcome = _parsed(grids, task.parse)
        outcome.parsed.spool = spool
        return "ok", outcome
    except Rejected as exc:
        return "rejected", str(exc)
    except MemoryError:
        return "memory", ""
    except Exception as exc:  # noqa: BLE001 - a parser's bug rejects the file, not the run
        traceback.print_exc()  # the worker's log: the data team's clue
        return "rejected", (f"could not be processed ({type(exc).__name__}: {str(exc)[:300]}); "
                            "report this file to the data team")


class IsolatedReader:
    """One worker process reused for every file of a run; replaced when a file kills it.

    A plain subprocess, not multiprocessing: spawn would re-import the caller's main module
    (a script, an Airflow task), and fork would copy DuckDB's threads.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._proc: subprocess.Popen[bytes] | None = None
        self._tasks: Connection | None = None
        self._results: Connection | None = None
        # a task sent ahead (`read(..., then=)`) and when: the worker reads the next file
        # while this process parses and loads the current one (2 cores both busy)
        self._pending: tuple[ReadTask, float] | None = None
        self.upcoming: ReadTask | None = None  # the default `then` of the next read (one use)
        fd, self._log = tempfile.mkstemp(prefix="sfe-reader-", suffix=".log")
        os.close(fd)
        self._spool = spool_folder()  # the worker's large answers (ingestion/spool.py)

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, task: ReadTask, then: ReadTask | None = None) -> list[Grid]:
        """The file's grids, read by the worker under the limits. `then`, the file likely read
        next, is handed to the worker as soon as this one's result is in, so it is read while
        the caller works on this one; a `read` of another task discards it unused."""
        assert task.parse is None
        return self._run(task, then)  # type: ignore[return-value]

    def parse(self, task: ReadTask, then: ReadTask | None = None) -> Outcome:
        """The file read and parsed by the worker under the limits (`read`'s `then` likewise);
        Rejected when no sheet holds the source's data."""
        assert task.parse is not None
        return self._run(task, then)  # type: ignore[return-value]

    def _run(self, task: ReadTask, then: ReadTask | None) -> object:
        then, self.upcoming = then or self.upcoming, None
        sent_at = self._take_pending(task)
        if sent_at is None:
            check(task, self.limits)  # streams the zip in chunks: safe in this process
            sent_at = self._send(task)
        status, payload = self._receive(sent_at)
        if then is not None:
            self._send_ahead(then)
        if status == "memory":
            self._stop()
        return _answer_value(status, payload, self.limits)

    def _send(self, task: ReadTask) -> float:
        tasks, _ = self._worker()
        try:
            tasks.send(task)
        except OSError:
            raise ReadError(self._death()) from None
        return time.monotonic()

    def _receive(self, sent_at: float) -> tuple[str, object]:
        """The worker's answer within the time limit (counted from when the task was sent)."""
        assert self._results is not None
        try:
            left = max(0.0, sent_at + self.limits.seconds - time.monotonic())
            if not self._results.poll(left):
                self._stop()
                raise ReadError(
                    f"took longer than {self.limits.seconds:g} s to read and was stopped; "
                    "ask the sender for a smaller or plainer export (or the data team to "
                    "raise `ingest_timeout_s`)")
            return self._results.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            raise ReadError(self._death()) from None

    def _send_ahead(self, task: ReadTask) -> None:
        """Start the next file now; a file the checks refuse is not sent (its own read says
        why), and a failure here is the next read's to report."""
        try:
            check(task, self.limits)
            self._pending = (task, self._send(task))
        except ReadError:
            self._pending = None

    def _take_pending(self, task: ReadTask) -> float | None:
        """When the task sent ahead is this one, when it was sent; any other is discarded (a
        worker it killed or stalled is replaced, not blamed on this file)."""
        if self._pending is None:
            return None
        ahead, sent_at = self._pending
        self._pending = None
        if ahead == task:
            return sent_at
        try:
            self._receive(sent_at)
        except ReadError:
            self._stop()
            self._proc = None
        return None

    def collect_ahead(self) -> tuple[ReadTask, tuple[str, object]] | None:
        """The task sent ahead and the worker's answer, once the worker is done with it (None
        while it works); the worker is then free. A worker the file killed answers as the
        file's error, blamed on that file only if someone asks for it."""
        if self._pending is None or self._results is None:
            return None
        try:
            if not self._results.poll(0):
                return None
        except (EOFError, OSError):
            pass  # died: the receive below says how
        task, sent_at = self._pending
        self._pending = None
        try:
            answer = self._receive(sent_at)
        except ReadError as exc:
            return task, ("error", str(exc))
        if answer[0] == "memory":
            self._stop()
        return task, answer

    def overdue(self) -> bool:
        """The task sent ahead has had its time (`limits.seconds`) and is not answered."""
        return self._pending is not None and \
            time.monotonic() > self._pending[1] + self.limits.seconds

    @property
    def busy(self) -> Connection | None:
        """The channel of the worker's answer to a task sent ahead, if it holds one."""
        return self._results if self._pending is not None else None

    @property
    def ahead(self) -> ReadTask | None:
        """The task sent ahead and not yet asked for, if any."""
        return self._pending[0] if self._pending else None

    def send_ahead(self, task: ReadTask) -> None:
        """Start `task` now in an idle worker (ReaderPool); the checks as `then`'s."""
        assert self._pending is None
        self._send_ahead(task)

    def drop_ahead_if_done(self) -> None:
        """Free the worker of a task sent ahead that nobody will ask for, once its answer is
        in (a worker it killed is replaced, no file blamed); one still working is left be."""
        if self._pending is None or self._results is None:
            return
        try:
            done = self._results.poll(0)
        except (EOFError, OSError):
            done = True
        if done:
            self._take_pending(SELF_TEST)

    def close(self) -> None:
        if self._tasks is not None and self._proc is not None and self._proc.poll() is None:
            try:
                self._tasks.send(None)
                self._proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()
        Path(self._log).unlink(missing_ok=True)
        remove_folder(self._spool)

    def _worker(self) -> tuple[Connection, Connection]:
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            root = str(Path(__file__).resolve().parent.parent)
            code = (f"import sys; sys.path.insert(0, {root!r}); "
                    "from ingestion.isolation import serve; "
                    f"serve({self.limits.memory_bytes}, {str(self._spool)!r})")
            with open(self._log, "wb") as log:
                self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=log,
                                              env={**os.environ, **WORKER_ENV})
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._tasks = Connection(os.dup(self._proc.stdin.fileno()), readable=False)
            self._results = Connection(os.dup(self._proc.stdout.fileno()), writable=False)
            for conn in (self._tasks, self._results):
                _widen_pipe(conn.fileno())
            self._proc.stdin.close()
            self._proc.stdout.close()
            self._await_ready()
        assert self._tasks is not None and self._results is not None
        return self._tasks, self._results

    def _await_ready(self) -> None:
        """A worker that cannot even start is the settings' fault, not the next file's."""
        assert self._results is not None
        try:
            if self._results.poll(STARTUP_SECONDS) and self._results.recv()[0] == "ready":
                return
        except (EOFError, OSError):
            pass
        self._stop()
        lines = Path(self._log).read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise ConfigError(
            f"the file reader cannot start with ingest_memory_mb = {self.limits.memory_mb} "
            f"({(lines or ['no message'])[-1][:200]}); raise `ingest_memory_mb` in sfe.toml "
            "(1024 or more)")

    def _stop(self) -> None:
        self._pending = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()
        for conn in (self._tasks, self._results):
            if conn is not None:
                conn.close()
        self._tasks = self._results = None

    def _death(self) -> str:
        """Why the worker died, in words for the person who must act."""
        code = self._proc.wait() if self._proc is not None else None
        self._stop()
        self._proc = None
        log = Path(self._log).read_text(encoding="utf-8", errors="replace")
        oom = _OOM.findall(log)
        if oom:
            return _too_big("made the reader ask for more memory than allowed", int(oom[-1]),
                            self.limits).args[0]
        return (f"made the reader crash (exit code {code}); the file is damaged or built to "
                "break readers and was not loaded. Open it in Excel and save it again, or ask "
                "the sender for a fresh export")


def _widen_pipe(fd: int) -> None:
    """A 1 MB pipe instead of 64 KB: a file's bytes and its parsed rows cross in a few
    writes instead of hundreds of 64 KB hand-offs between the processes (Linux only; where
    the system refuses, the default stays)."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:
        pass


def _answer_value(status: str, payload: object, limits: Limits) -> object:
    """A worker's answer as the caller's result, or the file's error raised."""
    if status == "ok":
        return payload
    if status == "rejected":
        raise Rejected(str(payload))
    if status == "memory":
        raise _too_big("needs more memory than allowed", limits.memory_bytes + 1, limits)
    raise ReadError(str(payload))


class ReaderPool:
    """Several reader workers parsing the files likely read next in parallel (setting
    `ingest_workers`): the caller still asks for one file at a time, in its own order, so every
    decision taken on the results is as with one worker. Each worker is an `IsolatedReader`
    with its own memory cap and time limit; a file that kills, stalls or overfills its worker
    is rejected as itself and only that worker is replaced.

    `upcoming` is the caller's guess of the next files (nearest first), one use, as
    `IsolatedReader.upcoming`: after each answer every idle worker takes the next of them not
    already in a worker. A file asked for that no worker holds goes to an idle worker (or one
    holding a guess that was not asked for, whose answer is then dropped).

    `prefetch` keeps the workers busy while the caller waits on something else (the group's
    DuckDB write, issue 14): done answers are taken in and kept, and each freed worker gets
    the next guess, up to `lookahead` files and `max_ready_bytes` of answers kept."""

    def __init__(self, limits: Limits | None = None, workers: int = 1,
                 max_ready_bytes: int = MAX_READY_BYTES) -> None:
        self.limits = limits or Limits()
        self._readers = [IsolatedReader(self.limits) for _ in range(max(1, workers))]
        self.upcoming: list[ReadTask] = []
        self.max_ready_bytes = max_ready_bytes
        self._guesses: list[ReadTask] = []  # the last guesses taken, for `prefetch`
        self._ready: list[tuple[ReadTask, tuple[str, object], int]] = []  # task, answer, bytes

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workers(self) -> int:
        return len(self._readers)

    @property
    def lookahead(self) -> int:
        """How many of the next files the caller should guess (`upcoming`)."""
        return self.workers * AHEAD_PER_WORKER

    def read(self, task: ReadTask) -> list[Grid]:
        assert task.parse is None
        return self._run(task)  # type: ignore[return-value]

    def parse(self, task: ReadTask) -> Outcome:
        assert task.parse is not None
        return self._run(task)  # type: ignore[return-value]

    def _run(self, task: ReadTask) -> object:
        guesses, self.upcoming = self.upcoming, []
        self._guesses = guesses
        self._await_held(task)
        kept = self._take_ready(task)
        if kept is not None:
            self._top_up(guesses)
            return _answer_value(*kept, self.limits)
        reader = self._holding(task) or self._spare(guesses)
        try:
            result = reader._run(task, None)
        except (ReadError, Rejected):
            self._top_up(guesses)
            raise
        self._top_up(guesses)
        return result

    def _holding(self, task: ReadTask) -> IsolatedReader | None:
        return next((r for r in self._readers if r.ahead == task), None)

    def _spare(self, guesses: list[ReadTask]) -> IsolatedReader:
        """An idle worker, else one holding a task not among the guesses, else the one
        holding the farthest guess."""
        idle = [r for r in self._readers if r.ahead is None]
        if idle:
            return idle[0]
        stale = [r for r in self._readers if r.ahead not in guesses]
        if stale:
            return stale[0]
        return max(self._readers, key=lambda r: guesses.index(r.ahead))  # type: ignore[arg-type]

    def _top_up(self, guesses: list[ReadTask]) -> None:
        self._ready = [kept for kept in self._ready if kept[0] in guesses]  # the rest: stale
        for reader in self._readers:
            if reader.ahead is not None and reader.ahead not in guesses:
                reader.drop_ahead_if_done()
        if self._ready_bytes() >= self.max_ready_bytes:
            return
        for task in guesses:
            if self._holding(task) is not None or any(kept[0] == task for kept in self._ready):
                continue
            idle = next((r for r in self._readers if r.ahead is None), None)
            if idle is None:
                return
            idle.send_ahead(task)

    def prefetch(self, wait: float) -> bool:
        """Take in the answers of workers done with a guess and hand them the next guesses,
        waiting at most `wait` seconds for one; False when no worker is busy (nothing to
        wait for until the caller asks for a file)."""
        busy = [r.busy for r in self._readers if r.busy is not None]
        if not busy:
            return False
        if wait_for_answers(busy, wait):
            for reader in self._readers:
                kept = reader.collect_ahead()
                if kept is not None:
                    self._ready.append((*kept, _answer_bytes(kept[1])))
            self._top_up(self._guesses)
        return True

    def _await_held(self, task: ReadTask) -> None:
        """While a worker works on `task`, the other workers' answers are taken in as they
        come and those workers given the next guesses, so none waits on this process. Past
        the task's time limit the holding worker's own receive judges it."""
        guesses = self._guesses
        self._guesses = [task, *guesses]  # its answer, once in, is kept for this call
        try:
            while (reader := self._holding(task)) is not None and not reader.overdue():
                self.prefetch(0.05)
        finally:
            self._guesses = guesses

    def _take_ready(self, task: ReadTask) -> tuple[str, object] | None:
        for at, (kept, answer, _size) in enumerate(self._ready):
            if kept == task:
                del self._ready[at]
                return answer
        return None

    def _ready_bytes(self) -> int:
        return sum(size for _task, _answer, size in self._ready)

    def close(self) -> None:
        self._ready = []
        for reader in self._readers:
            reader.close()


def _answer_bytes(answer: tuple[str, object]) -> int:
    """About what a kept answer holds in memory (parsed rows or grids)."""
    payload = answer[1]
    if isinstance(payload, Outcome):
        return payload.parsed.loaded.estimated_size() + payload.parsed.quarantined.estimated_size()
    if isinstance(payload, list):
        return sum(g.frame.estimated_size() for g in payload if isinstance(g, Grid))
    return 0


def default_workers(setting: int) -> int:
    """`ingest_workers`: 0 is one per core, at most 2 (this process loads meanwhile)."""
    return setting if setting > 0 else max(1, min(2, os.cpu_count() or 1))
