"""How gate outcomes print: a failed warning check is a WARN, never a FAIL."""

from __future__ import annotations

import datetime as dt
import io

from quality.checks import CheckResult
from quality.gates import CheckReport, _say, status_mark
from sfe.console import Console


def _result(name: str, severity: str, status: str) -> CheckResult:
    return CheckResult(name=name, severity=severity, type="sql", description="",
                       status=status, failing_rows=3 if status != "pass" else 0,
                       message=f"{name} message")


RESULTS = [_result("flow_completeness", "blocking", "pass"),
           _result("inventory_variance", "warning", "fail"),
           _result("gx_calls", "warning", "error"),
           _result("customer_match_rate", "blocking", "fail")]


def test_status_marks():
    assert [status_mark(r) for r in RESULTS] == ["ok", "WARN", "WARN", "FAIL"]


def test_progress_lines_print_warnings_as_warn():
    stream = io.StringIO()
    for result in RESULTS[:2]:
        _say(Console(stream=stream), result)
    assert stream.getvalue().splitlines() == [
        "    ok    flow_completeness: flow_completeness message",
        "    WARN  inventory_variance: inventory_variance message"]


def test_passed_summary_shows_no_fail():
    now = dt.datetime(2026, 11, 2, 8, 0)
    report = CheckReport("run-1", now, now, RESULTS[:2])
    text = report.summary()
    assert "FAIL" not in text
    assert "WARN" in text and "passed (1 warning(s))" in text
