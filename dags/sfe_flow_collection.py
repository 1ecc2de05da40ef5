"""
### sfe_flow_collection — monthly: which distributors are late with their flow (流向回收)

On the 11th of every month at 09:00 Asia/Shanghai (the day after the default deadline,
`[thresholds] flow_on_time_day = 10`; move the schedule if you change the deadline):

1. `list_late` — `orchestration.operations.late_flow(settings, today)`: for the latest month whose
   deadline has passed, the distributors expected to send flow that sent nothing or sent it
   late, from the published snapshot. It is the list the dashboards' 数据加载 Loads page shows
   (`dashboards.queries.loads.late_distributors`, one code path). A month with no published data at all
   is said as such, not reported as "nobody late".
2. `mail_sales_ops` — `orchestration.operations.mail_late_flow`: mails that list to `[smtp]
   ops_recipients` (`SFE_SMTP_OPS_RECIPIENTS`). Without an SMTP host or those recipients the task
   succeeds and logs that mailing was skipped; the list is in the `list_late` log either way.

Reads only the published snapshot, so it needs no warehouse pool. Idempotent (a retry mails the
same list again, nothing else changes).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, task


@dag(
    dag_id="sfe_flow_collection",
    schedule=CronTriggerTimetable("0 9 11 * *", timezone="Asia/Shanghai"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfe", "flow"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
)
def sfe_flow_collection():
    @task
    def list_late(data_interval_end: datetime | None = None) -> dict:
        """Distributors late against their flow deadline for the latest month past it."""
        import datetime as dt
        from zoneinfo import ZoneInfo

        from airflow.sdk.exceptions import AirflowFailException

        from sfe.config import ConfigError, load_settings
        from orchestration.operations import late_flow

        when = data_interval_end or dt.datetime.now(dt.UTC)
        today = when.astimezone(ZoneInfo("Asia/Shanghai")).date()
        try:
            report = late_flow(load_settings(), today)
        except ConfigError as exc:  # a setting, not a transient error: no retry
            raise AirflowFailException(str(exc)) from exc
        print(report.text())
        return report.to_dict()

    @task
    def mail_sales_ops(late: dict) -> dict:
        """Mail the list to sales ops where SMTP is configured; a clear skip otherwise."""
        from sfe.config import load_settings
        from sfe.console import Console
        from orchestration.operations import LateReport, mail_late_flow

        report = LateReport(**late)
        return mail_late_flow(load_settings(), report, Console()).to_dict()

    mail_sales_ops(list_late())


sfe_flow_collection()
