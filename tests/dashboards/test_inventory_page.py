"""渠道库存 Channel inventory page."""

from __future__ import annotations

from tests.dashboards.conftest import add_user, assert_readable_tables, metrics, table_with


def test_inventory_page_shows_doi_and_variance_from_the_snapshot(published, open_page):
    at = open_page("inventory")
    assert at.selectbox(key="month").value == "2026-10"
    inv = table_with(at, "days_of_inventory").set_index("distributor_code")
    # D002 and D003 reported no closing stock, D003 sent no flow: '—', not None
    assert inv.loc["D001", "variance_qty"] == "-5" and inv.loc["D002", "variance_qty"] == "—"
    assert inv.loc["D002", "days_of_inventory"] == "75.0"
    assert inv.loc["D003", "sales_qty"] == "—" and inv.loc["D003", "opening_qty"] == 40
    assert_readable_tables(at)
    assert inv.loc["D001", "distributor_name"] == "上海医药分销"
    m = metrics(at)
    assert m["超DOI经销商 Over DOI"] == "1"  # D002 at 75 days
    assert m["无流向经销商 No flow"] == "1"  # D003: NULL sales
    assert m["期末库存 Closing (boxes)"] == "485"


def test_inventory_headline_is_the_marts_row_not_a_page_count(published, open_page):
    """kpi_channel_inventory_month's row is shown as it is (changed here to tell it apart from
    a count the page could make of the table)."""
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.kpi_channel_inventory_month set distributors_over_doi = 7 "
                "where month = '2026-10'")
    con.close()
    at = open_page("inventory")
    assert metrics(at)["超DOI经销商 Over DOI"] == "7"


def test_doi_chart_flags_with_the_threshold_the_mart_counted_with(published, open_page):
    """The headline's count and the chart's line come from one owner: the mart's
    doi_threshold_days (the dbt var at build time), not the dashboard server's settings."""
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.kpi_channel_inventory_month set doi_threshold_days = 80 "
                "where month = '2026-10'")
    con.close()
    at = open_page("inventory")
    spec = at.get("plotly_chart")[0].proto.spec
    assert "threshold 80" in spec and "threshold 60" not in spec


def test_inventory_page_filters_by_distributor(published, open_page):
    at = open_page("inventory")
    at.multiselect(key="distributors").select("上海医药分销").run()
    inv = table_with(at, "days_of_inventory")
    assert list(inv["distributor_code"]) == ["D001"]


def test_inventory_page_refuses_numbers_when_blocking_gate_failed(published_failed, open_page):
    at = open_page("inventory")
    assert "客户匹配率 Customer match rate" in at.error[0].value
    assert not at.dataframe and not at.metric


def test_inventory_page_hidden_from_territory_restricted_users(published, open_page, monkeypatch):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "zhang", "rep", ("T-SH1",))
    at = open_page("inventory", user="zhang")
    assert not at.dataframe
    assert any("not split by territory" in i.value for i in at.info)


def test_doi_threshold_label_sits_above_the_bars(published, open_page):
    """Drawn inside the plot (y = top of the plot, hanging down) the label lay over the longest
    bar in grey on red; anchored at its bottom it sits above the plot, clear of every bar."""
    import json

    at = open_page("inventory")
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    (label,) = [a for a in layout["annotations"] if "threshold" in a["text"]]
    assert (label["yref"], label["y"], label["yanchor"]) == ("y domain", 1, "bottom")
