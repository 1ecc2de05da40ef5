"""What the weekly scorecard shows, built once per render or send: one row per region of
`marts.scorecard_weekly` for a week, formatted, with the data status of the published snapshot.
Reads the published snapshot only (dashboards.queries.scorecard, dashboards.status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboards.connection import NO_DATA_MESSAGE, isna
from dashboards.formats import fmt_pct, fmt_yuan, local_time
from dashboards.queries import scorecard as queries
from dashboards.status import gate_status_words, is_failed, is_passed, status
from sfe.config import Settings
from sfe.report import UsageError

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


def _fmt(key: str, value: Any) -> str:
    if value is None or isna(value):
        return "—"
    if key in _AMOUNTS:
        return fmt_yuan(value)
    if key in _RATES:
        return fmt_pct(value, signed=key == "growth")
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


def _pick_week(settings: Settings, week: dt.date | str | None) -> dt.date:
    """The week asked for (a Monday the snapshot has), else the latest complete week."""
    weeks = queries.scorecard_weeks(settings, scoped=False)
    if not weeks:
        raise ScorecardError("the published snapshot has no scorecard weeks "
                             "(marts.scorecard_weekly is empty); run `sfe run` with flow data")
    week = _parse_week(week)
    if week is None:
        return queries.latest_complete_week(settings, scoped=False)
    if week.weekday() != 0:
        raise UsageError(f"--week {week} is a {week:%A}; weeks start on Monday "
                         f"(try {week - dt.timedelta(days=week.weekday())})")
    if week not in weeks:
        raise UsageError(f"week {week} is not in the published snapshot; it has "
                         f"{min(weeks)} … {max(weeks)}")
    return week


def _region(rec: dict[str, Any], refuse: bool, blocked: str) -> dict[str, Any]:
    """One region's row as the template shows it; withheld when its numbers did not pass."""
    withheld = refuse or is_failed(rec.get("data_status"))
    growth = rec.get("growth")
    return {
        "region_id": rec["region_id"], "name": rec.get("region_name") or rec["region_id"],
        "data_status": blocked if refuse else str(rec.get("data_status") or "unknown"),
        "withheld": withheld,
        "status_class": "bad" if withheld else "ok",
        "growth_class": "" if growth is None or isna(growth) else ("neg" if growth < 0 else "pos"),
        "vals": {key: _fmt(key, rec.get(key)) for key, _, _ in FIELDS},
    }


def _status_line(state: dict[str, Any]) -> tuple[str, str]:
    """(css class, bilingual sentence) for the data status at the top of the scorecard."""
    if state["refuse"]:
        return "bad", (f"未通过质量门，数字不显示 — a blocking quality check failed "
                       f"({_failed(state)}); numbers withheld")
    if state.get("last_refused"):
        return "warn", ("最近一次发布被拒绝，本报告基于上一次通过质量门的快照 — the latest publish was "
                        "refused; these are the last good numbers")
    if is_passed(state.get("gate_status")):
        return "ok", "已通过质量门 passed the quality gates"
    return "ok", ("已通过质量门 passed the quality gates (质量门状态 gate status: "
                  f"{gate_status_words(state.get('gate_status'))})")


def _failed(state: dict[str, Any]) -> str:
    """The blocking checks that failed, in words."""
    return ("; ".join(state.get("blocking_failure_titles") or state["blocking_failures"])
            or "质量门状态为未通过 the gate run failed")


def scorecard_context(settings: Settings, week: dt.date | str | None = None,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the template and the PDF show, for one week (default: latest complete week);
    `now` (default: the clock) is the generation time in the footer."""
    state = status(settings)
    if not state["available"]:
        raise ScorecardError(state["message"] or NO_DATA_MESSAGE)
    week = _pick_week(settings, week)
    rows = queries.scorecard(week, settings, scoped=False)
    refuse = bool(state["refuse"])
    blocked = "未通过 blocked: " + _failed(state)
    status_class, status_text = _status_line(state)
    as_of = state.get("as_of_date") or state.get("as_of_month")
    return {
        "company": settings.company_name, "week_start": week.isoformat(),
        "week_end": (week + dt.timedelta(days=6)).isoformat(),
        "as_of": str(as_of)[:10] if as_of else "—",
        "snapshot_id": state.get("snapshot_id") or "—",
        "published_at": local_time(state.get("published_at"), settings.time_zone),
        "status_class": status_class, "status_text": status_text, "refuse": refuse,
        "regions": [_region(rec, refuse, blocked) for rec in rows.to_dict("records")],
        "fields": FIELDS,
        # the server's clock is UTC: readers are in the configured zone (China by default)
        "generated_at": local_time(now or dt.datetime.now(dt.UTC), settings.time_zone),
    }
