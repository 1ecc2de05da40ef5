"""
### sfe_warehouse — build, check, publish when new raw data lands

Scheduled on the asset **`sfe_raw_warehouse`** (emitted by `sfe_ingest` when files were loaded).
One task runs the same function as `sfe run`, `orchestration.pipeline.run_pipeline`, with the steps after
ingest: `build` (matching + dbt), `check` (the quality gates, on a frozen candidate snapshot),
`publish` (promotes that checked snapshot atomically). The run is recorded in `audit.runs`, so
`sfe status` and the dashboards show it like any `sfe run`.

- Published: the task succeeds and emits the asset **`sfe_published_snapshot`**.
- A configuration or usage error, failing gates or a refused publish: the task fails at once,
  without retries (a person must fix the setting or look at the failing gates on the 数据质量
  Data quality page); the last good snapshot stays published.
- A transient error (the warehouse busy, a disk hiccup): the task is retried.

All steps are idempotent. Only one run at a time (DuckDB allows a single writer); run_pipeline
holds the warehouse's writer lock, so it also waits for a writer outside Airflow (`lock_wait_s`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

RAW_WAREHOUSE = Asset("sfe_raw_warehouse")
PUBLISHED_SNAPSHOT = Asset("sfe_published_snapshot")


@dag(
    dag_id="sfe_warehouse",
    schedule=[RAW_WAREHOUSE],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfe", "warehouse"],
    # pool: the one-slot pool `sfe airflow` creates; sfe_ingest writes in it too (one writer)
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "pool": "sfe_warehouse"},
)
def sfe_warehouse():
    @task(outlets=[PUBLISHED_SNAPSHOT])
    def run_warehouse() -> dict:
        """build → check → publish through orchestration.pipeline.run_pipeline (as `sfe run`)."""
        from airflow.sdk.exceptions import AirflowFailException

        from sfe.config import ConfigError, load_settings
        from sfe.console import Console
        from orchestration.pipeline import WAREHOUSE_STEPS, failure_kind, run_pipeline

        try:
            settings = load_settings()
        except ConfigError as exc:
            raise AirflowFailException(f"configuration error (not retried): {exc}") from exc
        report = run_pipeline(settings, console=Console(), command="dag:sfe_warehouse",
                              steps=WAREHOUSE_STEPS)
        print(report.summary())
        kind = failure_kind(report)
        if kind == "permanent":
            raise AirflowFailException(f"run {report.run.run_id} needs a person (not retried); "
                                       f"the last good snapshot stays published:\n"
                                       f"{report.summary()}")
        if kind == "transient":
            raise RuntimeError(f"run {report.run.run_id} failed; retrying:\n{report.summary()}")
        return report.to_dict()

    run_warehouse()


sfe_warehouse()
