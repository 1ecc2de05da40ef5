"""The weekly scorecard: one HTML page per region from `marts.scorecard_weekly` (optionally PDF),
emailed to management. Reads the published snapshot only, through `dashboards.data`.

`render_scorecard` and `send_scorecard` are what the weekly DAG calls; `scorecard_command` is the
`sfe scorecard` adapter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import smtplib
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError

TEMPLATES = Path(__file__).resolve().parent / "templates"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")

FIELDS = [  # scorecard_weekly column, Chinese label, English label
    ("sell_out_amount", "流向销售额", "Sell-out amount"),
    ("sell_out_amount_ly", "去年同期销售额", "Sell-out, same week last year"),
    ("growth", "同比增长", "Growth vs last year"),
    ("mtd_achievement_rate", "月度达成率", "Month-to-date achievement"),
    ("ytd_achievement_rate", "年度累计达成率", "Year-to-date achievement"),
    ("coverage_rate", "铺货覆盖率", "Coverage"),
    ("plan_adherence", "拜访计划执行率", "Call plan adherence"),
    ("flow_completeness_rate", "流向回收率", "Flow completeness"),
    ("distributors_over_doi_threshold", "库存天数超标经销商数", "Distributors over DOI threshold"),
    ("data_status", "数据状态", "Data status"),
]
_AMOUNTS = {"sell_out_amount", "sell_out_amount_ly"}
_RATES = {"growth", "mtd_achievement_rate", "ytd_achievement_rate", "coverage_rate",
          "plan_adherence", "flow_completeness_rate"}


class ScorecardError(RuntimeError):
    """The scorecard could not be rendered or sent; the message says what to do."""


def _isna(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fmt(key: str, value: Any) -> str:
    if value is None or _isna(value):
        return "—"
    if key in _AMOUNTS:
        return f"¥{float(value):,.0f}"
    if key in _RATES:
        return f"{float(value) * 100:+.1f}%" if key == "growth" else f"{float(value) * 100:.1f}%"
    if key == "distributors_over_doi_threshold":
        return f"{int(value)}"
    return str(value)


def _parse_week(week: dt.date | str | None) -> dt.date | None:
    if week is None or isinstance(week, dt.date):
        return week
    try:
        return dt.date.fromisoformat(str(week))
    except ValueError as exc:
        raise UsageError(f"--week {week!r} is not a date; use YYYY-MM-DD (a Monday)") from exc


def _data():
    """dashboards.data, without Streamlit's "no runtime" chatter on a command line."""
    import logging

    import streamlit.runtime.caching.cache_data_api  # noqa: F401  (creates the logger)

    for name in ("streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.caching.cache_resource_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from dashboards import data

    return data


def scorecard_context(settings: Settings, week: dt.date | str | None = None) -> dict[str, Any]:
    """Everything the template shows, for one week (default: latest complete week)."""
    data = _data()

    status = data.status(settings)
    if not status["available"]:
        raise ScorecardError(status["message"] or data.NO_DATA_MESSAGE)
    weeks = data.scorecard_weeks(settings, scoped=False)
    if not weeks:
        raise ScorecardError("the published snapshot has no scorecard weeks "
                             "(marts.scorecard_weekly is empty); run `sfe run` with flow data")
    week = _parse_week(week)
    if week is None:
        week = data.latest_complete_week(settings, scoped=False)
    elif week.weekday() != 0:
        raise UsageError(f"--week {week} is a {week:%A}; weeks start on Monday "
                         f"(try {week - dt.timedelta(days=week.weekday())})")
    elif week not in weeks:
        raise UsageError(f"week {week} is not in the published snapshot; it has "
                         f"{min(weeks)} … {max(weeks)}")
    rows = data.scorecard(week, settings, scoped=False)
    refuse = bool(status["refuse"])
    blocked = "blocked 未通过: " + (", ".join(status["blocking_failures"]) or "gate status failed")
    regions = []
    for rec in rows.to_dict("records"):
        withheld = refuse or data.is_failed(rec.get("data_status"))
        growth = rec.get("growth")
        regions.append({
            "region_id": rec["region_id"], "name": rec.get("region_name") or rec["region_id"],
            "data_status": blocked if refuse else str(rec.get("data_status") or "unknown"),
            "withheld": withheld,
            "status_class": "bad" if withheld else "ok",
            "growth_class": "" if growth is None or _isna(growth) else ("neg" if growth < 0 else "pos"),
            "vals": {key: _fmt(key, rec.get(key)) for key, _, _ in FIELDS},
        })
    if refuse:
        failed = ", ".join(status["blocking_failures"]) or "gate status failed"
        status_class, status_text = "bad", (f"未通过质量门，数字不显示 — blocking quality gate "
                                            f"failed ({failed}); numbers withheld")
    elif status.get("last_refused"):
        status_class, status_text = "warn", (
            "最近一次发布被拒绝，本报告基于上一次通过质量门的快照 — the latest publish was refused; "
            "these are the last good numbers")
    else:
        status_class, status_text = "ok", (
            f"已通过质量门 passed the quality gates (gate status: {status.get('gate_status')})")
    as_of = status.get("as_of_date") or status.get("as_of_month")
    return {
        "company": settings.company_name, "week_start": week.isoformat(),
        "week_end": (week + dt.timedelta(days=6)).isoformat(),
        "as_of": str(as_of)[:10] if as_of else "—",
        "snapshot_id": status.get("snapshot_id") or "—",
        "published_at": str(status.get("published_at") or "—")[:16],
        "status_class": status_class, "status_text": status_text, "refuse": refuse,
        "regions": regions, "fields": FIELDS,
        "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def render_html(context: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("scorecard.html.j2").render(**context)


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if candidate.startswith("/") else shutil.which(candidate)
        if path and Path(path).exists():
            return path
    return None


def html_to_pdf(html: Path, pdf: Path, timeout: float = 90) -> str | None:
    """Print the HTML with headless Chromium; returns None on success, else why not."""
    chromium = find_chromium()
    if chromium is None:
        return "PDF unavailable: no Chromium found (install `chromium` for PDF output)"
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"PDF unavailable: Chromium failed ({exc})"
    if not pdf.exists() or pdf.stat().st_size == 0:
        return "PDF unavailable: Chromium did not write the file"
    return None


def render_scorecard(settings: Settings, week: dt.date | str | None = None,
                     out: Path | None = None, pdf: bool = True) -> Path:
    """Render the scorecard HTML (and a PDF next to it when Chromium is there); returns the HTML
    path. Idempotent: the same week and snapshot give the same file."""
    context = scorecard_context(settings, week)
    if out is None:
        out = Path(settings.reports_dir) / f"scorecard-{context['week_start']}.html"
    out = Path(out)
    if out.suffix.lower() == ".pdf":
        out = out.with_suffix(".html")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(context), encoding="utf-8")
    tmp.replace(out)
    if pdf:
        html_to_pdf(out, out.with_suffix(".pdf"))
    return out


def send_scorecard(settings: Settings, path: Path, week: str | None = None) -> list[str]:
    """Email the scorecard (HTML body, HTML and PDF attached) to settings.smtp.recipients."""
    smtp = settings.smtp
    if not smtp.host:
        raise UsageError("cannot send: no SMTP host configured; set [smtp] host (and recipients) "
                         "in sfe.toml or SFE_SMTP_HOST / SFE_SMTP_RECIPIENTS")
    if not smtp.recipients:
        raise UsageError("cannot send: no recipients configured; set [smtp] recipients in "
                         "sfe.toml or SFE_SMTP_RECIPIENTS (comma-separated)")
    path = Path(path)
    if not path.is_file():
        raise ScorecardError(f"no scorecard at {path}; render it first (sfe scorecard)")
    week = week or path.stem.replace("scorecard-", "")
    msg = EmailMessage()
    msg["Subject"] = f"{settings.company_name} 经营周报 Weekly scorecard {week}"
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    html = path.read_text(encoding="utf-8")
    msg.set_content("经营周报 Weekly scorecard attached (HTML, and PDF when available).")
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(html.encode("utf-8"), maintype="text", subtype="html", filename=path.name)
    pdf = path.with_suffix(".pdf")
    if pdf.is_file():
        msg.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf",
                           filename=pdf.name)
    try:
        if smtp.port == 465:
            with smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=30,
                                  context=ssl.create_default_context()) as server:
                _login_and_send(server, smtp, msg)
        else:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as server:
                if smtp.use_tls:
                    server.starttls(context=ssl.create_default_context())
                _login_and_send(server, smtp, msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise ScorecardError(f"sending via {smtp.host}:{smtp.port} failed: {exc}; check the "
                             "[smtp] settings and that the server is reachable") from exc
    return list(smtp.recipients)


def _login_and_send(server: smtplib.SMTP, smtp: Any, msg: EmailMessage) -> None:
    if smtp.user:
        server.login(smtp.user, smtp.password)
    server.send_message(msg)


@dataclass
class ScorecardReport:
    week: str | None = None
    html: str | None = None
    pdf: str | None = None
    pdf_note: str | None = None
    data_status: str | None = None
    sent_to: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "html": self.html, "pdf": self.pdf, "pdf_note": self.pdf_note,
                "data_status": self.data_status, "sent_to": self.sent_to, "error": self.error,
                "exit_code": self.exit_code}

    def summary(self) -> str:
        if self.error:
            return f"scorecard: {self.error}"
        lines = [f"scorecard for the week of {self.week}: {self.html}",
                 f"  PDF: {self.pdf}" if self.pdf else f"  {self.pdf_note}",
                 f"  data status: {self.data_status}"]
        if self.sent_to:
            lines.append(f"  emailed to {', '.join(self.sent_to)}")
        return "\n".join(lines)


def scorecard_command(settings: Settings, args: argparse.Namespace,
                      console: Console) -> ScorecardReport:
    """`sfe scorecard [--week YYYY-MM-DD] [--out FILE] [--send]`."""
    send = bool(getattr(args, "send", False))
    if send and not settings.smtp.host:  # say so before any work
        raise UsageError("--send needs an SMTP host: set [smtp] host and recipients in sfe.toml "
                         "or SFE_SMTP_HOST / SFE_SMTP_RECIPIENTS")
    report = ScorecardReport()
    console.step("rendering the weekly scorecard from the published snapshot")
    try:
        context = scorecard_context(settings, getattr(args, "week", None))
        html = render_scorecard(settings, context["week_start"], getattr(args, "out", None),
                                pdf=False)
    except ScorecardError as exc:
        report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
        return report
    report.week, report.html = context["week_start"], str(html)
    report.data_status = "withheld: blocking gate failed" if context["refuse"] else (
        "passed" if context["status_class"] == "ok" else "last good snapshot (latest refused)")
    console.step("printing PDF")
    note = html_to_pdf(html, html.with_suffix(".pdf"))
    if note is None:
        report.pdf = str(html.with_suffix(".pdf"))
    else:
        report.pdf_note = note
        console.warn(note)
    if send:
        console.step(f"emailing via {settings.smtp.host}")
        try:
            report.sent_to = send_scorecard(settings, html, context["week_start"])
        except ScorecardError as exc:
            report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
    if context["refuse"] and report.exit_code == EXIT_OK:
        report.exit_code = EXIT_NEEDS_ATTENTION
    return report
