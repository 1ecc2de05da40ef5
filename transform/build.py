"""The dbt stage of `sfe build`: dbt (seeds, models, tests, unit tests) on the working warehouse.

Customer/product matching runs before it, called by the orchestration (orchestration/build.py),
which hands its result in as `matching`. One code path for the CLI, the DAGs and the tests:
`build(settings)` returns a `BuildReport` (transform/report.py).
Around it: the dbt runner (transform/dbt_runner.py), its progress on the console
(transform/progress.py), what the last successful build saw (transform/build_state.py, and the
months in sfe/build_months.py) and `dbt docs generate` (transform/docs.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sfe import build_months
from sfe.builds import BuildRecord, record_build
from sfe.config import Settings
from sfe.console import Console
from sfe.gate_tables import ensure_tables
from sfe.report import UsageError
from sfe.runs import new_run_id
from sfe.warehouse import WarehouseBusy, connect
from transform import build_state, unit_test_passes
from transform.dbt_runner import run_dbt, run_dbt_on_spark
from transform.parse_ahead import ParseAhead
from transform.report import BuildFailure, BuildReport

__all__ = ["BuildFailure", "BuildReport", "build", "require_warehouse"]


@dataclass
class _Plan:
    """Which months this build rebuilds, and the registry state it started from."""

    rebuild_all: bool
    changed: list[str] | None  # months of changed files; None: every month
    unit_tests_passed: bool  # on this code: at this warehouse's last successful build, or any
    key: str | None
    files: dict[str, list[Any]] | None
    maps: dict[str, dict[str, str]] | None


def _wait_for_warehouse(settings: Settings) -> str | None:
    """Wait (a while) for another writer to finish; dbt itself would fail at once on the lock.
    The probe connection is closed before dbt opens its own."""
    try:
        with connect(settings):
            pass
    except WarehouseBusy as exc:
        return f"{exc}; dbt not run"
    return None


def require_warehouse(settings: Settings) -> None:
    """`sfe build` needs an ingested warehouse; checked before matching starts."""
    if not settings.working_db.exists():
        raise UsageError(f"no warehouse at {settings.working_db}; run 'sfe ingest' first")


def build(settings: Settings, select: Sequence[str] | None = None, console: Console | None = None,
          force: bool = False, *, matching: dict[str, Any] | None = None,
          run_id: str | None = None, parsed_ahead: ParseAhead | None = None) -> BuildReport:
    """`dbt build` — unless nothing it depends on changed since the last successful full build
    (`force` rebuilds). `matching` is the report of the matching that ran just before (recorded
    with the build; when it failed, dbt does not run); `run_id` names this build in
    audit.dbt_builds (the run's id; a build on its own makes one); `parsed_ahead`: the `dbt
    parse` `sfe run` started while files loaded (transform/parse_ahead.py), taken before dbt."""
    console = console or Console(quiet=True)
    if isinstance(select, str):
        select = select.split()
    require_warehouse(settings)
    started = time.perf_counter()
    report = BuildReport(matching=matching, build_id=run_id)
    refusal = _why_not_run(settings, matching)
    if refusal:
        report.error = refusal
        console.warn(refusal)
        return _timed(report, started)
    _ensure_audit_sources(settings)
    fingerprint = build_state.inputs_fingerprint(settings)
    state = None if select else build_state.build_state(settings, fingerprint)
    if not force and build_state.up_to_date(settings, state):
        report.up_to_date = True
        console.step("dbt build skipped: nothing changed since the last successful build "
                     "(sfe build --force rebuilds)")
        return _timed(report, started)
    plan = _plan(settings, fingerprint, state, force)
    report.kpi_changed_months = plan.changed
    report.rebuilt_all_months = plan.rebuild_all
    if parsed_ahead is not None:
        parsed_ahead.take(settings, console)
    _run(settings, select, console, report, plan, force)
    _record_build(settings, report, select)
    if fingerprint is not None and not report.error and not report.failures and not select:
        build_state.record_success(settings, fingerprint, state, plan.key, plan.files, plan.maps)
        if state is not None:  # the code as read before dbt ran, not a file edited since
            unit_test_passes.record(settings, build_state.code_of(state), report.unit_tests)
    _timed(report, started)
    if report.failures or report.error:
        console.warn(f"build finished with {len(report.failures)} failure(s); "
                     f"see 'sfe build' summary or {report.log_path}")
    return report


def _why_not_run(settings: Settings, matching: dict[str, Any] | None) -> str | None:
    """Why dbt must not run now: matching failed, or another writer kept the warehouse."""
    matching_error = (matching or {}).get("error")
    if matching_error:
        return f"matching failed, dbt not run: {matching_error}"
    return _wait_for_warehouse(settings)


def _timed(report: BuildReport, started: float) -> BuildReport:
    report.seconds = time.perf_counter() - started
    return report


def _plan(settings: Settings, fingerprint: dict[str, str] | None,
          state: dict[str, Any] | None, force: bool) -> _Plan:
    """Every month, or only those of files new or changed since the last successful build.
    The saved states are the last successful build's: gone until this one succeeds, so a
    failed or killed build is followed by one that rebuilds every month."""
    passed = build_state.unit_tests_passed(settings, state)
    build_state.built_state_file(settings).unlink(missing_ok=True)
    files, maps = build_state.registry_files(settings)
    rebuild_all = force or build_state.needs_full_rebuild(settings, fingerprint, maps)
    key = build_months.state_key(state)
    changed = None if rebuild_all else build_months.months_since_last_build(
        settings.dbt_target_dir, key, files)
    build_months.record(settings.dbt_target_dir, None, None)
    # months known ⇒ project, vars and engine as at the last successful build, too
    return _Plan(rebuild_all, changed, passed or changed is not None, key, files, maps)


def _run(settings: Settings, select: Sequence[str] | None, console: Console,
         report: BuildReport, plan: _Plan, force: bool) -> None:
    """dbt build on the engine of the settings, as the plan says."""
    changed = plan.changed
    console.step("dbt build (seeds, models, tests, unit tests)"
                 + (f" --select {' '.join(select)}" if select else "")
                 + ("; --force: every table rebuilt from raw (full refresh)" if force
                    else "; matching or master data changed: every month rebuilt" if plan.rebuild_all
                    else "; only months touched by new or replaced files rebuilt"
                    + (f" (KPI months: {', '.join(changed) or 'none'})" if changed is not None
                       else ""))
                 + ("; unit tests passed on this code already" if plan.unit_tests_passed
                    else ""))
    # --force is the way out of any incremental state: dbt rebuilds every table from raw, so
    # the result equals a fresh build on the same inbox
    # project, seeds, vars and engine as at the last successful build (always so when the
    # months are known), or as at a build of another warehouse here that ran them all
    # (transform/unit_test_passes.py): the unit tests, which read no warehouse data, passed on
    # this very code, so they are not run again (dbt_project/README.md, "Unit tests")
    command = ("build --full-refresh" if force else "build") + (
        " --exclude test_type:unit" if plan.unit_tests_passed else "")
    run = run_dbt_on_spark if settings.engine == "spark" else run_dbt
    run(settings, command, select, console, report,
        extra_vars={"rebuild_all_months": True} if plan.rebuild_all
        else None if changed is None else {"kpi_changed_months": changed})


def _ensure_audit_sources(settings: Settings) -> None:
    """The gate and publish-stamp tables dbt's views read (sfe/gate_tables.py owns their DDL)
    exist before dbt builds, also in a warehouse never checked."""
    with connect(settings) as con:
        ensure_tables(con)


def _record_build(settings: Settings, report: BuildReport, select: Sequence[str] | None) -> None:
    """Tie this build's dbt results to the warehouse it built (audit.dbt_builds), so the
    dbt_tests gate reads these results and no others."""
    report.build_id = report.build_id or new_run_id("bld")
    status = "error" if report.error else "failed" if report.failures else "ok"
    path = settings.dbt_target_dir / "target" / "run_results.json"
    with connect(settings) as con:
        record_build(con, BuildRecord(report.build_id, report.invocation_id, str(path), status,
                                      " ".join(select) if select else None, report.error))
