"""How a file's bytes and its parsed rows cross between the loading process and the reader
worker (ingestion/isolation.py) without going through the pipe.

Through a pipe every byte is copied four or five times (pickled, written, read in chunks,
joined, unpickled) and every copy lands on fresh pages: at 10 M flow rows that was ~3 CPU s a
GB each way, on a run bound by CPU. Instead:

- a task names its file (`FileRef`): the worker reads the file itself and checks that it
  holds the bytes the loading process read and hashed (size and CRC-32); a file changed in
  between is the file's error, as a file changed while being read is;
- the worker writes a large answer's rows as an Arrow IPC file in a folder of its own
  (`spool_folder`: shared memory when the machine has it, else the temp folder) and sends the
  file's name; the loading process maps it (no copy) and removes the name at once, so a file
  lives only while its rows are in use. Where the file cannot be written (a full /dev/shm),
  the rows go through the pipe as before.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

SPOOL_FROM_BYTES = 1 << 20  # smaller answers and tasks cross in the pipe: one write each
SHARED_MEMORY = Path("/dev/shm")
PREFIX = "sfe-rows-"  # then the loading process's pid: a folder whose process is gone is stale
CHANGED = ("changed while it was being read (still being copied or rewritten?); nothing "
           "loaded. It is read again on the next run")


def spool_folder(shared: Path = SHARED_MEMORY) -> Path:
    """A new private folder for one worker's answers: in shared memory when there is some (no
    disk write-back for data that lives a second), else in the temp folder. The folders of
    killed runs there are removed first: shared memory is RAM until the machine restarts."""
    base = shared if _usable(shared) else Path(tempfile.gettempdir())
    remove_stale(base)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))


def remove_stale(base: Path) -> list[Path]:
    """Spool folders in `base` whose process is gone (killed before it could remove them)."""
    gone = []
    for folder in base.glob(f"{PREFIX}*-*"):
        pid = folder.name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or not folder.is_dir() or folder.is_symlink():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        gone.append(folder)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive, and not ours to clean
        return True
    return True


def _usable(folder: Path) -> bool:
    try:
        return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) and \
            shutil.disk_usage(folder).free > 256 << 20
    except OSError:
        return False


def remove_folder(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


# -- the task: the file by name, checked ---------------------------------------------------------

@dataclass(frozen=True)
class FileRef:
    """The file the loading process read: where it is and what it held."""

    path: str  # absolute
    size: int
    crc: int

    @classmethod
    def of(cls, path: Path | str, raw: bytes) -> FileRef:
        return cls(os.path.abspath(path), len(raw), zlib.crc32(raw))

    @classmethod
    def for_task(cls, path: Path | str, raw: bytes) -> FileRef | None:
        """The reference a task carries: only for a file large enough to be read by name (a
        smaller one crosses whole, and its CRC would be computed for nothing)."""
        return cls.of(path, raw) if len(raw) >= SPOOL_FROM_BYTES else None


def read_checked(ref: FileRef) -> bytes | None:
    """The file's bytes when they are the ones `ref` describes, else None (changed, replaced
    by another kind of file, or gone). A FIFO swapped in is not waited on."""
    try:
        fd = os.open(ref.path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(ref.size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return raw if len(raw) == ref.size and zlib.crc32(raw) == ref.crc else None


# -- the answer: rows in a mapped Arrow file -------------------------------------------------

def ipc_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_ipc(buf, compression="uncompressed")
    return buf.getvalue()


def write_spooled(frame: pl.DataFrame, folder: str) -> str | None:
    """The frame as an Arrow IPC file in `folder`, its path; None when it cannot be written
    there (the caller sends the rows in the pipe)."""
    try:
        fd, path = tempfile.mkstemp(suffix=".arrow", dir=folder)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as fh:
            frame.write_ipc(fh, compression="uncompressed")
    except OSError:
        Path(path).unlink(missing_ok=True)
        return None
    return path


def read_spooled(path: str) -> pl.DataFrame:
    """The rows of a spooled file, mapped, not copied; its name is removed at once (the mapping
    keeps the rows readable until the frame is dropped)."""
    import pyarrow as pa
    import pyarrow.ipc

    try:
        table = pyarrow.ipc.open_file(pa.memory_map(path)).read_all()
    finally:
        Path(path).unlink(missing_ok=True)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def read_ipc_bytes(data: bytes) -> pl.DataFrame:
    """pyarrow's IPC reader over the received bytes, without a copy: the parent decodes every
    file's rows (40 files of ~14 k rows: 0.009 s against 0.152 s for `pl.read_ipc`)."""
    import pyarrow.ipc

    frame = pl.from_arrow(pyarrow.ipc.open_file(data).read_all())
    assert isinstance(frame, pl.DataFrame)
    return frame
