"""`sfe check`: run every quality gate of `quality/gates.yml` on a frozen candidate snapshot of
the working warehouse (quality/candidate.py): the file `sfe publish` promotes if they pass.

Results go to `audit.gate_results` / `audit.gate_runs` (published along with the data), to an
HTML report in settings.reports_dir, and to the `last_check` section of published/status.json
so dashboards know at once when fresh data failed. A blocking check that fails, or cannot run
(its table is missing), makes the run 'failed': exit code 1, and `sfe publish` refuses it.
The gate run is stored in the candidate too, so the published snapshot carries its own results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from quality import candidate, check_months, store
from quality.checks import (ERROR, FAIL, PASS, SKIPPED, Catalog, CheckResult, render, result_for,
                            run_bounds, run_dbt_tests, run_sql)
from quality.definitions import GateSet, load_gates, resolve_thresholds, rules_digest
from quality.published import write_status_file
from quality.report import write_report
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError
from sfe.runs import new_run_id
from sfe.warehouse import WarehouseBusy, connect

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def business_today() -> dt.date:
    return dt.datetime.now(BUSINESS_TZ).date()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class CheckReport:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime
    results: list[CheckResult]
    report_path: str | None = None
    as_of_month: str | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocks_publish]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "warning" and r.status in (FAIL, ERROR)]

    @property
    def status(self) -> str:
        return "failed" if self.blocking_failures else "passed"

    @property
    def exit_code(self) -> int:
        return EXIT_NEEDS_ATTENTION if self.blocking_failures else EXIT_OK

    def reason(self) -> str | None:
        if not self.blocking_failures:
            return None
        return "blocking checks did not pass: " + describe_failures(
            [(r.name, r.status, r.message) for r in self.blocking_failures])

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "as_of_month": self.as_of_month,
            "report": self.report_path,
            "blocking_failures": [r.name for r in self.blocking_failures],
            "warnings": [r.name for r in self.warnings],
            "checks": [r.to_dict() for r in self.results],
            "exit_code": self.exit_code,
        }

    def summary(self) -> str:
        rows = [[r.name, r.severity, status_mark(r),
                 r.failing_rows, _shorten(r.message, 70)] for r in self.results]
        table = Console().table(f"quality gates, run {self.run_id}",
                                 ["check", "severity", "status", "failing rows", "message"], rows)
        if self.blocking_failures:
            verdict = (f"FAILED: {len(self.blocking_failures)} blocking check(s) did not pass "
                       f"({', '.join(r.name for r in self.blocking_failures)}); "
                       "'sfe publish' will keep the last good snapshot.")
        else:
            verdict = (f"passed ({len(self.warnings)} warning(s)); 'sfe publish' may publish "
                       "this data.")
        report = f"\nreport: {self.report_path}" if self.report_path else ""
        return f"{table.rstrip()}\n{verdict}{report}"

    def status_section(self) -> dict[str, Any]:
        """What status.json says about this run (dashboards read it)."""
        return {
            "run_id": self.run_id,
            "checked_at": self.finished_at.isoformat(),
            "status": self.status,
            "as_of_month": self.as_of_month,
            "blocking_failures": [r.name for r in self.blocking_failures],
            "warnings": [r.name for r in self.warnings],
            "reason": self.reason(),
            "report": self.report_path,
            "checks": [{"name": r.name, "severity": r.severity, "status": r.status,
                        "failing_rows": r.failing_rows, "message": r.message}
                       for r in self.results],
        }


def describe_failures(failures: list[tuple[str, str, str]], limit: int = 4) -> str:
    """'a (fail: why); b (error: why); and 3 more' with each message kept short."""
    parts = [f"{name} ({status}: {_shorten(message, 140)})"
             for name, status, message in failures[:limit]]
    if len(failures) > limit:
        parts.append(f"and {len(failures) - limit} more: "
                     + ", ".join(name for name, _, _ in failures[limit:]))
    return "; ".join(parts)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _as_of_month(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> str | None:
    if catalog.has_column("marts", "fct_sell_out", "month"):
        try:
            value = con.execute("select max(month) from marts.fct_sell_out").fetchone()[0]
        except duckdb.Error:
            return None
        return str(value)[:7] if value else None
    return None


def template_variables(con: duckdb.DuckDBPyConnection, catalog: Catalog,
                       thresholds: dict[str, Any], today: dt.date,
                       changed_months: list[str] | None = None) -> dict[str, Any]:
    """`changed_months`: the months changed since the last passed check (None: all)."""
    as_of = _as_of_month(con, catalog)
    recent = int(thresholds.get("recent_months", 3))
    return {
        **thresholds,
        "today": today.isoformat(),
        "as_of_month": as_of,
        "recent_start_month": (check_months.shift_month(as_of, 1 - recent) if as_of
                               else "0000-00"),
        "month_minus": lambda month, n: (check_months.shift_month(month, -int(n)) if month
                                         else "0000-00"),
        "has_table": catalog.has_table,
        "has_column": catalog.has_column,
        "changed_months": changed_months,
        "changed_months_where": lambda column: check_months.months_where(changed_months, column),
        "changed_dates_where": lambda column: check_months.dates_where(changed_months, column),
        "changed_weeks_where": lambda column: check_months.weeks_where(changed_months, column),
    }


def run_checks(settings: Settings, console: Console | None = None, *, run_id: str | None = None,
               gates: GateSet | None = None, select: Iterable[str] | None = None,
               today: dt.date | None = None, fingerprint: str | None = None) -> CheckReport:
    """Run the gates on the working warehouse, store the results, write the report.

    `gates` defaults to quality/gates.yml; `select` keeps gates by name or type (tests);
    `today` is the business date future dates are judged against (default: now in Shanghai);
    `fingerprint` is the working data's store.fingerprint when the caller has just taken it
    under the same writer lock (`sfe run`: quality/unchanged.py). Otherwise none is taken (a
    hash of every row, history-sized): the candidate holds exactly the data checked, and
    `sfe publish` or the next run fingerprint it only if a stamp cannot prove the data the
    same (candidate.checked_fingerprint).
    """
    console = console or Console(quiet=True)
    gate_set = (gates or load_gates()).select(select)
    thresholds = resolve_thresholds(settings, gate_set.thresholds)
    run_id = run_id or new_run_id("chk")
    today = today or business_today()
    gx_gates = [g for g in gate_set.gates if g.type == "gx"]
    started = utcnow()
    console.step(f"checking a snapshot of the working warehouse ({len(gate_set.gates)} "
                 "quality gates)")
    # the writer lock is held throughout: nothing changes the working warehouse while its
    # copy is checked, and a fingerprint recorded is the data the copy holds
    with connect(settings) as wcon:
        store.ensure_tables(wcon)
        digest = rules_digest(gate_set, thresholds)
        # a subset of the gates proves nothing about the others: all months, nothing kept
        whole = gates is None and select is None
        months = check_months.months_to_check(settings, wcon, digest) if whole else None
        alias = candidate.catalog_alias(wcon)
        tmp = candidate.freeze(settings, wcon, run_id)
        with candidate.attached(settings, tmp, alias) as con:
            store.ensure_tables(con)
            results, as_of = _run_gates(con, gate_set, gx_gates, thresholds, today, console,
                                        months)
            finished = utcnow()
            report = CheckReport(run_id, started, finished, results, as_of_month=as_of,
                                 thresholds=thresholds)
            report.report_path = str(settings.reports_dir / f"quality-{run_id}.html")
            run_row = {
                "run_id": run_id, "started_at": started, "finished_at": finished,
                "status": report.status, "checks": len(results),
                "blocking_failures": len(report.blocking_failures),
                "warnings": len(report.warnings),
                "errors": sum(r.status == ERROR for r in results),
                "as_of_month": report.as_of_month, "fingerprint": fingerprint,
                "report_path": report.report_path, "candidate_id": run_id,
                "rules_digest": digest,
            }
            result_rows = [{**r.to_dict(), "sample": r.sample} for r in results]
            store.save_run(con, run_row, result_rows)  # published with the data
            trend = store.history(con)
        run_row["candidate_sha"] = candidate.seal(settings, tmp, run_id)
        store.save_run(wcon, run_row, result_rows)  # what `sfe publish` holds the candidate to
        if whole and _months_may_be_skipped(gate_set, results):
            check_months.record_passed(settings, digest)
        else:
            check_months.forget(settings)
    # closed, the writer lock still held by the command: the data as the files now are is
    # the data checked (only audit was written), so `sfe publish` need not hash it
    store.record_stamp(settings.working_db, store.checked_state(run_row), "checked")
    write_report(settings.reports_dir, run_row, result_rows, trend, thresholds,
                 settings.working_db)
    write_status_file(settings, last_check=report.status_section())
    if report.blocking_failures:
        console.warn(f"{len(report.blocking_failures)} blocking quality check(s) failed: "
                     f"{', '.join(r.name for r in report.blocking_failures)}; "
                     f"see {report.report_path}")
    return report


def _months_may_be_skipped(gate_set: GateSet, results: list[CheckResult]) -> bool:
    """A month may be left out of the next check only when this one failed nothing blocking,
    errored nowhere and every gate that leaves months out passed: a warning that failed on
    June must be named again next time, not forgotten because June did not change."""
    scoped = {g.name for g in gate_set.gates if g.reads_changed_months}
    return not any(r.blocks_publish or r.status == ERROR or (r.name in scoped and r.status != PASS)
                   for r in results)


def _run_gates(con: duckdb.DuckDBPyConnection, gate_set: GateSet, gx_gates: list[Any],
               thresholds: dict[str, Any], today: dt.date, console: Console,
               changed_months: list[str] | None = None) -> tuple[list[CheckResult], str | None]:
    """Every gate on the candidate `con`, in the order of gates.yml, and the as-of month."""
    catalog = Catalog(con)
    variables = template_variables(con, catalog, thresholds, today, changed_months)
    by_name: dict[str, CheckResult] = {}
    gx_gates = _settle_gx(con, gx_gates, variables, catalog, by_name, console)
    for gate in gate_set.gates:
        if gate.type == "gx":
            continue
        t0 = time.perf_counter()
        try:
            if gate.type == "sql":
                result = run_sql(con, gate, variables, catalog)
            elif gate.type == "bounds":
                result = run_bounds(con, gate, catalog)
            elif gate.type == "dbt_tests":
                result = run_dbt_tests(gate, con)
            else:  # pragma: no cover - definitions validate the type
                result = result_for(gate, SKIPPED, message=f"unknown type {gate.type}")
        except Exception as exc:  # noqa: BLE001 - one broken gate must not hide the others
            result = result_for(gate, ERROR, message=f"{type(exc).__name__}: {exc}")
        result.seconds = time.perf_counter() - t0
        by_name[gate.name] = result
        _say(console, result)
    if gx_gates:
        from quality import gx_runner  # noqa: PLC0415

        t0 = time.perf_counter()
        console.info("    Great Expectations checkpoints ...")
        for result in gx_runner.run_gx(con, gx_gates, variables, catalog):
            result.seconds = (time.perf_counter() - t0) / len(gx_gates)
            by_name[result.name] = result
            _say(console, result)
    return [by_name[g.name] for g in gate_set.gates], variables["as_of_month"]


def _settle_gx(con: duckdb.DuckDBPyConnection, gx_gates: list[Any], variables: dict[str, Any],
               catalog: Catalog, by_name: dict[str, CheckResult], console: Console) -> list[Any]:
    """The GX gates no row of whose table can fail pass on that SQL count (into `by_name`);
    the others are returned, and GX starts importing in the background for them while the SQL
    gates run (quality/gx_runner.py)."""
    if not gx_gates:
        return []
    from quality import gx_runner  # noqa: PLC0415 - GX itself is imported only when needed

    t0 = time.perf_counter()
    settled, pending = gx_runner.settle_by_sql(con, gx_gates, variables, catalog)
    for result in settled:
        result.seconds = (time.perf_counter() - t0) / len(settled)
        by_name[result.name] = result
        _say(console, result)
    if pending:
        gx_runner.preload()
    return pending


def _say(console: Console, result: CheckResult) -> None:
    mark = status_mark(result)
    console.info(f"    {mark:5} {result.name}: {_shorten(result.message, 100)}")


def check_command(settings: Settings, args: argparse.Namespace, console: Console) -> CheckReport:
    """CLI adapter for `sfe check`."""
    try:
        return run_checks(settings, console)
    except WarehouseBusy as exc:
        raise UsageError(str(exc)) from exc


def render_sql(gate_name: str, variables: dict[str, Any], gates: GateSet | None = None) -> str:
    """The SQL a gate would run (for debugging a gate by hand)."""
    gate_set = gates or load_gates()
    gate = next(g for g in gate_set.gates if g.name == gate_name)
    return render(gate.sql or "", variables)


def status_mark(result: CheckResult) -> str:
    """How a check's outcome is printed: a warning check that did not pass is a WARN, not a
    FAIL, since it never stops a publish (the run may still say `gates: passed`)."""
    if result.severity == "warning" and result.status in (FAIL, ERROR):
        return "WARN"
    return {"pass": "ok", "fail": "FAIL", "error": "ERROR", "skipped": "skip"}[result.status]
