"""orchestration.operations: new-file detection for the ingest sensor, the late-flow list and its mail."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
from dataclasses import replace
from pathlib import Path

import pytest

from sfe.config import SmtpSettings
from sfe.console import Console
from orchestration.operations import (LateReport, late_flow, mail_late_flow, month_past_deadline,
                            new_arrivals, remember_listing, inbox_listing)

NOW = 1_800_000_000.0  # a fixed clock: file ages are set relative to it


def _file(inbox: Path, rel: str, text: str, age: float) -> Path:
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_new_arrivals_lists_settled_unseen_files_only(settings):
    inbox = settings.inbox
    _file(inbox, "flow/D001/2026-10.csv", "a", age=600)
    _file(inbox, "flow/D002/2026-10.csv", "b", age=5)  # still being uploaded
    _file(inbox, "_truth/customers.csv", "t", age=600)  # not part of the inbox
    _file(inbox, "flow/D001/.2026-10.csv.part", "p", age=600)  # hidden
    assert new_arrivals(settings, now=NOW) == ["flow/D001/2026-10.csv"]


def test_new_arrivals_forgets_files_the_last_ingest_saw_until_they_change(settings):
    inbox = settings.inbox
    seen = _file(inbox, "flow/D001/2026-10.csv", "a", age=600)
    remember_listing(settings, inbox_listing(settings))
    assert new_arrivals(settings, now=NOW) == []
    _file(inbox, "flow/D001/2026-10.csv", "a re-sent with more rows", age=300)  # re-send
    assert new_arrivals(settings, now=NOW) == ["flow/D001/2026-10.csv"]
    assert seen.exists()


def test_new_arrivals_of_a_missing_inbox_is_empty(settings):
    assert new_arrivals(settings, now=NOW) == []


@pytest.mark.parametrize(("today", "deadline", "month"), [
    (dt.date(2026, 11, 11), 10, "2026-10"),  # the day after October's deadline
    (dt.date(2026, 11, 10), 10, "2026-09"),  # deadline day itself: October not yet late
    (dt.date(2026, 1, 20), 15, "2025-12"),  # across the year
    (dt.date(2026, 1, 5), 10, "2025-11"),
])
def test_month_past_deadline(today, deadline, month):
    assert month_past_deadline(today, deadline) == month


def test_late_flow_deadline_falls_in_the_next_month_clamped_to_its_length(settings):
    from dataclasses import replace as dc_replace

    from tests.dashboards.snapshot_fixture import build_snapshot

    build_snapshot(settings.published_db)
    late31 = dc_replace(settings, thresholds=dc_replace(settings.thresholds, flow_on_time_day=31))
    report = late_flow(late31, dt.date(2026, 12, 5))  # November due 31 Dec: not yet; October: 30 Nov
    assert (report.month, report.deadline) == ("2026-10", "2026-11-30")
    assert [r["distributor_code"] for r in report.late] == ["D002", "D003"]
    december = late_flow(settings, dt.date(2027, 1, 11))
    assert (december.month, december.deadline) == ("2026-12", "2027-01-10")


def test_late_flow_says_when_the_month_has_no_published_data(settings):
    from tests.dashboards.snapshot_fixture import build_snapshot

    build_snapshot(settings.published_db)
    report = late_flow(settings, dt.date(2027, 3, 11))  # 2027-02: not in the snapshot
    assert report.month == "2027-02" and not report.month_published and report.late == []
    assert "no data for 2027-02" in report.text()


class _FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def send_message(self, msg):
        _FakeSMTP.sent.append((msg["To"], msg["Subject"], msg.get_content()))


def test_mail_late_flow_mails_each_sales_ops_recipient(settings, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
    _FakeSMTP.sent = []
    smtp = SmtpSettings(host="smtp.example.com", recipients=("exec@example.com",),
                        ops_recipients=("ops1@example.com", "ops2@example.com"))
    report = LateReport("2026-10", "2026-11-10",
                        [{"distributor_code": "D003", "problem": "missing 未收到",
                          "first_received_at": None}])
    out = mail_late_flow(replace(settings, smtp=smtp), report, Console(quiet=True))
    assert out.mailed_to == ["ops1@example.com", "ops2@example.com"]
    assert [m[0] for m in _FakeSMTP.sent] == ["ops1@example.com", "ops2@example.com"]
    assert "1 distributor(s)" in _FakeSMTP.sent[0][1] and "D003" in _FakeSMTP.sent[0][2]


def test_mail_late_flow_skips_clearly_without_ops_recipients(settings, monkeypatch, capsys):
    monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
    _FakeSMTP.sent = []
    smtp = SmtpSettings(host="smtp.example.com", recipients=("exec@example.com",))
    out = mail_late_flow(replace(settings, smtp=smtp), LateReport("2026-10", "2026-11-10"),
                         Console())
    assert _FakeSMTP.sent == [] and "ops_recipients" in out.skipped
    assert "warning: no sales-ops recipients" in capsys.readouterr().err
