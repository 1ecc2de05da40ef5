"""经营周报 Executive scorecard page."""

from __future__ import annotations

import datetime as dt

from tests.dashboards.conftest import assert_readable_tables, texts


def test_scorecard_page_shows_latest_complete_week_per_region(published, open_page):
    at = open_page("scorecard")
    # last sale date 2026-10-31 → week 2026-10-26 is incomplete, 2026-10-19 is the default
    assert at.selectbox(key="week").value == dt.date(2026, 10, 19)
    labels = [s.value for s in at.subheader]
    assert "华东大区 East" in labels and "华南大区 South" in labels
    m = [(x.label, x.value) for x in at.metric]
    assert ("流向销售额 Sell-out", "¥1,234,567") in m
    assert ("月达成 MTD achievement", "85.0%") in m
    assert ("流向销售额 Sell-out", "¥456,789") in m
    table = at.dataframe[0].value
    assert set(table["region_name"]) == {"华东大区 East", "华南大区 South"}


def test_scorecard_page_shows_status_banner_with_as_of_month(published, open_page):
    at = open_page("scorecard")
    banner = at.success[0].value
    assert "2026-10" in banner and "passed" in banner and "snap-20261102" in banner


def test_scorecard_page_switches_week(published, open_page):
    at = open_page("scorecard")
    at.selectbox(key="week").set_value(dt.date(2026, 10, 12)).run()
    assert ("流向销售额 Sell-out", "¥1,100,000") in [(x.label, x.value) for x in at.metric]


def test_scorecard_page_refuses_numbers_when_blocking_gate_failed(published_failed, open_page):
    at = open_page("scorecard")
    assert at.error and "客户匹配率 Customer match rate" in at.error[0].value
    assert not at.metric and not at.dataframe
    assert "不显示" in texts(at)


def test_scorecard_page_says_nothing_published_yet(data_dir, open_page):
    at = open_page("scorecard")
    assert "sfe run" in texts(at)
    assert not at.metric


def test_scorecard_page_withholds_a_region_whose_data_status_failed(published, open_page):
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.scorecard_weekly set data_status = 'failed' where region_id = 'R-S'")
    con.close()
    at = open_page("scorecard")
    assert any("华南大区 South" in e.value for e in at.error)
    values = [m.value for m in at.metric]
    assert "¥1,234,567" in values and "¥456,789" not in values


def _trend_weeks(at) -> set[str]:
    """The week_start values drawn in the trend chart (every trace)."""
    import json

    chart = [e for e in at.get("plotly_chart")][-1]
    fig = json.loads(chart.proto.spec)
    return {str(x)[:10] for trace in fig["data"] for x in trace.get("x", [])}


def test_scorecard_trend_leaves_out_the_partial_last_week(published, open_page):
    """Flow covers 26-31 Oct only: that week's sell-out must not read as a collapse."""
    at = open_page("scorecard")
    assert _trend_weeks(at) == {"2026-10-12", "2026-10-19"}
    assert "2026-10-26" in texts(at) and "6/7" in texts(at)


def test_scorecard_trend_can_show_the_partial_week_marked(published, open_page):
    import json

    at = open_page("scorecard")
    at.checkbox(key="show_partial").check().run()
    assert "2026-10-26" in _trend_weeks(at)
    fig = json.loads([e for e in at.get("plotly_chart")][-1].proto.spec)
    open_marked = {str(x)[:10] for t in fig["data"]
                   if t.get("marker", {}).get("symbol") == "circle-open" for x in t["x"]}
    assert open_marked == {"2026-10-26"}


def test_scorecard_page_warns_when_the_chosen_week_is_partial(published, open_page):
    at = open_page("scorecard")
    at.selectbox(key="week").set_value(dt.date(2026, 10, 26)).run()
    assert any("6 of its 7 days" in w.value for w in at.warning)


def test_scorecard_default_week_comes_from_the_scorecard_weeks_mart(published, open_page):
    """The mart, not the page, decides which weeks are whole."""
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.scorecard_weeks set is_complete_week = true, days_with_data = 7")
    con.close()
    at = open_page("scorecard")
    assert at.selectbox(key="week").value == dt.date(2026, 10, 26)


def test_scorecard_page_shows_a_dash_not_none_for_a_missing_data_status(published, open_page):
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.scorecard_weekly set data_status = null")
    con.close()
    at = open_page("scorecard")
    statuses = [m.value for m in at.metric if m.label == "数据状态 Data status"]
    assert statuses == ["—", "—"]
    assert set(at.dataframe[0].value["data_status"]) == {"—"}  # not all passed: in the table


def _width(text: str) -> int:
    """Display width in Latin characters: a Chinese character is about two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def test_scorecard_page_metric_labels_fit_a_fifth_of_the_page(published, open_page):
    """Five metrics a row leave a label about 23 Latin characters at 1400 px before Streamlit
    cuts it ("流向回收率 Flow complete…" was cut, "计划执行 Plan adherence" was not): each
    label fits, its detail is in the help."""
    at = open_page("scorecard")
    labels = {m.label for m in at.metric}
    assert {"回收率 Flow received", "DOI超标 Distributors"} <= labels
    assert [label for label in labels if _width(label) > 23] == []
    helps = {m.label: m.proto.help for m in at.metric}
    assert "Flow completeness" in helps["回收率 Flow received"]
    assert "days of inventory" in helps["DOI超标 Distributors"]


def test_scorecard_detail_table_labels_every_column_it_shows(published, open_page):
    """The detail table showed raw `week_end` and `as_of_month` columns beside the labelled
    ones (one week's rows: both are in the week picker and the banner)."""
    at = open_page("scorecard")
    assert_readable_tables(at)
    assert {"week_end", "as_of_month"}.isdisjoint(at.dataframe[0].value.columns)


def test_scorecard_data_status_reads_in_words(published, open_page):
    at = open_page("scorecard")
    statuses = [m.value for m in at.metric if m.label == "数据状态 Data status"]
    assert statuses == ["通过 passed", "通过 passed"]
    # every region passed: the detail table leaves the status to the boxes (1440 px)
    assert "data_status" not in at.dataframe[0].value.columns


def test_scorecard_trend_legend_names_only_the_regions_when_partial_weeks_are_hidden(
        published, open_page):
    """With partial weeks left out every point is a whole week: the legend read
    '华东大区 East, 完整 whole' for each region."""
    import json

    at = open_page("scorecard")
    fig = json.loads([e for e in at.get("plotly_chart")][-1].proto.spec)
    assert sorted(t["name"] for t in fig["data"]) == ["华东大区 East", "华南大区 South"]


def test_scorecard_page_tells_a_district_manager_where_their_numbers_are(published, open_page,
                                                                        monkeypatch):
    """The scorecard is by region: a district manager (D-SH) sees no row of it, and the page
    said 'No scorecard weeks in this snapshot' as if nothing were published."""
    from tests.dashboards.conftest import add_user

    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "zhang", "district_manager", ("D-SH",))
    at = open_page("scorecard", user="zhang")
    said = " ".join(i.value for i in at.info)
    assert "by region" in said and "上海地区 Shanghai" in said and "KPI explorer" in said
    assert "No scorecard weeks" not in said and not at.metric
