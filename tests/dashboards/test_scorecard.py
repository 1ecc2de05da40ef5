"""The weekly scorecard: HTML per region from scorecard_weekly, PDF when possible, email, CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import email
import re
from dataclasses import replace
from pathlib import Path

import pytest

from dashboards import scorecard as sc
from dashboards import scorecard_delivery as delivery
from dashboards import scorecard_pdf
from sfe.config import SmtpSettings
from sfe.console import Console
from sfe.report import UsageError
from tests.dashboards.snapshot_fixture import build_snapshot


@pytest.fixture
def snap(settings):
    build_snapshot(settings.published_db)
    return settings


@pytest.fixture
def no_pdf(monkeypatch):
    monkeypatch.setattr(scorecard_pdf, "find_cjk_font", lambda: None)


def test_render_defaults_to_latest_complete_week_one_page_per_region(snap, no_pdf):
    path = sc.render_scorecard(snap)
    assert path == snap.reports_dir / "scorecard-2026-10-19.html"
    html = path.read_text(encoding="utf-8")
    assert html.count('class="page"') == 3  # summary + 华东 + 华南
    assert "华东大区 East" in html and "华南大区 South" in html
    assert "¥1,234,567" in html and "¥456,789" in html
    assert "+12.2%" in html and "-8.6%" in html and "85.0%" in html
    assert "已通过质量门 passed the quality gates" in html
    assert "流向回收率" in html and "Flow completeness" in html
    assert "2026-10-19 – 2026-10-25" in html


def test_render_a_given_week_to_a_given_file(snap, no_pdf, tmp_path):
    out = sc.render_scorecard(snap, dt.date(2026, 10, 12), tmp_path / "x" / "card.html")
    assert out == tmp_path / "x" / "card.html"
    assert "¥1,100,000" in out.read_text(encoding="utf-8")


def test_render_rejects_a_week_that_is_not_a_monday_or_not_in_the_snapshot(snap, no_pdf):
    with pytest.raises(UsageError, match="Monday"):
        sc.render_scorecard(snap, "2026-10-20")
    with pytest.raises(UsageError, match="not in the published snapshot"):
        sc.render_scorecard(snap, "2025-01-06")


def test_render_withholds_numbers_when_a_blocking_gate_failed(settings, no_pdf):
    build_snapshot(settings.published_db, blocking_failure=True)
    html = sc.render_scorecard(settings).read_text(encoding="utf-8")
    assert "客户匹配率 Customer match rate" in html and "withheld" in html
    assert "¥1,234,567" not in html


def test_render_without_a_snapshot_says_run_sfe_run(settings, no_pdf):
    with pytest.raises(sc.ScorecardError, match="sfe run"):
        sc.render_scorecard(settings)


def test_pdf_unavailable_is_said_not_hidden(snap, no_pdf):
    report = sc.scorecard_command(snap, argparse.Namespace(week=None, out=None, send=False),
                                  Console(quiet=True))
    assert report.exit_code == 0 and report.pdf is None
    assert "PDF unavailable" in report.pdf_note
    assert report.to_dict()["html"].endswith("scorecard-2026-10-19.html")
    assert "2026-10-19" in report.summary()


def test_send_without_smtp_host_is_a_usage_error(snap, no_pdf):
    with pytest.raises(UsageError, match="SMTP host"):
        sc.scorecard_command(snap, argparse.Namespace(week=None, out=None, send=True),
                             Console(quiet=True))


def test_send_emails_html_body_and_attachment(snap, no_pdf, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context=None):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, msg):
            sent.append(("message", msg))

    monkeypatch.setattr(delivery.smtplib, "SMTP", FakeSMTP)
    settings = replace(snap, smtp=SmtpSettings(host="smtp.example.com", port=587, user="bot",
                                               password="x", recipients=("ceo@example.com",)))
    report = sc.scorecard_command(settings, argparse.Namespace(week=None, out=None, send=True),
                                  Console(quiet=True))
    assert report.exit_code == 0 and report.sent_to == ["ceo@example.com"]
    assert sent[0] == ("connect", "smtp.example.com", 587) and ("login", "bot") in sent
    msg = sent[-1][1]
    assert msg["To"] == "ceo@example.com" and "2026-10-19" in msg["Subject"]
    parsed = email.message_from_bytes(msg.as_bytes())
    names = [p.get_filename() for p in parsed.walk() if p.get_filename()]
    assert names == ["scorecard-2026-10-19.html"]


def test_cli_scorecard_json(snap, no_pdf, capsys, monkeypatch):
    import json

    from orchestration.cli import main

    monkeypatch.delenv("SFE_CONFIG", raising=False)
    code = main(["scorecard", "--json", "--data-dir", str(snap.data_dir), "--week", "2026-10-12"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["week"] == "2026-10-12" and Path(out["html"]).exists()


def test_the_command_builds_the_scorecard_context_once(snap, no_pdf, monkeypatch):
    """`sfe scorecard` renders the HTML and the PDF from one context (it was built twice)."""
    built = []
    real = sc.scorecard_context

    def counting(settings, week=None):
        built.append(week)
        return real(settings, week)

    monkeypatch.setattr(sc, "scorecard_context", counting)
    report = sc.scorecard_command(snap, argparse.Namespace(week=None, out=None, send=False),
                                  Console(quiet=True))
    assert report.exit_code == 0 and report.week == "2026-10-19"
    assert built == [None]


def test_footer_and_publish_time_are_in_china_time_with_the_zone_named(snap, no_pdf, tmp_path):
    # 23:30 UTC on 30 Nov is 07:30 the next morning in Shanghai (UTC+8, no summer time);
    # the snapshot was published 2026-11-02 08:00 UTC = 16:00 in Shanghai
    now = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    html = sc.write_html(sc.scorecard_context(snap, now=now), tmp_path / "c.html").read_text(
        encoding="utf-8")
    assert "生成于 Generated 2026-12-01 07:30 (Asia/Shanghai)" in html
    assert "发布 Published 2026-11-02 16:00 (Asia/Shanghai)" in html
    assert "23:30" not in html and "+00:00" not in html


def test_footer_follows_the_configured_time_zone(snap, no_pdf, tmp_path):
    # Berlin is UTC+1 in November (summer time ended 25 Oct 2026)
    berlin = replace(snap, time_zone="Europe/Berlin")
    now = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    html = sc.write_html(sc.scorecard_context(berlin, now=now), tmp_path / "c.html").read_text(
        encoding="utf-8")
    assert "生成于 Generated 2026-12-01 00:30 (Europe/Berlin)" in html
    assert "发布 Published 2026-11-02 09:00 (Europe/Berlin)" in html


def test_the_rendered_scorecard_footer_shows_the_clock_in_china_time(snap, no_pdf):
    before = dt.datetime.now(dt.UTC)
    html = sc.render_scorecard(snap).read_text(encoding="utf-8")
    stamps = re.findall(r"生成于 Generated (\d{4}-\d\d-\d\d \d\d:\d\d) \(Asia/Shanghai\)", html)
    assert len(stamps) == 2  # one per region page
    shown = dt.datetime.strptime(stamps[0], "%Y-%m-%d %H:%M")
    china = (before + dt.timedelta(hours=8)).replace(tzinfo=None, second=0, microsecond=0)
    assert dt.timedelta(0) <= shown - china <= dt.timedelta(minutes=2)
