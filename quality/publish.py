"""`sfe publish`: promote the candidate snapshot `sfe check` checked (quality/candidate.py) to
the published one, byte for byte what the gates saw plus the publish stamp.

Steps (each safe to interrupt, even with SIGKILL: current.duckdb is always a complete snapshot):

1. Open the working warehouse for writing (DuckDB's one-writer lock keeps builds and checks
   out) and refuse unless the latest gate run passed, its candidate file exists with the
   sha256 recorded at check time, and the working data still is the data it was frozen from:
   the stamp `sfe check` left while the files are untouched, else the content fingerprints
   of both. Any load, build or edit since means: run 'sfe check' again.
2. Copy the candidate to snapshots/.tmp-<id>.duckdb (the candidate stays, so publishing the
   same check again gives an identical snapshot).
3. Stamp the copy: `audit.publish_info` (one row); checkpoint and close it; fsync. Nothing in
   marts is written: dbt's views read the stamp (`marts.data_quality_results`,
   `scorecard_weekly.data_status` = 'passed').
4. Rename it to snapshots/<id>.duckdb, hard-link it to a temp name and `os.replace` that onto
   current.duckdb: one atomic rename. Readers find the snapshot file current.duckdb is linked
   to and open that (quality/published.py says why never current.duckdb by name); a reader
   keeps the snapshot it opened, a new reader gets the new one. Never a mix.
5. Record the attempt (audit.publish_log, status.json) and prune old snapshots.

A refused publish (blocking failure, no check, data or candidate changed since the check)
leaves current.duckdb untouched, logs why, and exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from quality import candidate, store
from quality.gates import describe_failures
from quality.published import (NoPublishedSnapshot, current_snapshot_file, open_published,
                              read_publish_info, snapshots_dir, write_status_file)
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError
from sfe.warehouse import WarehouseBusy, connect, sql_name, sql_string

TMP_PREFIX = ".tmp-"
LINK_PREFIX = ".current-"


def _step(name: str) -> None:
    """A named point in the publish sequence (tests hook in here to kill the process)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_snapshot_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class PublishReport:
    outcome: str  # published | refused (gates) | failed (an error before the switch)
    reason: str | None = None
    run_id: str | None = None
    snapshot_id: str | None = None  # the new one when published
    current_snapshot_id: str | None = None  # what readers see after this attempt
    published_db: str = ""
    as_of_date: str | None = None
    seconds: float = 0.0
    pruned: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.outcome == "published" else EXIT_NEEDS_ATTENTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "run_id": self.run_id,
            "snapshot_id": self.snapshot_id,
            "snapshot": self.snapshot_id,  # alias read by orchestration.pipeline / audit.runs
            "current_snapshot_id": self.current_snapshot_id,
            "published_db": self.published_db,
            "as_of_date": self.as_of_date,
            "seconds": round(self.seconds, 3),
            "pruned": self.pruned,
            "exit_code": self.exit_code,
        }

    def summary(self) -> str:
        if self.outcome == "published":
            return (f"published snapshot {self.snapshot_id} (gate run {self.run_id}, data as of "
                    f"{self.as_of_date}) → {self.published_db}")
        kept = (f"snapshot {self.current_snapshot_id} stays published"
                if self.current_snapshot_id else "nothing is published yet")
        return f"NOT published: {self.reason}\n{kept} ({self.published_db})"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _current_snapshot_id(settings: Settings) -> str | None:
    """Which snapshot current.duckdb is: the name of its snapshot file (no need to open it),
    else the id stamped inside it."""
    try:
        snap = current_snapshot_file(settings)
    except NoPublishedSnapshot:
        return None
    if snap.parent == snapshots_dir(settings):
        return snap.stem
    try:
        con = open_published(settings)
    except (duckdb.Error, NoPublishedSnapshot):
        return None
    try:
        info = read_publish_info(con)
    finally:
        con.close()
    return info.get("snapshot_id") if info else None


def _clean_leftovers(settings: Settings) -> None:
    """Remove temp files of an interrupted publish (we hold the working DB lock: no other
    publisher runs)."""
    for pattern_dir, prefix in ((snapshots_dir(settings), TMP_PREFIX),
                                (settings.published_dir, LINK_PREFIX),
                                (candidate.candidates_dir(settings), candidate.TMP_PREFIX)):
        if not pattern_dir.is_dir():
            continue
        for leftover in pattern_dir.glob(f"{prefix}*"):
            leftover.unlink(missing_ok=True)


def _refusal(settings: Settings, con: duckdb.DuckDBPyConnection
             ) -> tuple[str | None, dict[str, Any] | None]:
    """Why this warehouse may not be published (None when it may), and the gate run."""
    run = store.latest_run(con)
    if run is None:
        return ("no quality check has run on this warehouse; run 'sfe check' first", None)
    if run["status"] != "passed":
        failed = [(r["check_name"], r["status"], r["message"])
                  for r in store.run_results(con, run["run_id"])
                  if r["severity"] == "blocking" and r["status"] in ("fail", "error")]
        return (f"blocking quality checks did not pass in run {run['run_id']}: "
                f"{describe_failures(failed)}", run)
    return _candidate_refusal(settings, con, run), run


def _candidate_refusal(settings: Settings, con: duckdb.DuckDBPyConnection,
                       run: dict[str, Any]) -> str | None:
    """Why the passed run's candidate may not be promoted: missing, altered, or the working
    data changed after it was frozen (None when it may)."""
    again = "; run 'sfe check' again"
    if not run.get("candidate_id") or not run.get("candidate_sha"):
        return (f"gate run {run['run_id']} checked no candidate snapshot (an older sfe "
                f"version){again}")
    path = candidate.candidate_path(settings, run["candidate_id"])
    if not path.is_file():
        return f"the snapshot checked in run {run['run_id']} is missing ({path}){again}"
    if candidate.sealed_sha256(path) != run["candidate_sha"]:
        return (f"the snapshot checked in run {run['run_id']} was altered after the check "
                f"({path}){again}")
    # the stamp the check left, while no one has written the files since (store.stamped);
    # else the working data is hashed and held to the checked data's fingerprint
    if store.stamped(settings.working_db, "checked") != store.checked_state(run) and (
            candidate.checked_fingerprint(settings, run) != store.fingerprint(con)):
        return (f"the warehouse changed after the last check (run {run['run_id']}): it is not "
                f"the data that was checked{again}")
    return None


def _as_of_date(snapshot: Path, alias: str) -> str | None:
    """The latest sale date (else month) in the checked snapshot itself."""
    con = duckdb.connect()
    try:
        con.execute(f"attach {sql_string(str(snapshot))} as {sql_name(alias)} (read_only)")
        con.execute(f"use {sql_name(alias)}")
        for sql in ("select max(sale_date) from marts.fct_sell_out",
                    "select max(month) from marts.fct_sell_out"):
            try:
                value = con.execute(sql).fetchone()[0]
            except duckdb.Error:
                continue
            if value is not None:
                return value.isoformat() if hasattr(value, "isoformat") else str(value)
        return None
    finally:
        con.close()


def _stamp(snapshot: Path, info: dict[str, Any], catalog_alias: str) -> None:
    """Write the publish stamp into the snapshot copy, then checkpoint and close it."""
    con = duckdb.connect()
    try:
        alias = sql_name(catalog_alias)
        con.execute(f"attach {sql_string(str(snapshot))} as {alias}")
        con.execute(f"use {alias}")
        # only audit is written: dbt's views in marts (data_quality_results,
        # scorecard_weekly.data_status) read this stamp when the snapshot is read
        store.ensure_tables(con)
        con.execute("delete from audit.publish_info")
        con.execute("insert into audit.publish_info (snapshot_id, published_at, run_id, "
                    "gate_status, as_of_date, as_of_month, warnings, source_db) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [info["snapshot_id"], info["published_at"], info["run_id"],
                     info["gate_status"], info["as_of_date"], (info["as_of_date"] or "")[:7]
                     or None, info["warnings"], info["source_db"]])
        con.execute(f"checkpoint {alias}")
        con.execute("use memory")
        con.execute(f"detach {alias}")
    finally:
        con.close()
    wal = Path(str(snapshot) + ".wal")
    if wal.exists():  # pragma: no cover - checkpoint folds it in; never publish a half file
        raise RuntimeError(f"snapshot {snapshot} still has a WAL after checkpoint")
    _fsync_file(snapshot)


def _prune(settings: Settings, keep: int) -> list[str]:
    snaps = sorted(snapshots_dir(settings).glob("*.duckdb"))
    current_ino = settings.published_db.stat().st_ino if settings.published_db.exists() else None
    pruned = []
    for old in snaps[: max(0, len(snaps) - max(keep, 1))]:
        if current_ino is not None and old.stat().st_ino == current_ino:
            continue
        old.unlink(missing_ok=True)  # readers that still have it open keep their inode
        pruned.append(old.stem)
    return pruned


def publish(settings: Settings, console: Console | None = None) -> PublishReport:
    """Publish the working warehouse if its latest gate run passed; else keep the last good."""
    console = console or Console(quiet=True)
    t0 = time.perf_counter()
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    snapshots_dir(settings).mkdir(parents=True, exist_ok=True)
    if not settings.working_db.exists():
        reason = f"no working warehouse at {settings.working_db}; run 'sfe ingest' first"
        return _refused(settings, None, reason, None, t0, console)
    console.step("publishing the working warehouse")
    with connect(settings) as con:
        _step("locked")
        store.ensure_tables(con)
        _clean_leftovers(settings)
        reason, run = _refusal(settings, con)
        if reason is not None:
            return _refused(settings, con, reason, run, t0, console)
        now = utcnow()
        snapshot_id = new_snapshot_id(now)
        tmp = snapshots_dir(settings) / f"{TMP_PREFIX}{snapshot_id}.duckdb"
        final = snapshots_dir(settings) / f"{snapshot_id}.duckdb"
        checked = candidate.candidate_path(settings, run["candidate_id"])
        catalog_alias = candidate.catalog_alias(con)
        info = {
            "snapshot_id": snapshot_id, "published_at": now, "run_id": run["run_id"],
            "gate_status": "passed", "as_of_date": _as_of_date(checked, catalog_alias),
            "warnings": run["warnings"], "source_db": str(settings.working_db),
        }
        link = settings.published_dir / f"{LINK_PREFIX}{snapshot_id}.tmp"
        try:
            _step("checkpointed")
            shutil.copyfile(checked, tmp)  # the checked file itself; it stays for a re-publish
            _step("copied")
            _stamp(tmp, info, catalog_alias)
            _step("stamped")
            os.replace(tmp, final)
            _fsync_dir(snapshots_dir(settings))
            _step("snapshot_final")
            try:
                os.link(final, link)
            except OSError:  # no hard links here: a full copy, still switched by one rename
                shutil.copyfile(final, link)
            _step("linked")
            os.replace(link, settings.published_db)
        except (OSError, duckdb.Error, RuntimeError) as exc:
            for leftover in (tmp, link, final):  # none of them is current.duckdb yet
                leftover.unlink(missing_ok=True)
            reason = (f"publishing failed before the switch ({type(exc).__name__}: {exc}); "
                      "check free disk space and permissions under "
                      f"{settings.published_dir}, then run 'sfe publish' again")
            return _refused(settings, con, reason, run, t0, console, outcome="failed")
        _fsync_dir(settings.published_dir)
        _step("switched")
        try:
            pruned = _prune(settings, settings.snapshots_kept)
        except OSError as exc:  # the new snapshot is published; old files stay for next time
            console.warn(f"could not remove old snapshots: {exc}")
            pruned = []
        seconds = time.perf_counter() - t0
        con.execute("insert into audit.publish_log values (?, ?, 'published', ?, null, ?)",
                    [now, run["run_id"], snapshot_id, seconds])
        report = PublishReport("published", None, run["run_id"], snapshot_id, snapshot_id,
                               str(settings.published_db), info["as_of_date"], seconds, pruned)
    write_status_file(
        settings,
        current={"snapshot_id": snapshot_id, "published_at": now.isoformat(),
                 "run_id": run["run_id"], "gate_status": "passed",
                 "as_of_date": info["as_of_date"], "warnings": run["warnings"],
                 "path": str(final)},
        last_attempt={"at": now.isoformat(), "outcome": "published", "run_id": run["run_id"],
                      "snapshot_id": snapshot_id, "reason": None},
        snapshots=sorted(p.stem for p in snapshots_dir(settings).glob("*.duckdb")))
    _step("done")
    console.info(f"    published snapshot {snapshot_id} → {settings.published_db}")
    return report


def _refused(settings: Settings, con: duckdb.DuckDBPyConnection | None, reason: str,
             run: dict[str, Any] | None, t0: float, console: Console,
             outcome: str = "refused") -> PublishReport:
    now = utcnow()
    current = _current_snapshot_id(settings)
    seconds = time.perf_counter() - t0
    run_id = run["run_id"] if run else None
    if con is not None:
        con.execute("insert into audit.publish_log values (?, ?, ?, ?, ?, ?)",
                    [now, run_id, outcome, current, reason, seconds])
    write_status_file(settings, last_attempt={
        "at": now.isoformat(), "outcome": outcome, "run_id": run_id,
        "snapshot_id": current, "reason": reason})
    console.warn(f"not published: {reason}; "
                 + (f"snapshot {current} stays published" if current else "nothing published yet"))
    return PublishReport(outcome, reason, run_id, None, current, str(settings.published_db),
                         None, seconds)


def publish_command(settings: Settings, args: argparse.Namespace, console: Console) -> PublishReport:
    """CLI adapter for `sfe publish`."""
    try:
        return publish(settings, console)
    except WarehouseBusy as exc:
        raise UsageError(str(exc)) from exc
