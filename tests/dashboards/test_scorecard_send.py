"""Sending the weekly scorecard at most once per recipient, week and snapshot: the send log,
retries after a partial SMTP failure, a new snapshot, and `--resend`."""

from __future__ import annotations

import argparse
import json
import shutil
import smtplib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from dashboards import scorecard as sc
from dashboards import scorecard_delivery as delivery
from dashboards import scorecard_pdf
from sfe.config import SmtpSettings
from sfe.console import Console
from tests.dashboards.snapshot_fixture import build_snapshot

A, B, C = "ceo@example.com", "cfo@example.com", "vp.sales@example.com"


class FakeServer:
    """An SMTP server that delivers each message to every address in its To header, in order.

    `drop_at` makes the connection die when a message reaches that address (once), after the
    addresses before it in the same message were delivered. `refuse` rejects an address for good.
    """

    def __init__(self, drop_at: str | None = None, refuse: str | None = None):
        self.mailbox: Counter[str] = Counter()
        self.message_ids: dict[str, list[str]] = {}
        self.drop_at, self.refuse = drop_at, refuse
        server = self

        class FakeSMTP:
            def __init__(self, host, port, timeout=None):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def starttls(self, context=None):
                pass

            def login(self, user, password):
                pass

            def send_message(self, msg):
                to = [a.strip() for a in msg["To"].split(",")]
                if to == [server.refuse]:
                    raise smtplib.SMTPRecipientsRefused({server.refuse: (550, b"no such user")})
                for address in to:
                    if address == server.drop_at:
                        server.drop_at = None
                        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                    server.mailbox[address] += 1
                    server.message_ids.setdefault(address, []).append(msg["Message-ID"])

        self.smtp_class = FakeSMTP


@pytest.fixture
def no_pdf(monkeypatch):
    monkeypatch.setattr(scorecard_pdf, "find_cjk_font", lambda: None)


@pytest.fixture
def snap(settings, no_pdf):
    build_snapshot(settings.published_db)
    return replace(settings, smtp=SmtpSettings(host="smtp.example.com", recipients=(A, B, C)))


@pytest.fixture
def server(monkeypatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(delivery.smtplib, "SMTP", fake.smtp_class)
    return fake


def _send(settings, **args) -> sc.ScorecardReport:
    ns = argparse.Namespace(week=None, out=None, send=True, resend=False)
    for key, value in args.items():
        setattr(ns, key, value)
    return sc.scorecard_command(settings, ns, Console(quiet=True))


def _log(settings) -> list[dict]:
    path = settings.reports_dir / "scorecard-sent.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _republish(settings, snapshot_id: str) -> None:
    """A new publish with the same weeks: a new snapshot file with a newer publish_info row."""
    published = Path(settings.published_db)
    new = published.with_name("next.duckdb")
    shutil.copyfile(published, new)
    con = duckdb.connect(str(new))
    try:
        con.execute("insert into audit.publish_info (snapshot_id, published_at, run_id, "
                    "gate_status, as_of_month) values "
                    "(?, '2026-11-09 08:00', 'run-3', 'passed', '2026-10')", [snapshot_id])
    finally:
        con.close()
    new.replace(published)


def test_sending_the_same_week_twice_emails_each_recipient_once(snap, server):
    first = _send(snap)
    second = _send(snap)  # renders again: a new generation time in the footer, same snapshot

    assert first.exit_code == 0 and first.sent_to == [A, B, C] and first.skipped == []
    assert second.exit_code == 0 and second.sent_to == [] and second.skipped == [A, B, C]
    assert server.mailbox == {A: 1, B: 1, C: 1}
    assert "--resend" in second.summary() and second.to_dict()["skipped"] == [A, B, C]
    log = _log(snap)
    assert [(e["week_start"], e["recipient"], e["snapshot_id"]) for e in log] == [
        ("2026-10-19", A, "snap-20261102"), ("2026-10-19", B, "snap-20261102"),
        ("2026-10-19", C, "snap-20261102")]
    assert [e["message_id"] for e in log] == [server.message_ids[r][0] for r in (A, B, C)]
    assert all(e["sent_at"].endswith("+00:00") and len(e["sha256"]) == 64 for e in log)


def test_a_retry_after_smtp_fails_on_the_second_of_three_recipients_mails_each_once(snap, server):
    server.drop_at = B
    html = sc.render_scorecard(snap)  # the DAG renders once and retries only `send`

    with pytest.raises(sc.ScorecardError) as failed:
        delivery.send_scorecard(snap, html)
    assert server.mailbox == {A: 1}
    logged_before_retry = [e["recipient"] for e in _log(snap)]
    retried = delivery.send_scorecard(snap, html)  # what the task's retry runs

    assert server.mailbox == {A: 1, B: 1, C: 1}
    assert retried == [B, C]
    assert f"sent to {A}, not sent to {B}, {C}" in str(failed.value)
    assert failed.value.delivery.sent == [A] and logged_before_retry == [A]
    assert [e["recipient"] for e in _log(snap)] == [A, B, C]
    assert delivery.send_scorecard(snap, html) == []  # a third attempt sends nothing


def test_the_cli_reports_who_got_it_when_sending_stops_part_way(snap, server):
    server.drop_at = C
    report = _send(snap)
    assert report.exit_code == 1 and report.sent_to == [A, B] and "not sent to " + C in report.error
    retry = _send(snap)
    assert retry.exit_code == 0 and retry.sent_to == [C] and retry.skipped == [A, B]
    assert server.mailbox == {A: 1, B: 1, C: 1}


def test_a_refused_address_does_not_stop_the_others(snap, server):
    server.refuse = B
    html = sc.render_scorecard(snap)
    with pytest.raises(sc.ScorecardError, match=f"refused {B}.*550"):
        delivery.send_scorecard(snap, html)
    assert server.mailbox == {A: 1, C: 1}
    fixed = replace(snap, smtp=replace(snap.smtp, recipients=(A, "cfo@example.cn", C)))
    assert delivery.send_scorecard(fixed, html) == ["cfo@example.cn"]
    assert server.mailbox == {A: 1, C: 1, "cfo@example.cn": 1}


def test_a_new_snapshot_for_the_same_week_is_sent_again(snap, server):
    assert _send(snap).sent_to == [A, B, C]
    _republish(snap, "snap-20261109")

    again = _send(snap)
    assert again.sent_to == [A, B, C] and again.skipped == []
    assert server.mailbox == {A: 2, B: 2, C: 2}
    assert [e["snapshot_id"] for e in _log(snap)] == ["snap-20261102"] * 3 + ["snap-20261109"] * 3
    assert _send(snap).sent_to == []  # and that snapshot only once


def test_another_week_is_its_own_send(snap, server):
    assert _send(snap).sent_to == [A, B, C]
    assert _send(snap, week="2026-10-12").sent_to == [A, B, C]
    assert server.mailbox == {A: 2, B: 2, C: 2}


def test_a_file_without_a_snapshot_stamp_is_keyed_on_its_content(snap, server, tmp_path):
    html = tmp_path / "scorecard-2026-10-19.html"
    html.write_text("<html><body>v1</body></html>", encoding="utf-8")
    assert delivery.send_scorecard(snap, html) == [A, B, C]
    assert delivery.send_scorecard(snap, html) == []
    html.write_text("<html><body>v2</body></html>", encoding="utf-8")
    assert delivery.send_scorecard(snap, html) == [A, B, C]
    assert server.mailbox == {A: 2, B: 2, C: 2}
    assert {e["snapshot_id"] for e in _log(snap)} == {None}


def test_resend_flag_emails_everyone_again(snap, server, monkeypatch, capsys):
    from orchestration.cli import main

    monkeypatch.delenv("SFE_CONFIG", raising=False)
    monkeypatch.setenv("SFE_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SFE_SMTP_RECIPIENTS", f"{A},{B}")
    cli = ["scorecard", "--json", "--data-dir", str(snap.data_dir), "--week", "2026-10-19"]

    assert main([*cli, "--send"]) == 0
    assert main([*cli, "--send"]) == 0
    assert server.mailbox == {A: 1, B: 1}
    assert main([*cli, "--resend"]) == 0  # --resend implies --send
    assert server.mailbox == {A: 2, B: 2}
    outs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["sent_to"], o["skipped"]) for o in outs] == [([A, B], []), ([], [A, B]),
                                                             ([A, B], [])]
    assert [e["resend"] for e in _log(snap)] == [False, False, True, True]
    assert main([*cli, "--send"]) == 0  # a plain --send after that still sends nothing
    assert server.mailbox == {A: 2, B: 2}


def test_a_torn_last_log_line_is_ignored_and_not_glued_to(snap, server):
    html = sc.render_scorecard(snap)
    log = snap.reports_dir / "scorecard-sent.jsonl"
    log.write_text('{"week_start": "2026-10-19", "recipient": "ceo@exa', encoding="utf-8")
    assert delivery.send_scorecard(snap, html) == [A, B, C]  # the torn line proves nothing
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and [json.loads(x)["recipient"] for x in lines[1:]] == [A, B, C]
