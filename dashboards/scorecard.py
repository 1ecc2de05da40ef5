"""The weekly scorecard: one HTML page per region from `marts.scorecard_weekly` (optionally PDF),
emailed to management. Reads the published snapshot only, through `dashboards.data`.

`render_scorecard` and `deliver_scorecard` are what the weekly DAG calls (`send_scorecard` is the
same send, returning only who was emailed); `scorecard_command` is the `sfe scorecard` adapter.
Sends are logged per recipient in `<reports_dir>/scorecard-sent.jsonl`, and nobody gets the same
week from the same snapshot twice unless asked (`--resend`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from html import unescape
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; the send log still prevents repeats
    fcntl = None

from dashboards.scorecard_pdf import write_pdf
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError

_log = logging.getLogger(__name__)
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
    """A Chromium for the browser test; the PDF does not need one (scorecard_pdf)."""
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if candidate.startswith("/") else shutil.which(candidate)
        if path and Path(path).exists():
            return path
    return None


def render_scorecard(settings: Settings, week: dt.date | str | None = None,
                     out: Path | None = None, pdf: bool = True) -> Path:
    """Render the scorecard HTML (and the PDF next to it, see scorecard_pdf); returns the HTML
    path. Idempotent: the same week and snapshot give the same numbers (only the generation time
    in the footer differs), and the template stamps both into the HTML head."""
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
    if pdf and (note := write_pdf(context, out.with_suffix(".pdf"))):
        _log.warning("scorecard %s: %s", context["week_start"], note)
    return out


# -- sending, at most once per recipient ----------------------------------------------------------
# The send log is what makes `send` safe to retry (the DAG task has retries: 2) and `--send` safe to
# run twice: one JSON line per delivery that the SMTP server accepted, appended and fsynced right
# after that recipient's message went out. A recipient whose line says "this week, this content" is
# skipped. What "this content" means: the published snapshot the HTML was rendered from (the
# template stamps it into the <head>, because the footer's generation time makes every render's
# bytes differ); for an HTML file without the stamp, its sha256.

SEND_LOG = "scorecard-sent.jsonl"
_STAMP = re.compile(r'<meta name="sfe-(week-start|snapshot-id)" content="([^"]*)">')


@dataclass
class Delivery:
    """What one `deliver_scorecard` call did: `sent` got the mail now; `skipped` already had it."""
    week: str
    snapshot_id: str | None
    sha256: str
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "snapshot_id": self.snapshot_id, "sha256": self.sha256,
                "sent": self.sent, "skipped": self.skipped}


class SendFailed(ScorecardError):
    """Sending stopped part-way; `delivery` says who got the mail (logged) before it stopped."""

    def __init__(self, message: str, delivery: Delivery):
        super().__init__(message)
        self.delivery = delivery


def send_log_path(settings: Settings) -> Path:
    return Path(settings.reports_dir) / SEND_LOG


def _read_stamp(html: str) -> dict[str, str]:
    return {key: unescape(value) for key, value in _STAMP.findall(html[:4096])}


def _key(recipient: str) -> str:
    return recipient.strip().lower()


def _read_log(log: Path) -> list[dict[str, Any]]:
    if not log.is_file():
        return []
    entries = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line torn by a crash while writing: that delivery is not proven
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def already_sent(settings: Settings, week: str, snapshot_id: str | None, sha256: str) -> set[str]:
    """Recipients (lower-cased) the log says got `week`'s scorecard from this snapshot/content."""
    def same(entry: dict[str, Any]) -> bool:
        if snapshot_id:
            return entry.get("snapshot_id") == snapshot_id
        return not entry.get("snapshot_id") and entry.get("sha256") == sha256

    return {_key(str(e.get("recipient", ""))) for e in _read_log(send_log_path(settings))
            if e.get("week_start") == week and same(e)}


def _append(log: Path, entry: dict[str, Any]) -> None:
    with log.open("a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():  # never glue a line onto a torn one
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def _send_lock(log: Path) -> Iterator[None]:
    """One sender at a time per reports dir (a DAG retry and a hand-run `--send` must not race)."""
    lock = log.with_name(log.name + ".lock")
    with lock.open("a") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _message(settings: Settings, week: str, recipient: str, html: str, path: Path,
             pdf: bytes | None) -> EmailMessage:
    smtp = settings.smtp
    msg = EmailMessage()
    msg["Subject"] = f"{settings.company_name} 经营周报 Weekly scorecard {week}"
    msg["From"] = smtp.sender
    msg["To"] = recipient
    domain = smtp.sender.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid("scorecard", domain=domain)
    msg.set_content("经营周报 Weekly scorecard attached (HTML, and PDF when available).")
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(html.encode("utf-8"), maintype="text", subtype="html", filename=path.name)
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=path.with_suffix(".pdf").name)
    return msg


@contextmanager
def _connect(smtp: Any) -> Iterator[smtplib.SMTP]:
    if smtp.port == 465:
        with smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=30,
                              context=ssl.create_default_context()) as server:
            if smtp.user:
                server.login(smtp.user, smtp.password)
            yield server
    else:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as server:
            if smtp.use_tls:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, smtp.password)
            yield server


def deliver_scorecard(settings: Settings, path: Path, week: str | None = None,
                      resend: bool = False) -> Delivery:
    """Email the scorecard (HTML body, HTML and PDF attached) to each of settings.smtp.recipients
    that has not already received this week's scorecard from the same snapshot (all of them when
    `resend`). Every delivery is logged in `<reports_dir>/scorecard-sent.jsonl` as it happens.
    Raises SendFailed (a ScorecardError) when some recipients could not be sent; running again
    sends only to those."""
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
    html = path.read_text(encoding="utf-8")
    stamp = _read_stamp(html)
    week = week or stamp.get("week-start") or path.stem.replace("scorecard-", "")
    pdf_path = path.with_suffix(".pdf")
    pdf = pdf_path.read_bytes() if pdf_path.is_file() else None
    delivery = Delivery(week=week, snapshot_id=stamp.get("snapshot-id"),
                        sha256=hashlib.sha256(html.encode("utf-8")).hexdigest())
    log = send_log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    with _send_lock(log):
        done = set() if resend else already_sent(settings, week, delivery.snapshot_id,
                                                 delivery.sha256)
        todo = []
        for recipient in smtp.recipients:
            if _key(recipient) in done:
                delivery.skipped.append(recipient)
            elif _key(recipient) not in {_key(r) for r in todo}:
                todo.append(recipient)
        if todo:
            _send_each(settings, todo, delivery, html, path, pdf, log, resend)
    if delivery.skipped:
        _log.info("scorecard %s: already sent to %s (snapshot %s); not sent again",
                  week, ", ".join(delivery.skipped), delivery.snapshot_id or delivery.sha256[:12])
    return delivery


def _send_each(settings: Settings, todo: list[str], delivery: Delivery, html: str, path: Path,
               pdf: bytes | None, log: Path, resend: bool) -> None:
    # One message per recipient, logged as soon as the server accepts it. With one message to
    # everyone, a failure part-way leaves no record of who got it, so a retry must either email
    # everyone again or risk missing someone; per recipient, a retry resumes exactly where it
    # stopped. (A crash between the server's "250 OK" and the log line can still repeat that
    # one recipient; nothing on our side can close that gap.)
    smtp = settings.smtp
    refused: dict[str, str] = {}
    try:
        with _connect(smtp) as server:
            for recipient in todo:
                msg = _message(settings, delivery.week, recipient, html, path, pdf)
                try:
                    server.send_message(msg)
                except smtplib.SMTPRecipientsRefused as exc:  # this address only: go on
                    refused[recipient] = "; ".join(f"{code} {text!r}" for code, text in
                                                   exc.recipients.values()) or str(exc)
                    continue
                _append(log, {
                    "week_start": delivery.week, "recipient": recipient,
                    "snapshot_id": delivery.snapshot_id, "sha256": delivery.sha256,
                    "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "message_id": msg["Message-ID"], "resend": resend,
                })
                delivery.sent.append(recipient)
    except (OSError, smtplib.SMTPException) as exc:
        left = [r for r in todo if r not in delivery.sent and r not in refused]
        raise SendFailed(
            f"sending via {smtp.host}:{smtp.port} failed: {exc}; "
            f"sent to {', '.join(delivery.sent) or 'nobody'}, not sent to {', '.join(left)}; "
            "check the [smtp] settings and that the server is reachable, then run again "
            "(recipients who already got it are skipped)", delivery) from exc
    if refused:
        raise SendFailed(
            "the SMTP server refused " + "; ".join(f"{r} ({why})" for r, why in refused.items())
            + f"; sent to {', '.join(delivery.sent) or 'nobody'}. Fix the address in [smtp] "
            "recipients, then run again (recipients who already got it are skipped)", delivery)


def send_scorecard(settings: Settings, path: Path, week: str | None = None,
                   resend: bool = False) -> list[str]:
    """Email the scorecard to the configured recipients who have not had it yet (see
    deliver_scorecard); returns the recipients emailed by this call."""
    return deliver_scorecard(settings, path, week, resend).sent


@dataclass
class ScorecardReport:
    week: str | None = None
    html: str | None = None
    pdf: str | None = None
    pdf_note: str | None = None
    data_status: str | None = None
    sent_to: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # had this week's scorecard already
    error: str | None = None
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "html": self.html, "pdf": self.pdf, "pdf_note": self.pdf_note,
                "data_status": self.data_status, "sent_to": self.sent_to,
                "skipped": self.skipped, "error": self.error, "exit_code": self.exit_code}

    def summary(self) -> str:
        lines = [f"scorecard: {self.error}"] if self.error else [
            f"scorecard for the week of {self.week}: {self.html}",
            f"  PDF: {self.pdf}" if self.pdf else f"  {self.pdf_note}",
            f"  data status: {self.data_status}"]
        if self.sent_to:
            lines.append(f"  emailed to {', '.join(self.sent_to)}")
        if self.skipped:
            lines.append(f"  not emailed again (already sent this week's scorecard from this "
                         f"snapshot): {', '.join(self.skipped)}; use --resend to send anyway")
        return "\n".join(lines)


def scorecard_command(settings: Settings, args: argparse.Namespace,
                      console: Console) -> ScorecardReport:
    """`sfe scorecard [--week YYYY-MM-DD] [--out FILE] [--send] [--resend]`."""
    resend = bool(getattr(args, "resend", False))
    send = bool(getattr(args, "send", False)) or resend
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
    note = write_pdf(context, html.with_suffix(".pdf"))
    if note is None:
        report.pdf = str(html.with_suffix(".pdf"))
    else:
        report.pdf_note = note
        console.warn(note)
    if send:
        console.step(f"emailing via {settings.smtp.host}")
        try:
            delivery = deliver_scorecard(settings, html, context["week_start"], resend=resend)
        except SendFailed as exc:
            delivery = exc.delivery
            report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
        except ScorecardError as exc:
            delivery = None
            report.error, report.exit_code = str(exc), EXIT_NEEDS_ATTENTION
        if delivery is not None:
            report.sent_to, report.skipped = delivery.sent, delivery.skipped
    if context["refuse"] and report.exit_code == EXIT_OK:
        report.exit_code = EXIT_NEEDS_ATTENTION
    return report
