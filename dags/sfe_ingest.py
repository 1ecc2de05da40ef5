"""
### sfe_ingest — load new inbox files (流向, inventory, masters, …) every 15 minutes

Every 15 minutes (Asia/Shanghai) this DAG runs `ingestion.pipeline.ingest_inbox(settings)`, the
same function as `sfe ingest`. It is idempotent: files already in `audit.file_registry` (same path
and bytes) are skipped, so a retry or an overlapping schedule loads nothing twice.

When at least one file was loaded, the `announce_raw_warehouse` task emits the Airflow asset
**`sfe_raw_warehouse`**, which schedules `sfe_warehouse` (build → check → publish). When nothing
new arrived that task is skipped and no asset event is emitted.

Rejected or partial files do not fail the run (the good files are loaded); they are listed in the
task log and on the dashboards' 数据加载 Loads page for the data team.

Settings come from `sfe.toml` / `SFE_*` environment variables on the worker (`SFE_DATA_DIR`, …).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, CronTriggerTimetable, dag, task

RAW_WAREHOUSE = Asset("sfe_raw_warehouse")


@dag(
    dag_id="sfe_ingest",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfe", "ingest"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
)
def sfe_ingest():
    @task
    def ingest() -> dict:
        """Load every new inbox file into the working warehouse (ingest_inbox)."""
        from ingestion.pipeline import ingest_inbox
        from sfe.config import load_settings

        report = ingest_inbox(load_settings())
        totals = report.totals()
        loaded = [f.path for f in report.files if f.rows_loaded > 0]
        attention = [{"path": f.path, "status": f.status, "reason": (f.reasons or [""])[0]}
                     for f in report.files if f.status in ("rejected", "conflict", "partial")]
        for item in attention:
            print(f"needs a person: {item['path']} ({item['status']}): {item['reason']}")
        return {"run_id": report.run_id, "loaded_files": loaded, "totals": totals,
                "needs_person": attention}

    @task(outlets=[RAW_WAREHOUSE])
    def announce_raw_warehouse(summary: dict) -> int:
        """Emit the raw-warehouse asset when something new was loaded; skip otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary["loaded_files"]:
            raise AirflowSkipException("no new inbox files; the warehouse is unchanged")
        return len(summary["loaded_files"])

    announce_raw_warehouse(ingest())


sfe_ingest()
