"""The data-status banner at the top of every page speaks words, not codes: the gate status,
the failing gate by what it checks, and the publish time in the configured time zone."""

from __future__ import annotations

from pathlib import Path

import yaml

from dashboards.status import GATE_TITLES, gate_status_words, gate_title

GATES_YML = Path(__file__).resolve().parents[2] / "quality" / "gates.yml"


def _shown(markdown: str) -> str:
    """The text as the reader sees it: markdown escapes (components.plain) removed."""
    return markdown.replace("\\", "")


def test_a_passed_snapshot_says_every_blocking_check_passed_not_the_code(published, open_page):
    at = open_page("scorecard")
    banner = _shown(at.success[0].value)
    assert "**质量门 Quality gates:** 已通过 every blocking check passed" in banner
    assert ":** passed" not in banner  # the code as it was shown
    # published 2026-11-02 08:00 UTC (audit.publish_info) = 16:00 in Shanghai (UTC+8)
    assert "**发布于 Published:** 2026-11-02 16:00 (Asia/Shanghai)" in banner


def test_a_failed_snapshot_names_the_failing_gate_in_words(published_failed, open_page):
    at = open_page("kpi_explorer")
    refusal = _shown(at.error[0].value)
    assert "客户匹配率 Customer match rate" in refusal
    assert "customer_match_rate" not in refusal
    assert "未通过 a blocking check failed" in refusal


def test_the_banner_shows_times_in_the_configured_zone(published, open_page, tmp_path,
                                                      monkeypatch):
    cfg = tmp_path / "sfe.toml"
    cfg.write_text(f'data_dir = "{published}"\ntime_zone = "Asia/Tokyo"\n', encoding="utf-8")
    monkeypatch.setenv("SFE_CONFIG", str(cfg))
    at = open_page("loads")
    assert "2026-11-02 17:00 (Asia/Tokyo)" in _shown(at.success[0].value)  # UTC+9


def test_every_gate_of_the_quality_package_has_words():
    names = [g["name"] for g in yaml.safe_load(GATES_YML.read_text(encoding="utf-8"))["gates"]]
    assert sorted(set(names) - set(GATE_TITLES)) == []


def test_a_gate_without_words_falls_back_to_what_its_description_says():
    assert gate_title("new_gate", "every invoice has a date; otherwise months shift") == \
        "every invoice has a date (new_gate)"
    assert gate_title("new_gate", None) == "new_gate"
    assert gate_status_words("failed") == "未通过 a blocking check failed"
    assert gate_status_words(None) == "未记录 not recorded"
    assert gate_status_words("odd") == "odd"
