"""What the scheduled DAGs do besides the stages: notice new inbox files, list distributors late
with their flow and mail that list, mail the scorecard only where SMTP is configured.

DAG tasks call these functions; the DAG files hold no logic. Everything here is idempotent.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import smtplib
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ingestion.discover import discover
from sfe.config import Settings
from sfe.console import Console

# a file modified less than this long ago may still be being copied into the inbox
SETTLE_SECONDS = 60


# -- new files in the inbox ------------------------------------------------------------------

def listing_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / "state" / "inbox-seen.json"


def inbox_listing(settings: Settings) -> dict[str, list[int]]:
    """Every inbox file ingestion would read, as {relative path: [size, mtime_ns]}."""
    inbox = Path(settings.inbox)
    if not inbox.is_dir():
        return {}
    listing = {}
    for item in discover(inbox):
        stat = item.path.stat()
        listing[item.rel] = [stat.st_size, stat.st_mtime_ns]
    return listing


def remembered_listing(settings: Settings) -> dict[str, list[int]]:
    path = listing_file(settings)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:  # a torn write: treat everything as new (ingest skips known)
        return {}


def remember_listing(settings: Settings, listing: dict[str, list[int]]) -> None:
    """Written after an ingest that read these files, atomically."""
    path = listing_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(listing, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def new_arrivals(settings: Settings, now: float | None = None,
                 settle_seconds: int = SETTLE_SECONDS) -> list[str]:
    """Inbox files new or changed since the last ingest and not touched for `settle_seconds`
    (so a file still being uploaded is not loaded half-written). Reads no database: the
    sensor must not wait for the warehouse lock."""
    now = time.time() if now is None else now
    seen = remembered_listing(settings)
    settled = []
    for rel, (size, mtime_ns) in inbox_listing(settings).items():
        if seen.get(rel) == [size, mtime_ns]:
            continue
        if now - mtime_ns / 1e9 >= settle_seconds:
            settled.append(rel)
    return sorted(settled)


# -- distributors late with their flow --------------------------------------------------------

def month_past_deadline(today: dt.date, deadline_day: int) -> str:
    """The latest month whose flow deadline (day `deadline_day` of the next month) has passed."""
    first = today.replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    if today.day > deadline_day:
        return f"{previous:%Y-%m}"
    return f"{(previous - dt.timedelta(days=1)).replace(day=1):%Y-%m}"


@dataclass
class LateReport:
    month: str
    deadline: str
    late: list[dict[str, Any]] = field(default_factory=list)
    month_published: bool = True
    mailed_to: list[str] = field(default_factory=list)
    skipped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"month": self.month, "deadline": self.deadline, "late": self.late,
                "month_published": self.month_published, "mailed_to": self.mailed_to,
                "skipped": self.skipped}

    def text(self) -> str:
        head = f"流向回收 Flow collection {self.month} (deadline {self.deadline})"
        if not self.month_published:
            return (f"{head}\nThe published snapshot has no data for {self.month} yet: no "
                    "distributor's flow for that month has been published. Check the inbox and "
                    "the 数据加载 Loads page.")
        if not self.late:
            return f"{head}\nEvery expected distributor sent its flow on time."
        lines = [head, f"{len(self.late)} distributor(s) late or missing:"]
        lines += [f"  {r['distributor_code']}  {r['problem']}"
                  + (f"  first received {r['first_received_at']}" if r.get("first_received_at")
                     else "") for r in self.late]
        return "\n".join(lines)


def late_flow(settings: Settings, today: dt.date) -> LateReport:
    """The Loads page's late-distributor list (dashboards.queries.loads.late_distributors, one
    code path) for the latest month past its deadline, from the published snapshot."""
    from dashboards.queries import loads  # imported here: it loads streamlit, which the sensor must not pay for

    deadline_day = settings.thresholds.flow_on_time_day
    month = month_past_deadline(today, deadline_day)
    year, mon = (int(x) for x in month.split("-"))
    due_year, due_month = year + mon // 12, mon % 12 + 1
    # a deadline day the month does not have (31 in a 30-day month) is its last day
    last_day = calendar.monthrange(due_year, due_month)[1]
    deadline = dt.date(due_year, due_month, min(deadline_day, last_day))
    report = LateReport(month, deadline.isoformat())
    if loads.flow_completeness(month, settings).empty:
        report.month_published = False
        return report
    late = loads.late_distributors(month, settings)
    for row in late.to_dict("records"):
        received = row.get("first_received_at")
        report.late.append({"distributor_code": row["distributor_code"],
                            "problem": row["problem"],
                            "first_received_at": None if received is None or str(received) in
                            ("NaT", "nan", "None") else str(received)})
    return report


# -- mail -------------------------------------------------------------------------------------

def send_text(settings: Settings, recipients: tuple[str, ...], subject: str, body: str) -> None:
    """One plain-text message per recipient via the [smtp] settings."""
    smtp = settings.smtp
    server_cls = smtplib.SMTP_SSL if smtp.port == 465 else smtplib.SMTP
    with server_cls(smtp.host, smtp.port, timeout=30) as server:
        if smtp.port != 465 and smtp.use_tls:
            server.starttls()
        if smtp.user:
            server.login(smtp.user, smtp.password)
        for recipient in recipients:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = smtp.sender, recipient, subject
            msg.set_content(body)
            server.send_message(msg)


def mail_late_flow(settings: Settings, report: LateReport, console: Console) -> LateReport:
    """Mail the list to sales ops; without an SMTP host or recipients say so and skip."""
    smtp = settings.smtp
    recipients = smtp.ops_recipients or ()
    if not smtp.host:
        report.skipped = ("no SMTP host configured ([smtp] host / SFE_SMTP_HOST): the list was "
                          "not mailed")
    elif not recipients:
        report.skipped = ("no sales-ops recipients configured ([smtp] ops_recipients / "
                          "SFE_SMTP_OPS_RECIPIENTS): the list was not mailed")
    if report.skipped:
        console.warn(report.skipped)
        return report
    subject = (f"[SFE] 流向迟交 Late flow {report.month}: {len(report.late)} distributor(s)"
               if report.month_published else f"[SFE] 流向 {report.month}: nothing published")
    send_text(settings, recipients, subject, report.text())
    report.mailed_to = list(recipients)
    return report


def scorecard_send_skip_reason(settings: Settings) -> str | None:
    """Why the weekly scorecard is not mailed (no SMTP host), or None when it should be."""
    if settings.smtp.host:
        return None
    return ("no SMTP host configured ([smtp] host in sfe.toml or SFE_SMTP_HOST): the scorecard "
            "was rendered and kept, not mailed")
