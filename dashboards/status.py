"""Data status of the published snapshot, shown at the top of every page.

The statuses come from the quality package, never a second list here: a check's status is
`quality.checks` (pass | fail | error | skipped), a check blocks the numbers when
`CheckResult.blocks_publish` says so, a gate run is passed | failed (`quality.gates`
CheckReport.status, stored in audit.gate_runs), and publish status is
`quality.published.published_status` (none | passed | stale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from dashboards.connection import NO_DATA_MESSAGE, DataUnavailable, get_settings, isna, run, tables
from quality.checks import ERROR, FAIL, CheckResult
from quality.published import published_status
from sfe.config import Settings

# a check that failed or could not run (quality.checks), or a gate run that failed
# (quality.gates: CheckReport.status is "failed" when a blocking check did not pass)
_FAILED = frozenset({FAIL, ERROR, "failed"})
_PASSED = "passed"  # a gate run whose blocking checks all passed (CheckReport.status)

GATE_COLUMNS = ["run_id", "check_name", "severity", "status", "failing_rows", "message",
                "sample", "checked_at"]

# a gate run's status (audit.publish_info, gate_runs) as a person reads it
GATE_STATUS_WORDS = {"passed": "已通过 every blocking check passed",
                     "failed": "未通过 a blocking check failed",
                     "unknown": "未记录 not recorded"}
# what each gate of quality/gates.yml checks, in a few words of both languages, for the banner
# and the e-mailed scorecard (a gate's description there is a sentence; its name is a code).
# A gate missing here is shown by its description's first clause, else its name.
GATE_TITLES = {
    "dbt_tests": "模型与测试 dbt models and tests",
    "gx_staged_flow": "流向明细 Loaded flow lines",
    "gx_fct_sell_out": "流向事实 Sell-out facts",
    "gx_fct_sell_in": "进货事实 Sell-in facts",
    "gx_kpi_coverage": "覆盖率数据 Coverage rows",
    "gx_kpi_flow_completeness": "流向回收率数据 Flow completeness rows",
    "flow_completeness": "流向回收率 Flow completeness",
    "distributor_region": "经销商大区 Distributors' regions",
    "customer_match_rate": "客户匹配率 Customer match rate",
    "product_rows_quarantined": "产品未识别 Rows with an unknown product",
    "inventory_rollforward_variance": "库存滚动差异 Inventory roll-forward variance",
    "negative_computed_stock": "计算库存为负 Negative computed stock",
    "future_dates": "未来日期 Dates in the future",
    "sell_out_spike": "流向突增 Sell-out spike",
    "month_end_spike_reversed": "月末冲量退回 Month-end spike reversed",
    "circular_flows": "循环流向 Circular flows",
    "sell_out_without_sell_in": "有销无进 Sell-out without sell-in",
    "territory_credit": "辖区归属 Sell-out credited to territories",
    "achievement_reconciles": "达成率核对 Achievement reconciles",
    "scorecard_reconciles": "周报核对 Scorecard reconciles",
    "facts_cover_raw_months": "月份完整 Facts cover every raw month",
    "kpi_rates_out_of_bounds": "比率越界 KPI rates out of bounds",
}


def gate_status_words(value: object) -> str:
    """'passed' → '已通过 every blocking check passed'; an unknown word as written."""
    text = str(value or "unknown").strip()
    return GATE_STATUS_WORDS.get(text.lower(), text)


def gate_title(name: str, description: object = None) -> str:
    """A gate (check_name) in words: its title, else its description's first clause, else
    its name."""
    if name in GATE_TITLES:
        return GATE_TITLES[name]
    first = str(description or "").split(";")[0].strip()
    return f"{first} ({name})" if first and first != name.replace("_", " ") else name


def is_failed(value: object) -> bool:
    """A check status, gate status or scorecard data_status that means the numbers did not pass."""
    return str(value or "").strip().lower() in _FAILED


def is_passed(value: object) -> bool:
    """A gate status (audit.publish_info, audit.gate_runs): every blocking check passed."""
    return str(value or "").strip().lower() == _PASSED


def blocks_publish(severity: object, status: object) -> bool:
    """The quality package's rule for one audit.gate_results row (CheckResult.blocks_publish)."""
    return CheckResult(name="", severity=str(severity or ""), type="", description="",
                       status=str(status or "")).blocks_publish


def gate_rows(settings: Settings, run_id: object | None, where: str = "true",
              params: Sequence[Any] = ()) -> pd.DataFrame:
    """audit.gate_results rows (of one run when run_id is given), newest first."""
    if "audit.gate_results" not in tables(settings):
        return pd.DataFrame(columns=GATE_COLUMNS)
    params = list(params)
    if run_id is not None:
        where += " and run_id = ?"
        params.append(str(run_id))
    return run(f"select * from audit.gate_results where {where} "
               "order by checked_at desc nulls last, check_name", params, settings=settings)


def _publisher(settings: Settings) -> dict[str, Any] | None:
    """quality.published.published_status; None when status.json or the snapshot cannot be read
    (the banner must never break a page; the snapshot's own publish_info still works)."""
    try:
        return dict(published_status(settings))
    except (OSError, duckdb.Error):
        return None


def status(settings: Settings | None = None) -> dict[str, Any]:
    """Data status of the published snapshot, shown at the top of every page.

    Keys: available, message, path, snapshot_id, published_at, run_id, gate_status, as_of_month,
    as_of_date, blocking_failures (check names) and blocking_failure_titles (the same in
    words), refuse (True → KPI pages must not show numbers),
    last_refused (dict or None), data_status and `publisher` (what
    `quality.published.published_status` returned).
    """
    settings = settings or get_settings()
    out: dict[str, Any] = {
        "available": False, "message": NO_DATA_MESSAGE, "path": str(settings.published_db),
        "snapshot_id": None, "published_at": None, "run_id": None, "gate_status": None,
        "as_of_month": None, "as_of_date": None, "blocking_failures": [], "refuse": False,
        "last_refused": None, "publisher": None, "data_status": None,
        "blocking_failure_titles": [],
    }
    publisher = _publisher(settings)
    out["publisher"] = publisher
    if publisher:
        _from_publisher(out, publisher)
    try:
        present = tables(settings)
    except DataUnavailable as exc:
        out["message"] = str(exc)
        return out
    out["available"] = True
    out["message"] = ""
    _from_snapshot(out, present, publisher, settings)
    if "audit.gate_results" in present:
        gates = gate_rows(settings, out["run_id"])
        out["blocking_failures"] = sorted({
            name for name, sev, stat in zip(gates["check_name"], gates["severity"],
                                            gates["status"], strict=True)
            if blocks_publish(sev, stat)})
        described = dict(zip(gates["check_name"], gates["description"], strict=True)
                         if "description" in gates else {})
        out["blocking_failure_titles"] = [gate_title(n, described.get(n))
                                          for n in out["blocking_failures"]]
    if is_failed(out["gate_status"]) or out["blocking_failures"]:
        out["refuse"] = True
    if out["gate_status"] is None:
        out["gate_status"] = "failed" if out["blocking_failures"] else "unknown"
    return out


def _from_publisher(out: dict[str, Any], publisher: dict[str, Any]) -> None:
    """data_status, as_of_date and the last refused publish, from status.json."""
    out["data_status"] = publisher.get("data_status")
    attempt = publisher.get("last_attempt")
    if isinstance(attempt, dict) and attempt.get("outcome") not in (None, "published"):
        out["last_refused"] = attempt
    elif publisher.get("data_status") == "stale" and publisher.get("reason"):
        out["last_refused"] = {"reason": publisher.get("reason")}
    if publisher.get("as_of_date"):
        out["as_of_date"] = publisher.get("as_of_date")


def _from_snapshot(out: dict[str, Any], present: set[str], publisher: dict[str, Any] | None,
                   settings: Settings) -> None:
    """snapshot id, run, gate status and as-of month: audit.publish_info in the snapshot first."""
    if "audit.publish_info" in present:
        info = run("select * from audit.publish_info order by published_at desc nulls last limit 1",
                   settings=settings)
        if len(info):
            row = info.iloc[0].to_dict()
            for key in ("snapshot_id", "published_at", "run_id", "gate_status", "as_of_month",
                        "as_of_date"):
                if key in row and not isna(row[key]):
                    out[key] = row[key]
    elif publisher:
        for key in ("snapshot_id", "published_at", "run_id", "gate_status", "as_of_month"):
            if publisher.get(key) is not None:
                out[key] = publisher[key]
    if out["as_of_month"] is None and "marts.scorecard_weekly" in present:
        wk = run("select max(week_start) as w from marts.scorecard_weekly", settings=settings)
        if len(wk) and not isna(wk["w"].iloc[0]):
            out["as_of_month"] = pd.Timestamp(wk["w"].iloc[0]).strftime("%Y-%m")
