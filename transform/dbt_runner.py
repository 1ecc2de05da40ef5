"""dbt in-process: the command line and environment `sfe build` gives dbt, the run itself
(`run_dbt`, through `dbtRunner`), and the same on the Spark target (`run_dbt_on_spark`).

dbt runs on the working warehouse (`settings.working_db`), with its target/ and logs/ under
`settings.dbt_target_dir`, so nothing is written into the repo. It runs in the warehouse folder,
with the warehouse named relative to it: the profile dbt hashes into its parse is then the same
for every data dir, and one parse serves them all (transform/shared_parse.py). dbt's own log lines go to that
log file only; progress goes to the console (stderr, transform/progress.py). DuckDB allows one
writer: nothing else opens the warehouse while dbt runs, and dbt-duckdb's in-process instance
is closed after it (`_release_duckdb`) so the next stage can open the file.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sfe.config import PROJECT_ROOT, Settings
from sfe.console import Console
from sfe.report import UsageError
from transform.progress import Progress
from transform.report import FAILED_STATUSES, BuildFailure, BuildReport

_TEST_TYPES = {"test", "unit_test"}


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


RUN_VARS = ("kpi_changed_months", "rebuild_all_months")  # macros/run_vars.sql


def dbt_args(settings: Settings, command: str, select: Sequence[str] | None = None) -> list[str]:
    """The dbt command line `build` uses (also handy for `dbt docs generate` by hand). The
    --vars are the settings only, the same on every build, so dbt parses only what changed."""
    target = settings.dbt_target_dir.resolve()  # dbt runs in the warehouse folder (`_in_dir`)
    dbt_vars = settings.dbt_vars()
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
    if command == "build":  # run_results.json is written by `run_dbt` (`_write_results`)
        args.append("--no-write-json")
    return args


def run_vars_env(run_vars: dict[str, object] | None) -> dict[str, str]:
    """This build's own values (RUN_VARS) as the environment `run_var` reads: JSON, empty
    for a value not set (then the macro's default: every month)."""
    unknown = set(run_vars or {}) - set(RUN_VARS)
    if unknown:
        raise ValueError(f"not a run var of macros/run_vars.sql: {sorted(unknown)}")
    return {f"SFE_RUN_{name.upper()}": json.dumps(run_vars[name]) if run_vars and name in run_vars
            else "" for name in RUN_VARS}


def dbt_env(settings: Settings, run_vars: dict[str, object] | None = None) -> dict[str, str]:
    from sfe.warehouse import duckdb_memory_limit

    threads = settings.threads or os.cpu_count() or 1
    return {**run_vars_env(run_vars),
            # relative to the warehouse folder dbt runs in (`_in_dir`): the same profile, so the
            # same parse, for every data dir (transform/shared_parse.py)
            "SFE_WORKING_DB": settings.working_db.name,
            "SFE_MEMORY_LIMIT": duckdb_memory_limit(settings),
            "SFE_THREADS": str(threads),
            # two dbt nodes a DuckDB thread: one node's Python (compiling, a unit test's
            # fixtures) runs while another's query has the cores (10 M rows: ~1 s off a build)
            "SFE_DBT_THREADS": str(2 * threads),
            "DBT_TARGET_PATH": str(settings.dbt_target_dir.resolve() / "target"),
            "DBT_LOG_PATH": str(settings.dbt_target_dir.resolve() / "logs"),
            "SFE_LAKE_DIR": str(settings.lake_dir.resolve()),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@contextmanager
def _in_dir(folder: Path) -> Iterator[None]:
    """dbt's working directory for one run: the warehouse folder (see `dbt_env`). Every path
    dbt is given is absolute; the previous directory is restored, also when dbt fails."""
    try:
        previous: str | None = os.getcwd()
    except FileNotFoundError:  # the caller's directory was removed: nothing to return to
        previous = None
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        yield
    finally:
        if previous is not None:
            try:
                os.chdir(previous)
            except OSError:  # removed while dbt ran
                pass


def import_dbt_meanwhile() -> threading.Thread:
    """Import dbt (~1.4 s of Python) in a thread while matching runs, which spends most of its
    time in DuckDB and polars outside the GIL; `run_dbt`'s import then finds it loaded (the
    import lock makes it wait for an import under way, never import twice)."""
    def load() -> None:
        try:
            import dbt.adapters.duckdb  # noqa: F401
            import dbt.cli.main  # noqa: F401
        except Exception:  # noqa: BLE001 - run_dbt's own import reports it
            pass

    thread = threading.Thread(target=load, name="import-dbt", daemon=True)
    thread.start()
    return thread


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

    from transform import shared_parse
    from transform.build_state import code_state

    progress = Progress(console)
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    report.log_path = str(settings.dbt_target_dir / "logs" / "dbt.log")
    started = time.perf_counter()
    code = code_state(settings)  # read before dbt reads the project
    if not shared_parse.holds(settings, code):
        shared_parse.take(settings, code)
    # DuckDB resolves the relative warehouse path when it opens and when it closes the file:
    # the instance is released before the directory is restored
    with _env(dbt_env(settings, extra_vars)), _in_dir(settings.warehouse_dir.resolve()):
        try:
            result = dbtRunner(callbacks=[progress]).invoke(dbt_args(settings, command, select))
        finally:
            _release_duckdb()
    if result.success:
        shared_parse.keep(settings, code)
    from dbt_common.invocation import get_invocation_id  # the id dbt wrote into run_results

    report.invocation_id = get_invocation_id()
    if command == "build":
        _write_results(settings, result.result)
    report.dbt_seconds += time.perf_counter() - started
    if result.exception is not None:
        report.error = f"dbt {command} could not run: {result.exception}"
        return
    _count_results(getattr(result.result, "results", None) or [], report)
    if not result.success and not report.failures:
        report.error = f"dbt {command} did not succeed; see {report.log_path}"


def _write_results(settings: Settings, result: Any) -> None:
    """The build's run_results.json (the dbt_tests gate reads it), without dbt's other JSON:
    `--no-write-json` spares the build writing manifest.json twice, before the first node and
    after the last, ~0.8 s of Python each that nothing runs beside (nothing here reads it;
    `sfe docs` writes its own)."""
    path = settings.dbt_target_dir / "target" / "run_results.json"
    path.unlink(missing_ok=True)  # never another build's results under this build's id
    if hasattr(result, "write"):
        path.parent.mkdir(parents=True, exist_ok=True)
        result.write(str(path))


def _count_results(results: Sequence[Any], report: BuildReport) -> None:
    """dbt's node results into the report: counts by status, and each failure."""
    for res in results:
        node = res.node
        kind = getattr(node, "resource_type", "")
        kind = getattr(kind, "value", str(kind))
        status = getattr(res.status, "value", str(res.status)).lower()
        bucket = report.tests if kind in _TEST_TYPES else report.models
        bucket[status] = bucket.get(status, 0) + 1
        if kind == "unit_test":
            report.unit_tests[status] = report.unit_tests.get(status, 0) + 1
        if status in FAILED_STATUSES:
            message = (res.message or "").strip().splitlines()
            report.failures.append(BuildFailure(
                name=getattr(node, "name", node.unique_id), resource_type=kind, status=status,
                message=" ".join(message)[:500] or status))


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
    if failed := [f.name for f in report.failures if f.resource_type not in _TEST_TYPES]:
        # the nodes after it were skipped: loading what the lake holds would mix this build's
        # tables with older ones, and the DuckDB views would fail on tables that are missing,
        # naming a view instead of the model that failed
        console.warn(f"the Spark build failed ({', '.join(failed[:5])}): the working warehouse "
                     "keeps its tables, and nothing is published until a build passes")
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
