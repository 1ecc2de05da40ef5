"""How numbers and times read, on the pages and in the e-mailed scorecard: one place, so a
rate reads the same in a table, a metric box, a chart and the e-mail.

No Streamlit here: `sfe scorecard` formats with it too and should not import the UI.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

# Every rate and achievement with one decimal ("98.6%"), as Chinese sales reports write
# 达成率 and 覆盖率: Streamlit's own "percent" shows 0 to 2 decimals as each value happens
# to need ("98.61%", "100%", "7.5%"), so a column no longer lines up.
PCT_DIGITS = 1
# Streamlit's "percent" format takes its decimals from a column's `step`: those of the step
# minus the two that the ×100 uses up (0.001 → one decimal)
PCT_STEP = 10.0 ** -(PCT_DIGITS + 2)
# plotly's d3 format for percent axes and hover labels; ".0%" printed ticks 0.5 points apart
# as "88%, 88%, 89%"
PCT_AXIS = f".{PCT_DIGITS}%"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def fmt_pct(value: Any, digits: int = PCT_DIGITS, signed: bool = False) -> str:
    """A ratio as a percent ('0.8812' → '88.1%'); `signed` puts a + on growth."""
    if _missing(value):
        return "—"
    return f"{float(value) * 100:{'+' if signed else ''}.{digits}f}%"


def fmt_yuan(value: Any) -> str:
    if _missing(value):
        return "—"
    return f"¥{float(value):,.0f}"


def fmt_num(value: Any, digits: int = 0) -> str:
    if _missing(value):
        return "—"
    return f"{float(value):,.{digits}f}"


def local_time(value: Any, zone: str, named: bool = True) -> str:
    """A moment as people in `zone` read it, the zone named: '2026-11-30 15:05 (Asia/Shanghai)'
    (`named=False`: without the zone, for a column whose header names it).

    A naive time is UTC (the audit tables and status.json store UTC); text that is not a
    time is returned as written."""
    if _missing(value) or value == "":
        return "—"
    try:
        moment = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    if moment.tzinfo is None:
        moment = moment.tz_localize(dt.UTC)
    shown = f"{moment.tz_convert(ZoneInfo(zone)):%Y-%m-%d %H:%M}"
    return f"{shown} ({zone})" if named else shown
