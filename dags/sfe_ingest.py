"""
### sfe_ingest — load inbox files (流向, inventory, masters, …) as soon as they arrive

Runs continuously, one run at a time:

1. `wait_for_files` — a sensor in *reschedule* mode (it frees its worker slot between looks)
   that looks at the inbox every minute through `orchestration.operations.new_arrivals(settings)`: files
   new or changed since the last ingest, untouched for a minute (a file still being uploaded
   is not loaded half-written). It reads no database, so a running build never blocks it.
   After 6 hours without a new file the run ends as skipped and the next run starts watching.
2. `ingest` — `ingestion.pipeline.ingest_inbox(settings)`, the same function as `sfe ingest`, in
   the one-slot pool **`sfe_warehouse`** that every task writing the warehouse runs in (DuckDB
   allows one writer), so it never collides with `sfe_warehouse`; it also holds the warehouse's
   writer lock like `sfe ingest`, so it waits for a writer outside Airflow (up to `lock_wait_s`,
   then fails naming it and is retried). Idempotent: files already in
   `audit.file_registry` (same path and bytes) are skipped, so a retry loads nothing twice.
3. `announce_raw_warehouse` — when at least one file was loaded, emits the Airflow asset
   **`sfe_raw_warehouse`**, which schedules `sfe_warehouse` (build → check → publish). When
   nothing new was loaded the task is skipped and no asset event is emitted.

Rejected or partial files do not fail the run (the good files are loaded); they are listed in the
task log and on the dashboards' 数据加载 Loads page for the data team.

Settings come from `sfe.toml` / `SFE_*` environment variables, which `sfe airflow` sets as
absolute paths for every Airflow process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, PokeReturnValue, dag, task

RAW_WAREHOUSE = Asset("sfe_raw_warehouse")
WAREHOUSE_POOL = "sfe_warehouse"  # one slot, created by `sfe airflow` (orchestration/scheduler.py)


@dag(
    dag_id="sfe_ingest",
    schedule="@continuous",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfe", "ingest"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
)
def sfe_ingest():
    @task.sensor(poke_interval=60, timeout=6 * 3600, mode="reschedule", soft_fail=True)
    def wait_for_files() -> PokeReturnValue:
        """Done when settled files the last ingest did not see are in the inbox."""
        from sfe.config import load_settings
        from orchestration.operations import new_arrivals

        arrived = new_arrivals(load_settings())
        if arrived:
            print(f"{len(arrived)} new file(s): {', '.join(arrived[:20])}")
        return PokeReturnValue(is_done=bool(arrived), xcom_value=arrived)

    @task(pool=WAREHOUSE_POOL)
    def ingest(_arrived: list[str]) -> dict:
        """Load every new inbox file into the working warehouse (ingest_inbox)."""
        from ingestion.pipeline import ingest_inbox
        from sfe.config import load_settings
        from orchestration.operations import inbox_listing, remember_listing
        from sfe.console import Console
        from sfe.warehouse import writer_lock

        settings = load_settings()
        listing = inbox_listing(settings)  # before: a file arriving meanwhile stays new
        with writer_lock(settings, "dag:sfe_ingest", Console()):  # as `sfe ingest`
            report = ingest_inbox(settings)
        remember_listing(settings, listing)
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

    announce_raw_warehouse(ingest(wait_for_files()))


sfe_ingest()
