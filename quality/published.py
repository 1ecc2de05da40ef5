"""What readers use: the published snapshot and its status. Dashboards, the scorecard and
`sfe status` call these and never open the working warehouse.

Layout under settings.published_dir:

    current.duckdb            the published snapshot (a hard link to one file in snapshots/),
                              replaced in one atomic rename; open it read-only
    snapshots/<id>.duckdb     the last `settings.snapshots_kept` snapshots
    status.json               last good snapshot, last check, last publish attempt and why it
                              was refused (written atomically by `sfe check` / `sfe publish`)

Readers open the snapshot file that current.duckdb is a hard link to (found by inode), never
current.duckdb by name: DuckDB opens a database file three times on connect (magic bytes, the
headers, then the blocks under a read lock), so a publish renaming current.duckdb between two of
those opens would hand a reader one snapshot's header and another snapshot's blocks (seen as
"Table publish_info does not exist", or a deserialization error). Snapshot files are written
once and never replaced, only pruned; a reader that loses one to pruning just resolves again.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from sfe.config import Settings

STATUS_FILE_NAME = "status.json"


class NoPublishedSnapshot(FileNotFoundError):
    """Nothing has been published yet (or the published file is gone)."""


def status_path(settings: Settings) -> Path:
    return settings.published_dir / STATUS_FILE_NAME


def snapshots_dir(settings: Settings) -> Path:
    return settings.published_dir / "snapshots"


def current_snapshot_file(settings: Settings) -> Path:
    """The immutable snapshot file that current.duckdb is: open this one, not current.duckdb."""
    try:
        ino = settings.published_db.stat().st_ino
    except FileNotFoundError:
        raise NoPublishedSnapshot(
            f"no published warehouse at {settings.published_db}: nothing has passed the quality "
            "gates yet; run 'sfe run' (or 'sfe check' then 'sfe publish')") from None
    folder = snapshots_dir(settings)
    for snap in sorted(folder.glob("*.duckdb"), reverse=True) if folder.is_dir() else []:
        try:
            if snap.stat().st_ino == ino:
                return snap
        except FileNotFoundError:  # pruned while we looked
            continue
    # No hard links on this file system (publish copied the file): status.json names it.
    named = read_status_file(settings).get("current", {}).get("path")
    if named and Path(named).is_file():
        return Path(named)
    return settings.published_db


def open_published(settings: Settings, attempts: int = 5) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current published snapshot; close it when done."""
    for attempt in range(attempts):
        path = current_snapshot_file(settings)
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error:
            if path.exists() or attempt == attempts - 1:
                raise
            # pruned between finding and opening it: a newer snapshot is current now
    raise AssertionError("unreachable")  # pragma: no cover


def read_status_file(settings: Settings) -> dict[str, Any]:
    path = status_path(settings)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError):
        return {}


def write_status_file(settings: Settings, **sections: Any) -> dict[str, Any]:
    """Update top-level sections of status.json atomically (temp file + rename)."""
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    doc = read_status_file(settings)
    doc.update(sections)
    doc["published_db"] = str(settings.published_db)
    fd, tmp = tempfile.mkstemp(prefix=".status-", suffix=".json.tmp", dir=settings.published_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, status_path(settings))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return doc


def read_publish_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    try:
        cur = con.execute("select * from audit.publish_info order by published_at desc limit 1")
    except duckdb.CatalogException:
        return None
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(names, row)}


def published_status(settings: Settings) -> dict[str, Any]:
    """The data status dashboards show at the top of every page, and `sfe status` prints.

    data_status:
      'none'     nothing published yet: show no numbers;
      'passed'   the published snapshot comes from the latest check, which passed;
      'stale'    the latest check or publish failed (see `reason`): the numbers shown are the
                 last good snapshot, as of `as_of_date`, and the page must say so.
    """
    doc = read_status_file(settings)
    info = None
    if settings.published_db.exists():
        try:
            con = open_published(settings)
        except (duckdb.Error, NoPublishedSnapshot):
            con = None
        if con is not None:
            try:
                info = read_publish_info(con)
            finally:
                con.close()
    last_check = doc.get("last_check")
    last_attempt = doc.get("last_attempt")
    if info is None:
        data_status, reason = "none", "nothing has been published yet"
        if last_attempt and last_attempt.get("outcome") != "published":
            reason = last_attempt.get("reason") or reason
        elif last_check and last_check.get("status") == "failed":
            reason = last_check.get("reason") or reason
    else:
        data_status, reason = "passed", None
        if last_attempt and last_attempt.get("outcome") != "published":
            data_status, reason = "stale", last_attempt.get("reason")
        elif last_check and last_check.get("run_id") != info.get("run_id") \
                and last_check.get("status") == "failed":
            data_status, reason = "stale", last_check.get("reason")
    snaps = sorted(p.stem for p in snapshots_dir(settings).glob("*.duckdb")) \
        if snapshots_dir(settings).is_dir() else []
    return {
        "data_status": data_status,
        "reason": reason,
        "published_db": str(settings.published_db),
        "published": info is not None,
        "snapshot_id": info.get("snapshot_id") if info else None,
        "published_at": info.get("published_at") if info else None,
        "as_of_date": info.get("as_of_date") if info else None,
        "run_id": info.get("run_id") if info else None,
        "gate_status": info.get("gate_status") if info else None,
        "last_check": last_check,
        "last_attempt": last_attempt,
        "snapshots": snaps,
        "status_file": str(status_path(settings)),
    }
