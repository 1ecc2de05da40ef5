"""Emailing the rendered scorecard: one message per recipient over SMTP, and the send log that
makes a retry or a second `--send` mail nobody twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
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

from dashboards.scorecard_context import ScorecardError
from sfe.config import Settings
from sfe.report import UsageError

_log = logging.getLogger(__name__)

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
