"""Every rate and achievement reads with one decimal, the same in a table, a metric box, a chart
and the e-mailed scorecard (Streamlit's own "percent" shows 0 to 2 decimals as each value
happens to need: "76.48%", "50%", "7.5%")."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import streamlit as st

from dashboards.components import pct_column, readable
from dashboards.formats import fmt_pct

PAGES = ["scorecard", "kpi_explorer", "tenders", "loads", "inventory"]


def _percent_columns(at) -> list[tuple[dict, pd.Series]]:
    """(column config, values shown) of every percent column of every table on the page."""
    found = []
    for table in at.dataframe:
        config = json.loads(table.proto.columns or "{}")
        for key, spec in config.items():
            type_config = (spec or {}).get("type_config") or {}
            name = key.removeprefix("col:")
            if type_config.get("format") == "percent" and name in table.value:
                found.append((type_config, table.value[name]))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_percent_column_shows_one_decimal_of_its_rounded_value(published, open_page, page):
    at = open_page(page)
    columns = _percent_columns(at)
    if page != "inventory":  # the inventory page has no rate column
        assert columns, f"{page}: no percent column found"
    for type_config, values in columns:
        # the grid shows a "percent" column with the decimals of `step` minus 2: 0.001 → 88.1%
        assert type_config.get("step") == 0.001, type_config
        # ... and cuts (not rounds) a value to the step: the values must be rounded already
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        assert ((numbers * 1000).round(6) % 1 == 0).all(), list(numbers)


def test_the_grid_is_given_the_rounded_rate_so_it_shows_what_a_metric_box_shows():
    df = pd.DataFrame({"rate": [0.7648235, 0.317742, -0.0397789, 0.5]})
    out, cfg = readable(df, {"rate": pct_column("率 Rate")})
    # 76.48 % → 76.5 % (cut to the step it read 76.4 %, the metric box above it 76.5 %)
    assert list(out["rate"]) == [0.765, 0.318, -0.040, 0.5]
    assert [fmt_pct(v) for v in df["rate"]] == ["76.5%", "31.8%", "-4.0%", "50.0%"]
    assert fmt_pct(0.172, signed=True) == "+17.2%"
    assert cfg["rate"]["type_config"]["step"] == 0.001


def test_a_progress_bar_of_a_rate_reads_the_same_and_runs_from_0_to_100_percent():
    spec = pct_column("覆盖率 Coverage", progress=True)
    assert spec["type_config"] == {**spec["type_config"], "type": "progress", "format": "percent",
                                   "step": 0.001, "min_value": 0, "max_value": 1}


def test_a_rate_with_gaps_reads_with_one_decimal_too():
    out, _ = readable(pd.DataFrame({"rate": [0.5, None]}),
                      {"rate": st.column_config.NumberColumn("率", format="percent")})
    assert list(out["rate"]) == ["50.0%", "—"]


@pytest.mark.parametrize("page", ["tenders", "kpi_explorer"])
def test_rate_axes_and_hover_labels_read_with_one_decimal(published, open_page, page):
    at = open_page(page)
    axes = [json.loads(c.proto.spec)["layout"].get("yaxis", {}) for c in at.get("plotly_chart")]
    rate_axes = [a for a in axes if str(a.get("tickformat", "")).endswith("%")]
    assert rate_axes, axes
    # ".0%" printed ticks half a point apart as "88%, 88%, 89%"
    assert all(a["tickformat"] == ".1%" and a.get("hoverformat") == ".1%" for a in rate_axes)
