"""The candidate snapshot: the frozen copy of the working warehouse that `sfe check` checks and
`sfe publish` promotes, so what readers get is byte for byte what the gates saw.

    published/candidates/<run_id>.duckdb        the latest checked candidate (one is kept)
    published/candidates/.tmp-<run_id>.duckdb   a candidate being checked (a killed check
                                                leaves it; the next check or publish removes it)

`sfe check` copies the working file under the writer lock (nothing can write meanwhile), runs
the gates on the copy, stores the gate run in it, checkpoints and closes it, and records its
sha256 with the gate run in the working warehouse. `sfe publish` refuses a candidate that is
missing or whose sha256 differs, and data that changed in the working warehouse since. The
sha256 is kept beside the candidate with its stat (`<run_id>.duckdb.sealed.json`), so a publish
right after the check hashes nothing while no one has written the file since.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from quality import store
from sfe.config import Settings
from sfe.warehouse import set_memory_limit, sql_name, sql_string

TMP_PREFIX = ".tmp-"
SEALED = "sealed"  # the stamp kept beside a candidate: its sha256 and stat when sealed


def candidates_dir(settings: Settings) -> Path:
    return settings.published_dir / "candidates"


def candidate_path(settings: Settings, candidate_id: str) -> Path:
    return candidates_dir(settings) / f"{candidate_id}.duckdb"


def catalog_alias(con: duckdb.DuckDBPyConnection) -> str:
    """The working warehouse's catalog name: dbt views name it ("working"."marts"...), so a
    copy must be attached under the same name for them to resolve."""
    return con.execute("select current_database()").fetchone()[0]


def freeze(settings: Settings, con: duckdb.DuckDBPyConnection, candidate_id: str) -> Path:
    """Copy the working warehouse (`con` holds its writer lock) to a temporary candidate file."""
    folder = candidates_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(f"{TMP_PREFIX}*"):  # of a killed check; we hold the lock
        leftover.unlink(missing_ok=True)
    con.execute("checkpoint")  # fold the WAL into the file before copying it
    tmp = folder / f"{TMP_PREFIX}{candidate_id}.duckdb"
    shutil.copyfile(settings.working_db, tmp)
    return tmp


@contextmanager
def attached(settings: Settings, path: Path, alias: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose default catalog is the file at `path`, named `alias`; checkpointed
    and detached on a clean exit so the file holds everything (no WAL beside it)."""
    con = duckdb.connect()
    quoted = sql_name(alias)
    try:
        set_memory_limit(con, settings)
        con.execute(f"attach {sql_string(str(path))} as {quoted}")
        con.execute(f"use {quoted}")
        yield con
        con.execute(f"checkpoint {quoted}")
        con.execute("use memory")
        con.execute(f"detach {quoted}")
    finally:
        con.close()
    if Path(str(path) + ".wal").exists():  # pragma: no cover - checkpoint folds it in
        raise RuntimeError(f"{path} still has a WAL after checkpoint")


def seal(settings: Settings, tmp: Path, candidate_id: str) -> str:
    """Give the checked temp file its final name, keep only it, and return its sha256 (also
    kept beside it with the file's stat: `sealed_sha256`)."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    final = candidate_path(settings, candidate_id)
    os.replace(tmp, final)
    for other in candidates_dir(settings).iterdir():
        if other.name.endswith(".duckdb") and other != final:
            other.unlink(missing_ok=True)  # disk stays bounded: only the latest is kept
        elif other.name.endswith(f".{SEALED}.json") and other != store.stamp_path(final, SEALED):
            other.unlink(missing_ok=True)
    sha = file_sha256(final)
    store.record_stamp(final, sha, SEALED)
    return sha


def sealed_sha256(path: Path) -> str:
    """The candidate's sha256: as `seal` hashed it while the file is exactly as it was then
    (same inode, size, mtime and ctime: nothing wrote it since, quality/store.stamped), else
    hashed again (1 s a GB)."""
    return store.stamped(path, SEALED) or file_sha256(path)


def checked_fingerprint(settings: Settings, run: dict[str, Any]) -> str | None:
    """store.fingerprint of the data a gate run checked: recorded, or, where the check deferred
    it, taken from the run's candidate (a copy of the working data; the check writes only
    audit into it). None when neither is there: the data cannot be told the same."""
    if run.get("fingerprint"):
        return str(run["fingerprint"])
    path = candidate_path(settings, run["candidate_id"]) if run.get("candidate_id") else None
    if path is None or not path.is_file():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        set_memory_limit(con, settings)
        return store.fingerprint(con)
    finally:
        con.close()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
