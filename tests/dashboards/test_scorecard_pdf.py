"""The PDF scorecard: drawn without a browser, in an embedded Chinese font, or clearly refused."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from dashboards import scorecard as sc
from dashboards import scorecard_pdf
from sfe.console import Console
from tests.dashboards.snapshot_fixture import build_snapshot


@pytest.fixture
def snap(settings):
    build_snapshot(settings.published_db)
    return settings


@pytest.fixture
def no_browser(monkeypatch):
    """A fresh machine: no Chromium anywhere on the PATH or in /usr/bin."""
    monkeypatch.setattr(sc, "find_chromium", lambda: None)
    monkeypatch.setenv("PATH", "/nonexistent")


def _text(pdf: Path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(pdf).pages]


def test_pdf_holds_the_region_names_in_chinese_without_a_browser(snap, no_browser):
    report = sc.scorecard_command(snap, argparse.Namespace(week=None, out=None, send=False),
                                  Console(quiet=True))
    assert report.pdf_note is None and report.pdf is not None
    pages = _text(Path(report.pdf))
    assert len(pages) == 3  # summary + 华东 + 华南, as in the HTML
    assert "华东大区" in pages[0] and "华南大区" in pages[0]
    assert "经营周报" in pages[0] and "¥1,234,567" in pages[0] and "+12.2%" in pages[0]
    assert "华东大区 East (R-E)" in pages[1] and "流向回收率" in pages[1]
    assert "华南大区 South (R-S)" in pages[2] and "-8.6%" in pages[2]


def test_pdf_embeds_the_font_so_any_reader_shows_the_glyphs(snap, no_browser):
    path = sc.render_scorecard(snap).with_suffix(".pdf")
    embedded = set()
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            desc = font.get("/FontDescriptor")
            if desc is not None and "/FontFile2" in desc.get_object():
                embedded.add(str(font["/BaseFont"]))
    # reportlab subsets TrueType fonts as several fonts of up to 256 glyphs each
    assert embedded and all("WenQuanYiMicroHei" in name for name in embedded), embedded


def test_pdf_withholds_numbers_of_a_failed_snapshot(settings, no_browser):
    build_snapshot(settings.published_db, blocking_failure=True)
    path = sc.render_scorecard(settings).with_suffix(".pdf")
    text = " ".join(_text(path))
    assert "未通过质量门" in text and "客户匹配率 Customer match rate" in text
    assert "¥1,234,567" not in text


def test_no_font_means_a_clear_note_and_no_stale_pdf(snap, monkeypatch):
    stale = snap.reports_dir / "scorecard-2026-10-19.pdf"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"%PDF last week's")
    monkeypatch.setattr(scorecard_pdf, "find_cjk_font", lambda: None)
    report = sc.scorecard_command(snap, argparse.Namespace(week=None, out=None, send=False),
                                  Console(quiet=True))
    assert report.pdf is None and "no Chinese font" in report.pdf_note
    assert not stale.exists()  # --send must not mail last week's PDF as this week's


def test_a_font_without_chinese_glyphs_is_refused_not_drawn_as_boxes(snap, tmp_path):
    import reportlab

    latin = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    context = sc.scorecard_context(snap)
    note = scorecard_pdf.write_pdf(context, tmp_path / "card.pdf", font_path=latin)
    assert note is not None and "no glyph for" in note and "华" in note
    assert not (tmp_path / "card.pdf").exists()
