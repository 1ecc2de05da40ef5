"""The dbt stage of `sfe build`: dbt (seeds, models, tests, unit tests) on the working warehouse.

Customer/product matching runs before it, called by the orchestration (orchestration/build.py),
which hands its result in as `matching`. One code path for the CLI, the DAGs and the tests:
`build(settings)` returns a `BuildReport`.
dbt runs in-process through `dbtRunner` on the working warehouse (`settings.working_db`), with
its target/ and logs/ under `settings.dbt_target_dir`, so nothing is written into the repo.
dbt's own log lines go to that log file only; progress goes to the console (stderr) and stdout
stays free for `--json`. DuckDB allows one writer: nothing else opens the warehouse while dbt runs.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from transform import build_months
from sfe.config import PROJECT_ROOT, Settings
from sfe.gate_tables import ensure_tables
from sfe.builds import BuildRecord, record_build
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError
from sfe.runs import new_run_id
from sfe.warehouse import WarehouseBusy, connect

_TEST_TYPES = {"test", "unit_test"}
_BAD = {"error", "fail", "runtime error"}


@dataclass
class BuildFailure:
    name: str
    resource_type: str
    status: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "resource_type": self.resource_type, "status": self.status,
                "message": self.message}


@dataclass
class BuildReport:
    models: dict[str, int] = field(default_factory=dict)   # status -> count (models and seeds)
    tests: dict[str, int] = field(default_factory=dict)    # status -> count (data + unit tests)
    failures: list[BuildFailure] = field(default_factory=list)
    seconds: float = 0.0
    dbt_seconds: float = 0.0
    matching: dict[str, Any] | None = None
    log_path: str = ""
    error: str | None = None
    rebuilt_all_months: bool | None = None
    up_to_date: bool = False  # nothing changed since the last successful build: dbt not run
    kpi_changed_months: list[str] | None = None  # months of changed files; None: all rebuilt
    invocation_id: str | None = None  # dbt's, recorded in audit.dbt_builds (sfe/builds.py)
    build_id: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_NEEDS_ATTENTION if (self.failures or self.error) else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.exit_code == EXIT_OK else "failed",
                "models": self.models, "tests": self.tests,
                "failures": [f.to_dict() for f in self.failures],
                "seconds": round(self.seconds, 2), "dbt_seconds": round(self.dbt_seconds, 2),
                "matching": self.matching, "rebuilt_all_months": self.rebuilt_all_months,
                "up_to_date": self.up_to_date, "log_path": self.log_path, "error": self.error,
                "build_id": self.build_id, "invocation_id": self.invocation_id}

    def summary(self) -> str:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"

        if self.up_to_date:
            return (f"build up to date in {self.seconds:.1f}s: no new files, matches, master data, "
                    "settings or dbt project changes since the last successful build, so dbt did "
                    "not run (its tables and test results stand); 'sfe build --force' rebuilds")
        lines = [f"build {'ok' if self.exit_code == EXIT_OK else 'FAILED'} in {self.seconds:.1f}s "
                 f"(dbt {self.dbt_seconds:.1f}s)",
                 f"  models/seeds: {fmt(self.models)}",
                 f"  tests:        {fmt(self.tests)}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        for f in self.failures[:20]:
            lines.append(f"  {f.status.upper():<6} {f.resource_type} {f.name}: {f.message}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more; see {self.log_path}")
        if self.exit_code != EXIT_OK and self.log_path:
            lines.append(f"  dbt log: {self.log_path}")
        return "\n".join(lines)


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Progress:
    """dbt event callback: counts finished nodes and reports progress and failures on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0
        self.failed = 0
        self._next_report = 0.0

    def __call__(self, event: Any) -> None:
        name = event.info.name
        data = event.data
        if name == "LogStartLine" and getattr(data, "total", 0):
            self.total = max(self.total, int(data.total))
        elif name == "NodeFinished":
            info = data.node_info
            self.done += 1
            status = (info.node_status or "").lower()
            if status in _BAD:
                self.failed += 1
                self.console.info(f"    {status}: {info.node_name}")
            share = self.done / self.total if self.total else 0.0
            if share >= self._next_report or self.done == self.total:
                self._next_report = share + 0.1
                self.console.info(f"    dbt: {self.done}/{self.total or '?'} nodes done"
                                  f", {self.failed} failed")


def dbt_args(settings: Settings, command: str, select: Sequence[str] | None = None,
             extra_vars: dict[str, object] | None = None) -> list[str]:
    """The dbt command line `build` uses (also handy for `dbt docs generate` by hand)."""
    target = settings.dbt_target_dir
    dbt_vars = {**settings.dbt_vars(), **(extra_vars or {})}
    args = [*command.split(),
            "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
            "--target-path", str(target / "target"), "--log-path", str(target / "logs"),
            "--vars", json.dumps(dbt_vars, ensure_ascii=False),
            "--log-level", "none", "--log-level-file", "info", "--no-use-colors"]
    if settings.engine == "spark":
        args += ["--target", "spark"]  # profiles.yml; the default target is DuckDB
    if select:
        # only tests whose parents are all built (or upstream of) the selection
        args += ["--select", *select, "--indirect-selection", "buildable"]
    return args


def dbt_env(settings: Settings) -> dict[str, str]:
    from sfe.warehouse import duckdb_memory_limit

    return {"SFE_WORKING_DB": str(settings.working_db.resolve()),
            "SFE_MEMORY_LIMIT": duckdb_memory_limit(settings),
            "SFE_THREADS": str(settings.threads or os.cpu_count() or 1),
            "DBT_TARGET_PATH": str(settings.dbt_target_dir / "target"),
            "DBT_LOG_PATH": str(settings.dbt_target_dir / "logs"),
            "SFE_LAKE_DIR": str(settings.lake_dir.resolve()),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open in-process after a run; close it so the next
    stage (quality gates, publish) can open the working warehouse."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager  # lazy: dbt's import cost

    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager.close_all_connections()
    gc.collect()


def run_dbt(settings: Settings, command: str, select: Sequence[str] | None, console: Console,
            report: BuildReport, extra_vars: dict[str, object] | None = None) -> None:
    from dbt.cli.main import dbtRunner  # imported lazily: dbt costs seconds to import

    progress = _Progress(console)
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    report.log_path = str(settings.dbt_target_dir / "logs" / "dbt.log")
    started = time.perf_counter()
    with _env(dbt_env(settings)):
        try:
            result = dbtRunner(callbacks=[progress]).invoke(
                dbt_args(settings, command, select, extra_vars))
        finally:
            _release_duckdb()
    from dbt_common.invocation import get_invocation_id  # the id dbt wrote into run_results

    report.invocation_id = get_invocation_id()
    report.dbt_seconds += time.perf_counter() - started
    if result.exception is not None:
        report.error = f"dbt {command} could not run: {result.exception}"
        return
    for res in getattr(result.result, "results", None) or []:
        node = res.node
        kind = getattr(node, "resource_type", "")
        kind = getattr(kind, "value", str(kind))
        status = getattr(res.status, "value", str(res.status)).lower()
        bucket = report.tests if kind in _TEST_TYPES else report.models
        bucket[status] = bucket.get(status, 0) + 1
        if status in _BAD:
            message = (res.message or "").strip().splitlines()
            report.failures.append(BuildFailure(
                name=getattr(node, "name", node.unique_id), resource_type=kind, status=status,
                message=" ".join(message)[:500] or status))
    if not result.success and not report.failures:
        report.error = f"dbt {command} did not succeed; see {report.log_path}"


_FINGERPRINT_SQL = {
    # what, besides new files, changes facts of months already built
    "customer_map": "select count(*), coalesce(sum(hash(source, distributor_code, buyer_code, "
                    "raw_name, buyer_kind, buyer_distributor_code, crm_customer_id, match_status)),"
                    " 0) from matching.customer_source_map",
    "product_map": "select count(*), coalesce(sum(hash(distributor_code, raw_product, raw_spec, "
                   "product_id, box_factor_min_unit, box_factor_case)), 0) "
                   "from matching.product_source_map",
    "master": "select max(snapshot_date) from raw.master__customer_alignment",
    "products": "select max(snapshot_date) from raw.master__products",
    "rep_assignments": "select max(snapshot_date) from raw.master__rep_assignments",
    "hcps": "select max(snapshot_date) from raw.master__hcps",
}


def _inputs_fingerprint(settings: Settings) -> dict[str, str] | None:
    """Matching results and master snapshots the incremental facts were built from. When they
    change, every month is rebuilt (steward decisions and re-matches reach history); when only
    new files arrived, only their months are. Read before dbt starts, on a closed connection."""
    out: dict[str, str] = {}
    try:
        with connect(settings) as con:
            for key, sql in _FINGERPRINT_SQL.items():
                try:
                    out[key] = str(con.execute(sql).fetchone())
                except Exception:  # noqa: BLE001 - a missing table just means "unknown"
                    out[key] = "missing"
    except Exception:  # noqa: BLE001 - the warehouse check below reports lock problems
        return None
    return out


def _state_file(settings: Settings) -> Path:
    return settings.dbt_target_dir / "last_build_inputs.json"


def _built_state_file(settings: Settings) -> Path:
    return settings.dbt_target_dir / "last_build_state.json"


_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds")


def _project_fingerprint() -> str:
    """The dbt project as it is on disk: models, macros, tests, seeds (stewards edit seeds)."""
    digest = hashlib.sha256()
    for entry in _PROJECT_FILES:
        root = PROJECT_ROOT / entry
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _build_state(settings: Settings, inputs: dict[str, str] | None) -> dict[str, Any] | None:
    """Everything a full build depends on: when it equals the last successful build's, dbt
    would rebuild the same tables and rerun the same tests, so `build` skips it."""
    if inputs is None:
        return None
    try:
        with connect(settings) as con:
            files = con.execute("select count(*), coalesce(sum(hash(r)), 0) "
                                "from audit.file_registry as r").fetchone()
    except Exception:  # noqa: BLE001 - unknown state: build
        return None
    return {"inputs": inputs, "files": str(files), "project": _project_fingerprint(),
            "vars": settings.dbt_vars(), "engine": settings.engine}


def _up_to_date(settings: Settings, state: dict[str, Any] | None) -> bool:
    if state is None or not (settings.dbt_target_dir / "target" / "run_results.json").is_file():
        return False
    try:
        return json.loads(_built_state_file(settings).read_text(encoding="utf-8")) == state
    except (OSError, ValueError):
        return False


def _needs_full_rebuild(settings: Settings, fingerprint: dict[str, str] | None,
                        maps: dict[str, dict[str, str]] | None = None) -> bool:
    if fingerprint is None:
        return True
    try:
        previous = json.loads(_state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    changed = {k for k in previous.keys() | fingerprint.keys()
               if previous.get(k) != fingerprint.get(k)}
    # new raw names matched (a new month's buyers) reach only the new files' months
    return bool(changed) and not (changed <= build_months.MAP_KEYS
                                  and build_months.maps_only_grew(settings.dbt_target_dir, maps))


def _registry_files(settings: Settings) -> tuple[dict[str, list[Any]] | None,
                                                 dict[str, dict[str, str]] | None]:
    """The file registry and matching entries as the incremental build compares them
    (None: unknown, every month is rebuilt)."""
    from sfe.warehouse import connect

    try:
        with connect(settings) as con:
            return build_months.file_states(con), build_months.map_entries(con)
    except Exception:  # noqa: BLE001 - unknown: every month is rebuilt
        return None, None


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
          run_id: str | None = None) -> BuildReport:
    """`dbt build` — unless nothing it depends on changed since the last successful full build
    (`force` rebuilds). `matching` is the report of the matching that ran just before (recorded
    with the build; when it failed, dbt does not run); `run_id` names this build in
    audit.dbt_builds (the run's id; a build on its own makes one)."""
    console = console or Console(quiet=True)
    if isinstance(select, str):
        select = select.split()
    require_warehouse(settings)
    started = time.perf_counter()
    report = BuildReport(matching=matching, build_id=run_id)
    matching_error = (matching or {}).get("error")
    if matching_error:
        report.error = f"matching failed, dbt not run: {matching_error}"
        report.seconds = time.perf_counter() - started
        console.warn(report.error)
        return report
    busy = _wait_for_warehouse(settings)
    if busy:
        report.error = busy
        report.seconds = time.perf_counter() - started
        console.warn(busy)
        return report
    _ensure_audit_sources(settings)
    fingerprint = _inputs_fingerprint(settings)
    state = None if select else _build_state(settings, fingerprint)
    if not force and _up_to_date(settings, state):
        report.up_to_date = True
        report.seconds = time.perf_counter() - started
        console.step("dbt build skipped: nothing changed since the last successful build "
                     "(sfe build --force rebuilds)")
        return report
    _built_state_file(settings).unlink(missing_ok=True)  # a failed or killed run must rebuild
    files, maps = _registry_files(settings)
    rebuild_all = force or _needs_full_rebuild(settings, fingerprint, maps)
    key = build_months.state_key(state)
    changed = None if rebuild_all else build_months.months_since_last_build(
        settings.dbt_target_dir, key, files)
    # the months state is the last successful build's: gone until this one succeeds, so a
    # failed or killed build is followed by one that rebuilds every month
    build_months.record(settings.dbt_target_dir, None, None)
    report.kpi_changed_months = changed
    report.rebuilt_all_months = rebuild_all
    console.step("dbt build (seeds, models, tests, unit tests)"
                 + (f" --select {' '.join(select)}" if select else "")
                 + ("; --force: every table rebuilt from raw (full refresh)" if force
                    else "; matching or master data changed: every month rebuilt" if rebuild_all
                    else "; only months touched by new or replaced files rebuilt"
                    + (f" (KPI months: {', '.join(changed) or 'none'}; unit tests passed on "
                       "this project already)" if changed is not None else "")))
    # --force is the way out of any incremental state: dbt rebuilds every table from raw, so
    # the result equals a fresh build on the same inbox
    # months known ⇒ project, seeds and vars as at the last successful build: its unit tests
    # (which read no warehouse data) passed on this very code, so they are not run again
    command = ("build --full-refresh" if force else "build"
               if changed is None else "build --exclude test_type:unit")
    run = run_dbt_on_spark if settings.engine == "spark" else run_dbt
    run(settings, command, select, console, report,
        extra_vars={"rebuild_all_months": True} if rebuild_all
        else None if changed is None else {"kpi_changed_months": changed})
    _record_build(settings, report, select)
    if fingerprint is not None and not report.error and not report.failures and not select:
        _state_file(settings).write_text(json.dumps(fingerprint), encoding="utf-8")
        if state is not None:
            _built_state_file(settings).write_text(json.dumps(state), encoding="utf-8")
            build_months.record(settings.dbt_target_dir, key, files, maps)
    report.seconds = time.perf_counter() - started
    if report.failures or report.error:
        console.warn(f"build finished with {len(report.failures)} failure(s); "
                     f"see 'sfe build' summary or {report.log_path}")
    return report


def _ensure_audit_sources(settings: Settings) -> None:
    """The gate and publish-stamp tables dbt's views read (sfe/gate_tables.py owns their DDL)
    exist before dbt builds, also in a warehouse never checked."""
    from sfe.warehouse import connect

    with connect(settings) as con:
        ensure_tables(con)


def run_dbt_on_spark(settings: Settings, command: str, select: Sequence[str] | None,
                     console: Console, report: BuildReport,
                     extra_vars: dict[str, object] | None = None) -> None:
    """`run_dbt` on the Spark target (engine = "spark", transform/lake.py): export the sources to the
    Parquet lake, build there, then copy the Spark-built marts into the working warehouse so
    the gates and publish run on DuckDB as on the default engine."""
    from importlib.util import find_spec

    from transform import lake
    from sfe.warehouse import connect

    if find_spec("pyspark") is None or find_spec("dbt.adapters.spark") is None:
        raise UsageError("engine 'spark' needs the optional 'spark' extra (pyspark, dbt-spark): "
                         "'bin/sfe run --engine spark' installs it, or 'uv sync --extra spark'")
    console.step(f"exporting sources to the Parquet lake ({lake.sources_dir(settings)})")
    with connect(settings) as con:
        lake.export_sources(settings, con)
    if lake.reset_spark_tables(settings):
        console.step("no Spark metastore yet: every Spark table is built from the lake")
    try:
        run_dbt(settings, command, select, console, report, extra_vars)
    finally:
        lake.stop_spark()
    if report.error:
        return
    console.step("loading the Spark-built marts into the working warehouse for gates and publish")
    with connect(settings) as con:
        lake.load_marts(settings, con)
    # dbt's views (staging, the publish status, scorecard_weekly, data_quality_results) are
    # evaluated where they are read: created on DuckDB over the tables just loaded
    # (that run writes its own run_results.json; the build's is kept: the dbt_tests gate
    # reads the results of the build's data and unit tests, run on Spark)
    results = settings.dbt_target_dir / "target" / "run_results.json"
    kept = results.read_bytes()
    views = BuildReport()
    try:
        run_dbt(replace(settings, engine="duckdb"), "run --select config.materialized:view",
                None, console, views)
    finally:
        results.write_bytes(kept)
    if views.error or views.failures:
        report.error = report.error or views.error or (
            f"creating dbt's views on DuckDB failed: {views.failures[0].message}")


def _record_build(settings: Settings, report: BuildReport, select: Sequence[str] | None) -> None:
    """Tie this build's dbt results to the warehouse it built (audit.dbt_builds), so the
    dbt_tests gate reads these results and no others."""
    report.build_id = report.build_id or new_run_id("bld")
    status = "error" if report.error else "failed" if report.failures else "ok"
    path = settings.dbt_target_dir / "target" / "run_results.json"
    with connect(settings) as con:
        record_build(con, BuildRecord(report.build_id, report.invocation_id, str(path), status,
                                      " ".join(select) if select else None, report.error))


def generate_docs(settings: Settings, console: Console | None = None) -> Path:
    """`dbt docs generate` on the working warehouse; returns the folder holding index.html.

    Open it with `uv run dbt docs serve --project-dir . --profiles-dir . --target-path <that
    folder>` or any static file server.
    """
    console = console or Console(quiet=True)
    report = BuildReport()
    console.step("dbt docs generate")
    run_dbt(settings, "docs generate", None, console, report)
    if report.error or report.failures:
        raise RuntimeError(report.error or report.failures[0].message)
    return settings.dbt_target_dir / "target"

