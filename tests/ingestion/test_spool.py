"""A large file and its parsed rows cross between the loading process and the reader worker
outside the pipe (ingestion/spool.py): the worker reads the file by name and must find the
bytes the loading process read; it hands large parsed rows back as a mapped Arrow file whose
name is gone as soon as they are taken in. Whatever the way, the rows are the ones parsed in
this process."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import time
from pathlib import Path

import pytest

from ingestion.fileparse import ParseSpec
from ingestion.headers import Mapping
from ingestion.isolation import IsolatedReader, Limits, ReadTask, parse_file
from ingestion.readers import ReadError
from ingestion.sources import FLOW
from ingestion.spool import SPOOL_FROM_BYTES, FileRef, read_checked
from tests.ingestion.conftest import FLOW_HEADER

SPEC = ParseSpec(FLOW, Mapping("D01"), "D01", None, dt.date(2026, 4, 1))
ROW = "2026-03-{day:02d},北京协和医院{n},阿莫西林胶囊,0.25g*24,B{n:05d},{q},盒,{a}"
ROWS = 40_000  # ~3 MB of text: above SPOOL_FROM_BYTES, so both ways go outside the pipe


def big_file(path: Path, rows: int = ROWS) -> bytes:
    lines = [FLOW_HEADER] + [ROW.format(day=1 + n % 28, n=n, q=1 + n % 9, a=10 * (1 + n % 9))
                             for n in range(rows)]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(raw)
    return raw


def by_name(path: Path, raw: bytes) -> ReadTask:
    return ReadTask(raw, ".csv", parse=SPEC, file=FileRef.for_task(path, raw))


def test_a_large_file_read_by_name_gives_the_rows_parsed_here(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    raw = big_file(path)
    assert len(raw) >= SPOOL_FROM_BYTES
    with IsolatedReader(Limits()) as reader:
        got = reader.parse(by_name(path, raw))
        spool = reader._spool
        assert list(spool.iterdir()) == [], "the rows' file is unnamed once they are taken in"
    here = parse_file(ReadTask(raw, ".csv", parse=SPEC), Limits())
    assert got.parsed.loaded.equals(here.parsed.loaded)
    # by hand: every row loaded, quantities 1..9 in turn
    assert got.parsed.loaded.height == ROWS
    assert got.parsed.loaded["quantity"].sum() == sum(1 + n % 9 for n in range(ROWS))
    assert not spool.exists(), "the worker's folder goes with the reader"


def test_a_file_changed_after_it_was_read_is_the_files_error(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    raw = big_file(path)
    task = by_name(path, raw)
    changed = raw.replace(b"B00001", b"B99999")  # same size, other bytes
    path.write_bytes(changed)
    with IsolatedReader(Limits()) as reader:
        with pytest.raises(ReadError, match="changed while it was being read"):
            reader.parse(task)
        path.write_bytes(raw)  # back as it was read: the same worker reads it
        assert reader.parse(task).parsed.loaded.height == ROWS


def test_a_fifo_swapped_in_for_the_file_is_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    raw = big_file(path)
    task = by_name(path, raw)
    path.unlink()
    os.mkfifo(path)  # a read of it would block until someone writes
    started = time.monotonic()
    with IsolatedReader(Limits(seconds=30)) as reader:
        with pytest.raises(ReadError, match="changed while it was being read"):
            reader.parse(task)
    assert time.monotonic() - started < 20
    assert read_checked(FileRef(str(tmp_path / "gone.csv"), 1, 0)) is None


def test_rows_that_cannot_be_spooled_come_through_the_pipe(tmp_path: Path) -> None:
    path = tmp_path / "flow.csv"
    parsed = parse_file(ReadTask(big_file(path), ".csv", parse=SPEC), Limits()).parsed
    parsed.spool = str(tmp_path / "no-such-folder")  # as a full or vanished /dev/shm
    back = pickle.loads(pickle.dumps(parsed))
    assert back.loaded.equals(parsed.loaded)
    parsed.spool = str(tmp_path)
    back = pickle.loads(pickle.dumps(parsed))
    assert back.loaded.equals(parsed.loaded) and list(tmp_path.glob("*.arrow")) == []


def test_a_small_task_still_crosses_whole(tmp_path: Path) -> None:
    """Below SPOOL_FROM_BYTES the bytes go in the pipe: the worker does not read the name."""
    path = tmp_path / "small.csv"
    raw = (FLOW_HEADER + "\n" + ROW.format(day=5, n=1, q=2, a=20) + "\n").encode()
    path.write_bytes(raw)
    task = by_name(path, raw)
    path.unlink()
    with IsolatedReader(Limits()) as reader:
        assert reader.parse(task).parsed.loaded.height == 1


def test_a_killed_runs_spool_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    """Shared memory is RAM until a restart: the folder a SIGKILLed run left (its process
    gone) goes when the next reader starts; a live process's folder stays."""
    import subprocess
    import sys

    from ingestion.spool import PREFIX, spool_folder

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"{PREFIX}{done.stdout.strip()}-abc"
    dead.mkdir()
    (dead / "rows.arrow").write_bytes(b"x" * 1000)
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / "sfe-rows-notapid-x"
    other.mkdir()
    if not tmp_path.is_dir() or os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize \
            < 300 << 20:
        pytest.skip("the test folder has too little room to stand in for /dev/shm")
    mine = spool_folder(tmp_path)
    assert not dead.exists() and live.is_dir() and other.is_dir()
    assert mine.parent == tmp_path and mine.name.startswith(f"{PREFIX}{os.getpid()}-")
