"""components.readable: what a table shows for gaps, times and formatted numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboards.components import readable


def test_gaps_become_dashes_in_the_columns_format_and_full_columns_stay_typed():
    df = pd.DataFrame({
        "price": [1234.5, np.nan], "rate": [0.881, np.nan], "rows": [3, 4],
        "at": pd.to_datetime(["2026-11-14 16:30:59", None]),
        "day": pd.to_datetime(["2026-10-01", "2026-10-31"]), "who": ["王芳", None]})
    out, cfg = readable(df, {"price": st.column_config.NumberColumn("价 Price", format="¥%,.2f"),
                             "rate": st.column_config.NumberColumn("率 Rate", format="percent"),
                             "rows": "行 Rows", "at": "时 At", "day": "日 Day", "who": "人 Who"},
                        days=("day",))
    assert list(out["price"]) == ["¥1,234.50", "—"]
    assert list(out["rate"]) == ["88.1%", "—"]
    assert list(out["at"]) == ["2026-11-14 16:30", "—"]  # to the minute
    assert list(out["day"]) == ["2026-10-01", "2026-10-31"]  # no 00:00:00
    assert list(out["who"]) == ["王芳", "—"]
    assert out["rows"].dtype.kind == "i"  # no gaps: still a number column
    assert cfg["price"]["label"] == "价 Price" and cfg["price"]["alignment"] == "right"
    assert cfg["rows"] == "行 Rows"


def test_times_are_shown_in_the_given_zone_and_dates_stay_dates():
    """The audit stores UTC: 16:30 UTC on 14 Nov is 00:30 on the 15th in Shanghai (UTC+8);
    a date column has no time of day to move."""
    df = pd.DataFrame({"at": pd.to_datetime(["2026-11-14 16:30:59", None]),
                       "day": pd.to_datetime(["2026-10-31", "2026-11-01"])})
    out, cfg = readable(df, {"at": "时 At", "day": "日 Day"}, days=("day",), zone="Asia/Shanghai")
    assert list(out["at"]) == ["2026-11-15 00:30", "—"]
    assert list(out["day"]) == ["2026-10-31", "2026-11-01"]
    assert "Asia/Shanghai" in cfg["at"]["help"]
