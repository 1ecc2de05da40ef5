"""
### sfe_weekly_scorecard — render and email the weekly scorecard, Monday 07:00 Asia/Shanghai

1. `render` — `dashboards.scorecard.render_scorecard(settings, week)`: HTML (one page per region,
   Chinese and English labels, data status shown prominently) plus a PDF when Chromium is
   installed, from the **published** snapshot only. `week` defaults to the latest complete week;
   trigger with `{"week": "YYYY-MM-DD"}` to re-render another Monday.
2. `send` — `dashboards.scorecard_delivery.deliver_scorecard(settings, path)`: emails it with the `[smtp]`
   settings, one message per recipient, each delivery logged in
   `<data_dir>/reports/scorecard-sent.jsonl` as it happens. A recipient who already got this
   week's scorecard from the same snapshot is skipped, so a retry (or clearing the task) resumes
   where a failure stopped and never mails anyone twice. With no SMTP host configured the task
   succeeds and logs that mailing was skipped (the rendered scorecard stays in
   `<data_dir>/reports/`); a host without recipients fails without retrying (a setting to fix).

Rendering is idempotent (same week and snapshot → same numbers). Same as
`sfe scorecard [--week W] --send`; to mail a week again on purpose (e.g. a recipient lost it), run
`sfe scorecard --week W --resend` by hand — the DAG never resends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task


@dag(
    dag_id="sfe_weekly_scorecard",
    schedule=CronTriggerTimetable("0 7 * * 1", timezone="Asia/Shanghai"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfe", "scorecard"],
    params={"week": Param(None, type=["null", "string"],
                          description="week start (a Monday, YYYY-MM-DD); empty = latest complete")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
)
def sfe_weekly_scorecard():
    @task
    def render(params: dict | None = None) -> str:
        """Render the scorecard HTML (+ PDF) from the published snapshot."""
        from dashboards.scorecard import render_scorecard
        from sfe.config import load_settings

        week = (params or {}).get("week") or None
        return str(render_scorecard(load_settings(), week))

    @task
    def send(path: str) -> dict:
        """Email the rendered scorecard to the configured recipients who have not had it yet."""
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowFailException

        from dashboards.scorecard_delivery import deliver_scorecard
        from sfe.config import ConfigError, load_settings
        from orchestration.operations import scorecard_send_skip_reason
        from sfe.report import UsageError

        try:
            settings = load_settings()
            skip = scorecard_send_skip_reason(settings)
            if skip:  # not an error: a set-up without mail still renders and keeps the scorecard
                print(f"send skipped: {skip}; scorecard at {path}")
                return {"skipped": skip, "path": path}
            return deliver_scorecard(settings, Path(path)).to_dict()
        except (ConfigError, UsageError) as exc:  # a setting, not a transient error: no retry
            raise AirflowFailException(str(exc)) from exc

    send(render())


sfe_weekly_scorecard()
