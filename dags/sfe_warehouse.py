"""
### sfe_warehouse — build, check, publish when new raw data lands

Scheduled on the asset **`sfe_raw_warehouse`** (emitted by `sfe_ingest` when files were loaded).
Each task calls the same function as the command line:

1. `build` — `sfe.build.build(settings)`: customer/product matching, then dbt seed/run/test
   (`sfe build`).
2. `check` — `quality.gates.run_checks(settings)`: the quality gates (`sfe check`).
3. `publish` — `quality.publish.publish(settings)` (`sfe publish`): atomically switches the
   published snapshot when the gates passed; otherwise the last good snapshot stays and the task
   fails without retrying (a person must look at the failing gates on the 数据质量 Data quality
   page). A successful publish emits the asset **`sfe_published_snapshot`**.

All steps are idempotent: a rebuild replaces the same tables, a check writes a new gate run, a
publish of unchanged data publishes an identical snapshot. Only one run at a time (DuckDB allows a
single writer).
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
    @task
    def build() -> dict:
        """Matching + dbt seed/run/test on the working warehouse (sfe build)."""
        from sfe.build import build as build_warehouse
        from sfe.config import load_settings

        report = build_warehouse(load_settings())
        if report.exit_code:
            print(f"build needs attention (exit {report.exit_code}); the gates will judge it:\n"
                  f"{report.summary()}")
        return {"exit_code": report.exit_code}

    @task
    def check(_built: dict) -> dict:
        """Run the quality gates (sfe check); the result decides whether publish may go on."""
        from quality.gates import run_checks
        from sfe.config import load_settings

        report = run_checks(load_settings())
        print(report.summary())
        return {"exit_code": report.exit_code}

    @task(outlets=[PUBLISHED_SNAPSHOT])
    def publish(_checked: dict) -> dict:
        """Publish the snapshot when the gates passed; a refusal fails the task (no retry)."""
        from airflow.sdk.exceptions import AirflowFailException

        from quality.publish import publish as publish_snapshot
        from sfe.config import load_settings

        report = publish_snapshot(load_settings())
        print(report.summary())
        if report.exit_code:
            raise AirflowFailException(f"not published: {report.to_dict().get('reason')}; the "
                                       "last good snapshot stays published")
        return report.to_dict()

    publish(check(build()))


sfe_warehouse()
