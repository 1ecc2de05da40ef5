"""The whole job: ingest → build → check → publish, and `sfe demo` around it.

Each step is the same function the CLI command calls; `sfe run` and the Airflow warehouse DAG
both call `run_pipeline` (the DAG with WAREHOUSE_STEPS), so every run lands in `audit.runs` and
`sfe status`. A step that raises stops the run: the published snapshot stays the last good one,
and `audit.runs` says why (a stop signal: status 'stopped', at its step). The steps run under the
warehouse's writer lock, so a second writer waits for this one.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingestion.pipeline import ingest_inbox
from orchestration.build import build_step
from quality.gates import run_checks
from quality.publish import publish
from quality.unchanged import judge, stamp_after_run, untouched
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, EXIT_USAGE, UsageError
from sfe.runs import RunRecord, StepResult, new_run_id, record_run
from sfe.signals import is_interrupt, stop_signal
from sfe.warehouse import duckdb_memory_limit, writer_lock
from transform.parse_ahead import ParseAhead, start_parse_ahead

STEPS = ("ingest", "build", "check", "publish")
WAREHOUSE_STEPS = ("build", "check", "publish")  # the DAG's: sfe_ingest loads the inbox


@dataclass
class RunReport:
    run: RunRecord
    gate_status: str
    published_snapshot: str | None
    stopped_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    summary_shown: bool = False  # demo prints it before serving; the CLI must not repeat it
    usage_error: bool = False  # a step stopped on a usage error (e.g. a bad decision line)

    @property
    def exit_code(self) -> int:
        if self.run.status == "ok":
            return EXIT_OK
        return EXIT_USAGE if self.usage_error else EXIT_NEEDS_ATTENTION

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run.run_id, "status": self.run.status,
                "gate_status": self.gate_status, "published_snapshot": self.published_snapshot,
                "stopped_at": self.stopped_at,
                "steps": [s.to_dict() for s in self.run.steps], **self.extra}

    def summary(self) -> str:
        if self.summary_shown:
            return ""
        lines = [self.headline(), f"run {self.run.run_id}: {self.run.status}"]
        for s in self.run.steps:
            note = s.error or step_note(s.name, s.detail)
            lines.append(f"  {s.name:<8} {s.status:<16} {s.seconds:7.1f}s  {note}".rstrip())
        if self.stopped_at:
            lines.append(f"  stopped at '{self.stopped_at}'; the published snapshot is unchanged")
        lines.append(f"  gates: {self.gate_status}; published: {self.published_snapshot or 'nothing new'}")
        return "\n".join(lines)


    def headline(self) -> str:
        """The line a person reads first: published or not, and what needs them."""
        failed = next((s for s in self.run.steps if s.status == "failed"), None)
        check, publish = self.run.step("check"), self.run.step("publish")
        blocking = check.detail.get("blocking_failures", []) if check else []
        warnings = check.detail.get("warnings", []) if check else []
        current = publish.detail.get("current_snapshot_id") if publish else None
        kept = f"readers keep {current}" if current else "the last good snapshot stays"
        if failed is not None:
            head = f"NOT PUBLISHED: {failed.name} failed ({failed.error}); {kept}"
        elif publish is not None and publish.detail.get("outcome") == "published":
            head = f"PUBLISHED {self.published_snapshot}: gates passed"
        elif publish is not None and publish.detail.get("outcome") == "unchanged":
            head = f"NOTHING NEW: {str(publish.detail.get('reason')).removeprefix('nothing new: ')}"
        elif blocking:
            head = f"NOT PUBLISHED: blocking gate(s) failed: {', '.join(blocking)}; {kept}"
        else:
            reason = publish.detail.get("reason") if publish else None
            head = f"NOT PUBLISHED: {reason or 'the run did not reach publish'}; {kept}"
        parts = [head]
        if warnings:
            parts.append(f"{len(warnings)} warning(s): {', '.join(warnings)}")
        ingest = self.run.step("ingest")
        totals = ingest.detail.get("totals", {}) if ingest else {}
        by_status = dict(totals.get("by_status", {}))
        set_aside = totals.get("acknowledged", 0)  # rejected files a person acknowledged
        by_status["rejected"] = by_status.get("rejected", 0) - set_aside
        attention = [f"{n} {status}" for status, n in by_status.items()
                     if n and status in ("rejected", "partial", "conflict")]
        if attention:
            parts.append(f"files for a person: {', '.join(attention)} (Loads page)")
        if set_aside:
            parts.append(f"{set_aside} rejected file(s) set aside by a person")
        return "; ".join(parts)


def step_note(step: str, detail: dict[str, Any]) -> str:
    """One line a person reads beside each step of the run summary."""
    if step == "ingest":
        totals = detail.get("totals", {})
        counts = ", ".join(f"{status} {n}" for status, n in totals.get("by_status", {}).items() if n)
        return (f"{totals.get('files', 0)} files ({counts}); {totals.get('rows_loaded', 0):,} rows "
                f"loaded, {totals.get('rows_quarantined', 0):,} quarantined — reasons: "
                "'sfe ingest --json' or the Loads page")
    if step == "build":
        failed = [f.get("name") for f in detail.get("failures", [])]
        if failed:
            return f"failed: {', '.join(failed[:5])}"
        since = (detail.get("matching") or {}).get("unchanged_since")
        matching = f"matching: inputs unchanged since run {since}; " if since else ""
        return matching + ("up to date: nothing changed, dbt not run"
                           if detail.get("up_to_date") else "")
    if step == "check":
        blocking, warnings = detail.get("blocking_failures", []), detail.get("warnings", [])
        note = f"blocking: {', '.join(blocking)}; " if blocking else ""
        return f"{note}warnings: {', '.join(warnings) or 'none'}; report: {detail.get('report')}"
    if step == "publish":
        return detail.get("reason") or f"{detail.get('outcome', '')} {detail.get('snapshot') or ''}"
    return ""


def run_pipeline(settings: Settings, inbox: Path | None = None, console: Console | None = None,
                 command: str = "run", steps: Sequence[str] = STEPS) -> RunReport:
    """The steps under the warehouse's writer lock (waiting for another writer up to
    lock_wait_s); a run stopped by a signal is recorded as stopped, then the stop goes on up."""
    console = console or Console(quiet=True)
    settings.ensure_dirs()
    with writer_lock(settings, command if ":" in command else f"sfe {command}", console):
        run = RunRecord(run_id=new_run_id(), command=command)
        # one memory limit for the run: dbt's profile carries it, and the parse ahead's must
        # equal the build's for dbt to take that parse
        settings = replace(settings, memory_limit=duckdb_memory_limit(settings))
        loads_then_builds = {"ingest", "build"} <= set(steps)
        ahead = start_parse_ahead(settings, console) if loads_then_builds else None
        try:
            return _run_steps(settings, run, inbox, console, steps, ahead)
        except KeyboardInterrupt as exc:
            _record_stopped(settings, run, stop_signal(exc) or signal.SIGINT, console)
            raise
        finally:
            if ahead is not None:
                ahead.stop()


def _record_stopped(settings: Settings, run: RunRecord, signum: int, console: Console) -> None:
    """The stopped run in audit.runs, best effort: a warehouse it cannot write must not mask
    the stop. Publish did not finish, so the published snapshot is the last good one."""
    if run.status != "stopped":  # the signal came between two steps
        run.steps.append(StepResult("between steps", "stopped", 0.0, 128 + signum,
                                    error=f"stopped by {signal.Signals(signum).name}",
                                    detail={"signal": signal.Signals(signum).name}))
    check = run.step("check")
    gate_status = ("not_run" if check is None or check.status == "stopped"
                   else "passed" if check.status == "ok" else "failed")
    try:
        record_run(settings, run, gate_status, None)
    except Exception as exc:  # noqa: BLE001 - said, and the stop goes on
        console.warn(f"the stopped run {run.run_id} could not be recorded in audit.runs: {exc}")


def _run_steps(settings: Settings, run: RunRecord, inbox: Path | None, console: Console,
               steps: Sequence[str], parsed_ahead: ParseAhead | None = None) -> RunReport:
    usage: list[UsageError] = []  # a step stopped by one makes the run exit 2
    seen: dict[str, str | None] = {}  # the data's fingerprint, if taken to tell "nothing new"
    seen["untouched"] = untouched(settings)  # before any write: as the last run left it?
    reports: dict[str, Any] = {}
    # every step gets the run's id (publish records the gate run's, which is this one)
    calls = {
        "ingest": lambda: ingest_inbox(settings, inbox, console=console, run_id=run.run_id),
        "build": lambda: build_step(settings, console=console, run_id=run.run_id,
                                    raw_unchanged=_no_data_written(seen, reports, ("ingest",)),
                                    parsed_ahead=parsed_ahead, record_raw=False),
        "check": lambda: run_checks(settings, console=console, run_id=run.run_id,
                                    fingerprint=seen.get("fingerprint")),
        "publish": lambda: publish(settings, console=console),
    }
    stopped_at = None
    for name in steps:
        if name == "check" and "publish" in steps and _skip_if_nothing_new(run, reports, settings,
                                                                           console, seen):
            break
        reports[name] = run.run_step(name, _announced(name, console,
                                                      _noting_usage(calls[name], usage)))
        if reports[name] is None:
            stopped_at = name
            console.warn(f"{name} failed: {run.step(name).error}")
            break
    gate_status = "not_run"
    if reports.get("check") is not None:
        gate_status = "passed" if reports["check"].exit_code == EXIT_OK else "failed"
    published = None
    if reports.get("publish") is not None:
        published = reports["publish"].to_dict().get("snapshot")
    record_run(settings, run, gate_status, published)
    _stamp(settings, reports.get("check"), console)
    return RunReport(run, gate_status, published, stopped_at, usage_error=bool(usage))


def _no_data_written(seen: dict[str, str | None], reports: dict[str, Any],
                     steps: Sequence[str]) -> bool:
    """The data is as the last run left it: the database was untouched when this run began
    (quality/unchanged.py `untouched`) and these steps of it wrote none. Unknown: False."""
    return seen.get("untouched") is not None and _steps_wrote_data(reports, steps) is False


def _steps_wrote_data(reports: dict[str, Any], steps: Sequence[str]) -> bool | None:
    """Whether these steps of this run wrote data: ingest loaded, quarantined or superseded
    something; matching or dbt ran. None: a report does not say."""
    wrote: bool | None = False
    for name in steps:
        if name not in reports:
            continue
        detail = reports[name].to_dict() if reports[name] is not None else {}
        # ingestion writes raw and quarantine rows only when it loads a file (ingestion/
        # pipeline.py _commit, supersedes included); rejected, conflict, duplicate: registry only
        if name == "ingest":
            if detail.get("files") is None:
                wrote = None
            elif any(f.get("status") in ("loaded", "partial") or f.get("rows_loaded")
                     or f.get("rows_quarantined") or f.get("supersedes")
                     for f in detail["files"]):
                return True
        if name == "build" and not (detail.get("up_to_date") and
                                    (detail.get("matching") or {}).get("unchanged_since")):
            if "up_to_date" not in detail:
                wrote = None
            else:
                return True
    return wrote


def _stamp(settings: Settings, check: Any, console: Console) -> None:
    """After a run whose check ended, its gate run's fingerprint is the data's: kept for the
    next run (quality/unchanged.py). Best effort: without it the next run fingerprints."""
    run_id = getattr(check, "run_id", None)
    if not run_id:
        return
    try:
        stamp_after_run(settings, run_id)
    except Exception as exc:  # noqa: BLE001 - said; costs the next run one fingerprint
        if is_interrupt(exc):
            raise
        console.warn(f"the data's fingerprint was not kept for the next run: {exc}")


def _skip_if_nothing_new(run: RunRecord, reports: dict[str, Any], settings: Settings,
                         console: Console, seen: dict[str, str | None]) -> bool:
    """Check and publish skipped when the published snapshot already is the checked state of
    this data (quality/unchanged.py); otherwise, or when that cannot be told, both run. The
    data's fingerprint, where taken to tell, goes in `seen`: the check records it, not a second
    one (under this run's writer lock nothing writes in between). Where this run wrote data it
    is not taken: the check runs anyway."""
    started = time.perf_counter()
    wrote = _steps_wrote_data(reports, ("ingest", "build"))
    known = seen["untouched"] if wrote is False else None
    try:
        verdict = judge(settings, known=known, written=wrote is True)
    except Exception as exc:  # noqa: BLE001 - the full check runs and reports the problem
        if is_interrupt(exc):
            raise
        return False
    seen["fingerprint"] = verdict.fingerprint
    same = verdict.same
    if same is None:
        return False
    console.step(f"check, publish skipped: {same.reason}")
    reports["check"] = run.run_step("check", lambda: same)
    run.steps[-1].seconds = time.perf_counter() - started
    reports["publish"] = run.run_step("publish", same.for_publish)
    return True


def _announced(name: str, console: Console, call: Callable[[], Any]) -> Callable[[], Any]:
    """The step, printing its name once run_step has started it: a stop signal that comes after
    the name is on screen is recorded against that step, never as 'between steps'."""
    def step() -> Any:
        console.step(name)
        return call()
    return step


def _noting_usage(call: Callable[[], Any], usage: list[UsageError]) -> Callable[[], Any]:
    """The step as given, remembering a usage error on its way to run_step (which records it)."""
    def step() -> Any:
        try:
            return call()
        except UsageError as exc:
            usage.append(exc)
            raise
    return step


def failure_kind(report: RunReport) -> str | None:
    """For schedulers: None when the run went through; 'transient' when a step raised an error
    a retry may fix (a lock, the disk); 'permanent' when a person must act first (a setting, a
    usage mistake, failed gates, a refused publish): retrying would only repeat it."""
    if report.run.status == "ok":
        return None
    failed = next((s for s in report.run.steps if s.status == "failed"), None)
    if failed is not None and not failed.permanent:
        return "transient"
    return "permanent"


def run_command(settings: Settings, args: argparse.Namespace, console: Console) -> RunReport:
    return run_pipeline(settings, args.inbox, console, command="run")


def demo_inbox(settings: Settings) -> Path:
    return settings.data_dir / "demo-inbox"


def demo_command(settings: Settings, args: argparse.Namespace, console: Console) -> RunReport:
    """Generate demo data, run the whole job on it, then serve the dashboards."""
    from generator import generate  # noqa: PLC0415 - lazy: only the demo generates (0.3 s)

    inbox = demo_inbox(settings)
    if inbox.exists():
        shutil.rmtree(inbox)  # regenerated byte-identically; the warehouse skips known files
    console.step(f"generating demo data into {inbox}")
    generate(inbox, seed=args.seed, customers=args.customers, months=args.months, console=console)
    settings = replace(settings, inbox_dir=inbox)
    report = run_pipeline(settings, inbox, console, command="demo")
    report.extra["inbox"] = str(inbox)
    report.extra["published_db"] = str(settings.published_db)
    url = f"http://localhost:{args.port}"
    report.extra["dashboards"] = url
    if not args.no_serve:
        _serve_after(report, settings, args.port, console)
    return report


def _serve_after(report: RunReport, settings: Settings, port: int, console: Console) -> None:
    """Start the dashboards, print where they are, and block until Ctrl-C."""
    from dashboards.serve import start_server, wait_until_ready  # noqa: PLC0415 - lazy: urllib

    if not settings.published_db.exists():
        console.warn("nothing was published (see the run summary); the dashboards will say so")
    print(report.summary(), flush=True)
    report.summary_shown = True
    proc = start_server(settings, port)
    try:
        if not wait_until_ready(port, timeout=60):
            console.warn(f"the dashboards did not come up on port {port}; try 'bin/sfe serve --port N'")
            report.extra["serve_error"] = "not ready"
            return
        console.info(f"\nDashboards: http://localhost:{port}   (published snapshot: {settings.published_db})")
        console.info("Open that address in a browser. Press Ctrl-C to stop; 'bin/sfe serve' starts them again.")
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a server that ignores SIGTERM must not survive
                proc.kill()
                proc.wait()
    report.extra["served"] = True
