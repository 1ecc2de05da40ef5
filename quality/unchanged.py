"""A run with nothing new: skip check and publish when the published snapshot already is the
checked state of exactly this data.

`sfe run` calls `nothing_new` before its check step. It answers only when ALL hold:
- the latest gate run passed, and its snapshot is the one readers have now (current.duckdb's
  `publish_info.run_id`);
- the working data still is the data that run checked: nothing was loaded, built or edited
  since (below, how that is told);
- the rules are the ones it ran with: the digest of the gates (quality/gates.yml as read now)
  and of the thresholds of these settings (sfe.toml, `--config`, SFE_CONFIG) equals the one the
  run recorded (`rules_digest`), whatever the files' mtimes say; and it ran on this business day
  (gates judge dates against today).
Otherwise the full check runs, then publish as always. Skipping publishes nothing, so it can
never publish unchecked data; the worst a wrong "nothing new" could do is keep a snapshot.

How "the same data" is told, cheapest proof first:
- a look-up: at its end `sfe run` records which gate run checked the data (`stamp_after_run`,
  store.checked_state) beside the database together with the stat of the database and WAL
  files; the next run reads it back before it writes anything (`untouched`), i.e. only when no
  one — sfe or a person with the duckdb CLI — wrote those files since (any write changes their
  ctime, which cannot be set back). If that run's own steps then wrote no data either
  (nothing loaded, matching and dbt skipped), the data is that run's (`judge(known=...)`);
- if its own steps wrote data (`written`), it is not compared at all: the check runs. A hash
  of every row (history-sized: 1.6 s at 10 M flow rows, 2.8 s at 30 M) bought nothing there;
- else (someone wrote the files since) by content: store.fingerprint of the working data
  against that of the checked data, recorded or taken from the run's candidate copy. The
  fingerprint taken is handed to the check that follows (`Verdict`), not taken twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from quality import candidate, store
from quality.definitions import GATES_FILE, load_gates, resolve_thresholds, rules_digest
from quality.gates import BUSINESS_TZ
from quality.published import NoPublishedSnapshot, open_published, read_publish_info
from sfe.config import Settings
from sfe.report import EXIT_OK
from sfe.warehouse import connect


@dataclass
class NothingNew:
    """Stands in for the check and publish reports of a run that had nothing new."""

    run_id: str  # the gate run whose checked snapshot is published
    snapshot_id: str
    warnings: int = 0
    report_path: str | None = None
    step: str = "check"

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    @property
    def reason(self) -> str:
        return (f"nothing new: snapshot {self.snapshot_id} already is the checked state of this "
                f"data (gate run {self.run_id} passed on it today)")

    def to_dict(self) -> dict[str, Any]:
        if self.step == "check":
            return {"run_id": self.run_id, "status": "passed", "nothing_new": True,
                    "blocking_failures": [], "warnings": [], "report": self.report_path,
                    "reason": self.reason}
        return {"outcome": "unchanged", "reason": self.reason, "run_id": self.run_id,
                "snapshot_id": None, "snapshot": None, "current_snapshot_id": self.snapshot_id,
                "nothing_new": True, "exit_code": EXIT_OK}

    def summary(self) -> str:
        return self.reason

    def for_publish(self) -> NothingNew:
        return NothingNew(self.run_id, self.snapshot_id, self.warnings, self.report_path,
                          "publish")


@dataclass
class Verdict:
    """What `judge` found: `same` when check and publish may be skipped; `fingerprint`, the
    working data's store.fingerprint when it was taken (else None), for the check to record."""

    same: NothingNew | None
    fingerprint: str | None = None


def nothing_new(settings: Settings, now: dt.datetime | None = None) -> NothingNew | None:
    """The published check when it still covers this data (see the module doc), else None."""
    return judge(settings, now).same


def judge(settings: Settings, now: dt.datetime | None = None, known: str | None = None,
          written: bool = False) -> Verdict:
    """`nothing_new`, with the data's fingerprint when it had to be taken to tell. `known`:
    what the stamp says of the data when the caller proved it (`untouched`, and no data
    written since); `written`: the caller's own steps wrote data since the last run, so it
    cannot be that run's checked data (not hashed to tell: the check runs)."""
    if not settings.working_db.exists() or (written and known is None):
        return Verdict(None)
    published = _published_run(settings)
    if published is None:
        return Verdict(None)
    with connect(settings) as con:
        run = store.latest_run(con)
        if run is None or run["status"] != "passed" or run["run_id"] != published[0]:
            return Verdict(None)
        if not _same_day(run["started_at"], now) or not _same_rules(settings, run):
            return Verdict(None)
        if known is not None:
            fingerprint, same = None, known == store.checked_state(run)
        else:  # written by someone else since: by content, the checked data's from its copy
            fingerprint = store.fingerprint(con)
            same = fingerprint == candidate.checked_fingerprint(settings, run)
    if not same:
        return Verdict(None, fingerprint)
    return Verdict(NothingNew(run["run_id"], published[1], int(run["warnings"] or 0),
                              run.get("report_path")), fingerprint)


def untouched(settings: Settings) -> str | None:
    """The data's fingerprint as the last `sfe run` left it, when no one has written the
    database since (call it before this run writes anything); else None."""
    return store.stamped(settings.working_db)


def stamp_after_run(settings: Settings, gate_run_id: str) -> None:
    """At the end of a run whose check step ended (checked, or nothing new), every connection
    closed and the writer lock still held: the data is the data that gate run checked (neither
    publish nor the run record writes outside audit); that (store.checked_state) is kept with
    the files' stat. Read through a read-only connection, which leaves the files as they are."""
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        row = con.execute("select fingerprint from audit.gate_runs where run_id = ?",
                          [gate_run_id]).fetchone()
    finally:
        con.close()
    if row:
        store.record_stamp(settings.working_db,
                           store.checked_state({"run_id": gate_run_id, "fingerprint": row[0]}))


def current_rules(settings: Settings) -> str:
    """The digest of the rules a check would run with now (quality/definitions.py)."""
    gate_set = load_gates(GATES_FILE)
    return rules_digest(gate_set, resolve_thresholds(settings, gate_set.thresholds))


def _published_run(settings: Settings) -> tuple[str, str] | None:
    """(gate run id, snapshot id) stamped in the snapshot readers open now."""
    try:
        con = open_published(settings)
    except (NoPublishedSnapshot, duckdb.Error, OSError):
        return None
    try:
        info = read_publish_info(con)
    finally:
        con.close()
    if not info or not info.get("run_id") or not info.get("snapshot_id"):
        return None
    return str(info["run_id"]), str(info["snapshot_id"])


def _same_rules(settings: Settings, run: dict[str, Any]) -> bool:
    """The gate run used the gates and thresholds these settings give (a run recorded before
    the digest existed has none: checked again)."""
    return bool(run.get("rules_digest")) and run["rules_digest"] == current_rules(settings)


def _same_day(started_utc: dt.datetime, now: dt.datetime | None) -> bool:
    """The gate run judged dates against today (business day, Asia/Shanghai)."""
    now = now or dt.datetime.now(dt.UTC)
    started = started_utc.replace(tzinfo=dt.UTC)
    return started.astimezone(BUSINESS_TZ).date() == now.astimezone(BUSINESS_TZ).date()
