"""数据质量 Data quality page."""

from __future__ import annotations

import pytest

from tests.dashboards.conftest import assert_readable_tables, metrics, table_with


def test_quality_page_shows_failing_checks_of_the_snapshot(published, open_page):
    at = open_page("data_quality")
    m = metrics(at)
    assert m["质量门 Gate status"] == "通过 passed" and str(m["阻断失败 Blocking failures"]) == "0"
    failing = table_with(at, "failing_rows")
    assert list(failing["check_name"]) == ["inventory_variance"]  # a warning, run-2 only


def test_quality_page_words_severity_and_result_and_says_warnings_do_not_block(published,
                                                                             open_page):
    """The failing-checks table printed the codes 'warning' / 'fail' under "Failing checks" on
    a snapshot whose gates passed: a reader could not tell the numbers are still shown."""
    at = open_page("data_quality")
    failing = table_with(at, "failing_rows")
    assert (failing.iloc[0]["severity"], failing.iloc[0]["status"]) == ("警告 warning",
                                                                        "未通过 fail")
    assert any("do not block" in c.value for c in at.caption)
    assert set(table_with(at, "snapshot_id")["gate_status"]) <= {"通过 passed", "未通过 failed"}


def test_quality_page_does_not_call_blocking_failures_warnings(published_failed, open_page):
    at = open_page("data_quality")
    failing = table_with(at, "failing_rows").set_index("check_name")
    assert failing.loc["customer_match_rate", "severity"] == "阻断 blocking"
    assert not any("do not block" in c.value for c in at.caption)


def test_quality_page_shows_blocking_failure_and_last_good_publish(published_failed, open_page):
    at = open_page("data_quality")
    assert str(metrics(at)["阻断失败 Blocking failures"]) == "1"
    failing = table_with(at, "failing_rows").set_index("check_name")
    assert failing.loc["customer_match_rate", "failing_rows"] == 412
    captions = " ".join(c.value for c in at.caption)
    assert "snap-20261025" in captions  # the last publish whose gates passed


def test_quality_page_shows_publish_history(published, open_page):
    at = open_page("data_quality")
    hist = table_with(at, "snapshot_id")
    assert list(hist["snapshot_id"]) == ["snap-20261102", "snap-20261025",
                                         "20260930T190137261549Z"]


def test_quality_page_shows_last_refused_publish_from_status_file(published, open_page):
    import json

    (published / "published" / "status.json").write_text(json.dumps({
        "last_attempt": {"outcome": "refused", "reason": "blocking gate flow_completeness failed",
                         "at": "2026-11-09T08:00:00"}}), encoding="utf-8")
    at = open_page("data_quality")
    assert any("flow_completeness failed" in w.value for w in at.warning)


@pytest.mark.parametrize("snapshot", ["published", "published_failed"])
def test_quality_page_labels_every_column_and_shows_no_none(snapshot, request, open_page):
    request.getfixturevalue(snapshot)
    at = open_page("data_quality")
    assert len(at.dataframe) >= 3
    assert_readable_tables(at)


def test_quality_page_names_each_check_in_words_with_its_code_beside(published_failed,
                                                                      open_page):
    """The tables showed only gate codes ('customer_match_rate') where the banner and the
    e-mail say what a gate checks in words."""
    at = open_page("data_quality")
    failing = table_with(at, "failing_rows")
    assert list(failing.columns[:2]) == ["check_title", "check_name"]
    row = failing.set_index("check_name").loc["customer_match_rate"]
    assert row["check_title"] == "客户匹配率 Customer match rate"
    every = table_with(at, "checked_at")
    assert every["check_title"].notna().all() and (every["check_title"] != "").all()
