"""招标 Tenders page: bids, wins and win rate by province and product, prices against list."""

from __future__ import annotations

from tests.dashboards.conftest import add_user, assert_readable_tables, table_with, texts


def test_tenders_page_shows_win_rate_by_province_from_the_mart(published, open_page):
    at = open_page("tenders")
    prov = table_with(at, "lines_won").set_index("province")
    assert prov.loc["广东", "bids"] == 4 and prov.loc["广东", "wins"] == 1
    assert prov.loc["广东", "win_rate"] == 0.25  # 1 / 4 over both lines, not the mean of 1 and 0


def test_tenders_page_compares_prices_with_the_list_price(published, open_page):
    at = open_page("tenders")
    lines = table_with(at, "own_win_price_to_list")
    won = lines[lines["product"] == "阿托伐他汀钙片 20mg*7片"].iloc[0]
    # shown as text: the columns have gaps (a lost line, a product without a list price)
    assert won["list_price"] == "¥25.00" and won["own_win_price_to_list"] == "72.0%"
    assert set(lines["batch"]) == {"省级 Provincial", "第九批"}  # '' says provincial tender
    assert "1 行无挂网价对比" not in texts(at)  # the lost line has no own win price to compare


def test_tenders_page_filters_by_province(published, open_page):
    at = open_page("tenders")
    at.multiselect(key="provinces").select("江苏").run()
    assert list(table_with(at, "lines_won")["province"]) == ["江苏"]
    assert list(table_with(at, "own_win_price_to_list")["province"]) == ["江苏"]


def test_tenders_page_is_for_users_who_see_every_territory(published, open_page, monkeypatch):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "li.na", "rep", ("T-SH1",))
    at = open_page("tenders", user="li.na")
    assert not at.dataframe
    assert "every territory" in texts(at)


def test_tenders_page_shows_prices_not_there_as_dashes(published, open_page):
    """The lost 第九批 line has no own winning price: '—', not None; a price present keeps
    its yuan format (list price 25 a box)."""
    at = open_page("tenders")
    assert_readable_tables(at)
    lines = table_with(at, "own_win_price_to_list").set_index("batch")
    assert lines.loc["第九批", "own_win_price"] == "—"
    assert lines.loc["省级 Provincial"].set_index("product").loc[
        "阿托伐他汀钙片 20mg*7片", "list_price"] == "¥25.00"
