"""指标浏览 KPI explorer page: numbers and drill-down down the territory hierarchy."""

from __future__ import annotations

import json

from tests.dashboards.conftest import add_user, assert_readable_tables, metrics, table_with, texts


def test_kpi_explorer_top_level_shows_regions_and_national_headline(published, open_page):
    at = open_page("kpi_explorer")
    at.selectbox(key="product").set_value("P1").run()
    # national: 19 of 28 target customers covered
    assert metrics(at)["覆盖率 Coverage"] == "67.9%"
    cov = table_with(at, "coverage_rate").set_index("territory_id")
    assert list(cov.index) == ["R-E", "R-S"]
    assert cov.loc["R-E", "coverage_rate"] == 13 / 20
    assert metrics(at)["达成率 Achievement"] == "96.0%"  # 240k / 250k


def test_kpi_explorer_drills_region_to_district_to_territory(published, open_page):
    at = open_page("kpi_explorer")
    at.selectbox(key="product").set_value("P1").run()
    at.selectbox(key="drill_1").set_value("R-E").run()
    cov = table_with(at, "coverage_rate")
    assert list(cov["territory_id"]) == ["D-SH"]
    at.selectbox(key="drill_2").set_value("D-SH").run()
    cov = table_with(at, "coverage_rate").set_index("territory_id")
    assert list(cov.index) == ["T-SH1", "T-SH2"]
    assert cov.loc["T-SH2", "coverage_rate"] == 0.5
    assert metrics(at)["覆盖率 Coverage"] == "65.0%"  # district D-SH: 13 / 20
    reps = table_with(at, "rep")  # name (id) from dim_rep, not the bare id
    assert sorted(reps["rep"]) == ["李强 (REP2)", "王芳 (REP1)"]
    assert "rep_id" not in reps.columns
    assert metrics(at)["拜访次数 Calls"] == "180"


def test_kpi_explorer_sums_products_when_all_selected(published, open_page):
    at = open_page("kpi_explorer")
    # P1 19/28 + P2 9/14 at national level
    assert metrics(at)["覆盖率 Coverage"] == "66.7%"


def test_kpi_explorer_roi_totals(published, open_page):
    at = open_page("kpi_explorer")
    m = metrics(at)
    assert m["活动费用 Activity cost"] == "¥18,000"
    assert m["ROI 投入产出"] == "1.17"  # (25000 - 4000) / 18000


def test_kpi_explorer_roi_headline_is_the_marts_roll_up_and_names_customers(published,
                                                                           open_page):
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.kpi_activity_roi_territory set roi = 3.0 where territory_id = 'NAT'")
    con.close()
    at = open_page("kpi_explorer")
    assert metrics(at)["ROI 投入产出"] == "3.00"
    roi = table_with(at, "activity_id").set_index("activity_id")
    assert roi.loc["A1", "customer_name"] == "上海市第一人民医院"
    assert roi.loc["A2", "product_name"] == "康立宁"


def test_kpi_explorer_refuses_numbers_when_blocking_gate_failed(published_failed, open_page):
    at = open_page("kpi_explorer")
    assert "客户匹配率 Customer match rate" in at.error[0].value
    assert not at.metric and not at.dataframe


def test_kpi_explorer_access_control_limits_user_to_their_territory(published, open_page,
                                                                      monkeypatch):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "zhang", "district_manager", ("D-SH",))
    at = open_page("kpi_explorer", user="zhang")
    cov = table_with(at, "coverage_rate")
    assert list(cov["territory_id"]) == ["T-SH1", "T-SH2"]  # starts inside their district
    assert metrics(at)["覆盖率 Coverage"] == "63.3%"  # D-SH, both products: 19 / 30
    reps = table_with(at, "rep")
    assert "REP3" not in set(reps["rep"])
    assert set(table_with(at, "activity_id")["activity_id"]) == {"A1"}


def test_kpi_explorer_access_control_unknown_user_sees_nothing(published, open_page, monkeypatch):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "1")
    add_user(published, "zhang", "district_manager", ("D-SH",))
    at = open_page("kpi_explorer", query={"user": "zhang"})  # a query parameter is no identity
    assert any("not signed in" in e.value for e in at.error)
    assert not at.dataframe


def test_kpi_explorer_breaks_coverage_down_by_product(published, open_page):
    at = open_page("kpi_explorer")
    by_product = [d.value for d in at.dataframe
                  if "product_id" in d.value.columns and "coverage_rate" in d.value.columns][0]
    rates = dict(zip(by_product["product_id"], by_product["coverage_rate"]))
    # national, 2026-10; a rate as the table shows it: to 0.1 % (67.9 %, 64.3 %)
    assert rates == {"康立宁 20mg*7片": round(19 / 28, 3), "安平 5mg*28片": round(9 / 14, 3)}


def test_kpi_explorer_shows_call_activity_by_customer_grade(published, open_page):
    at = open_page("kpi_explorer")
    at.selectbox(key="drill_1").set_value("R-E").run()
    at.selectbox(key="drill_2").set_value("D-SH").run()
    grades = table_with(at, "grade").set_index("grade")
    assert list(grades.index) == ["A 级", "B 级", "C 级"]
    # D-SH grade A: REP1 10 of 10 and REP2 15 of 20 targets reached, 60 + 40 calls
    assert grades.loc["A 级", "target_hcps"] == 30 and grades.loc["A 级", "reached_hcps"] == 25
    # rates as the table shows them, to 0.1 % (83.3 %)
    assert grades.loc["A 级", "reach_rate"] == round(25 / 30, 3)
    assert grades.loc["A 级", "frequency"] == 100 / 25
    assert grades.loc["A 级", "plan_adherence"] == round((60 + 35) / (80 + 160), 3)
    assert grades.loc["C 级", "reach_rate"] == round(5 / 30, 3)


def test_kpi_explorer_call_headline_is_the_marts_roll_up(published, open_page):
    """The headline is kpi_call_activity_territory's row for the node, not an average the page
    makes of the reps' rates (here the mart row is changed to tell the two apart)."""
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.kpi_call_activity_territory set plan_adherence = 0.5, "
                "reach_rate = 0.25 where territory_id = 'D-SH' and month = '2026-10'")
    con.close()
    at = open_page("kpi_explorer")
    at.selectbox(key="drill_1").set_value("R-E").run()
    at.selectbox(key="drill_2").set_value("D-SH").run()
    m = metrics(at)
    assert m["计划执行 Plan adherence"] == "50.0%"
    assert m["目标医生覆盖 Reach"] == "25.0%"
    assert m["拜访次数 Calls"] == "180"


def test_coverage_with_all_products_says_it_counts_customer_product_pairs(published, open_page):
    at = open_page("kpi_explorer")
    m = metrics(at)
    assert m["目标客户×产品 Targets"] == "42"  # national: 28 + 14
    assert m["覆盖客户×产品 Covered"] == "28"  # 19 + 9
    at.selectbox(key="product").set_value("P1").run()
    assert metrics(at)["目标客户 Targets"] == "28"


def test_coverage_and_achievement_headlines_are_the_marts_rows(published, open_page):
    """The page shows kpi_coverage_total's / kpi_target_achievement_total's row for the node;
    the rows are changed here so that a sum made by the page would show other numbers."""
    import duckdb

    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("update marts.kpi_coverage_total set coverage_rate = 0.5 "
                "where territory_id = 'NAT' and month = '2026-10'")
    con.execute("update marts.kpi_target_achievement_total set achievement_rate = 0.5, "
                "ytd_achievement_rate = 0.25 where territory_id = 'NAT' and month = '2026-10'")
    con.close()
    at = open_page("kpi_explorer")
    m = metrics(at)
    assert m["覆盖率 Coverage"] == "50.0%"
    assert m["达成率 Achievement"] == "50.0%" and m["年累计达成 YTD"] == "25.0%"


def test_coverage_trend_marks_the_month_grading_starts(published, open_page):
    """September's targets are 三甲/三乙, October's the 2026-Q3 grades: the list changed."""
    import json

    at = open_page("kpi_explorer")
    assert any("2026-10" in c.value and "2026-Q3" in c.value for c in at.caption)
    fig = json.loads([e for e in at.get("plotly_chart")][0].proto.spec)
    lines = [s for s in fig["layout"].get("shapes", []) if s.get("type") == "line"]
    assert [s["x0"] for s in lines] == ["2026-10"]


def test_kpi_explorer_shows_a_rep_without_a_name_by_id(published, open_page):
    """REP3 (T-GZ1, 华南) has no name in dim_rep: shown as its id, not 'None (REP3)'."""
    at = open_page("kpi_explorer")
    assert "REP3" in set(table_with(at, "rep")["rep"])


def test_kpi_explorer_roi_table_shows_activity_types_in_words_not_crm_codes(published, open_page):
    """The CRM sends activity_type as codes (academic_meeting|department_meeting|sponsorship|
    other, sources.md); the table printed 'department_meeting'."""
    at = open_page("kpi_explorer")
    roi = table_with(at, "activity_id").set_index("activity_id")
    assert roi.loc["A1", "activity_type"] == "科室会 Department meeting"
    assert roi.loc["A2", "activity_type"] == "学术会议 Academic meeting"


def test_kpi_explorer_tables_label_every_column(published, open_page):
    at = open_page("kpi_explorer")
    assert len(at.dataframe) >= 5
    assert_readable_tables(at)


def test_kpi_explorer_roi_tab_says_it_is_not_filtered_by_the_month(published, open_page):
    """The Month picker sits above every tab, but ROI rolls up all activities (May and June
    in the fixture while 2026-10 is picked): the figures read as October's without a word."""
    at = open_page("kpi_explorer")
    assert at.selectbox(key="month").value == "2026-10"
    assert any("not only 2026-10" in c.value for c in at.caption)


def test_access_line_names_the_users_territory_not_only_its_id(published, open_page,
                                                                  monkeypatch):
    """'权限 Access: zhang → D-SH' told a district manager a code; the name says which one."""
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "zhang", "district_manager", ("D-SH",))
    at = open_page("kpi_explorer", user="zhang")
    assert any("→ 上海地区 Shanghai" in c.value and "D-SH" in c.value for c in at.caption)


def _labels(at, column: str) -> set[str]:
    """The header of `column` in every table that shows it."""
    configs = [{k.removeprefix("col:"): v for k, v in json.loads(t.proto.columns).items()}
               for t in at.dataframe if column in t.value.columns]
    return {c[column]["label"] for c in configs}


def test_the_rows_count_and_column_say_the_level_shown_not_always_territories(published,
                                                                               open_page):
    at = open_page("kpi_explorer")  # the nation: its rows are the regions 华东, 华南
    assert "显示 2 个大区 Showing 2 regions" in texts(at)
    assert "territories" not in texts(at)
    assert _labels(at, "territory_name") >= {"大区 Region"}
    at.selectbox(key="drill_1").set_value("R-E").run()  # 华东: one district
    assert "显示 1 个地区 Showing 1 district" in texts(at)
    at.selectbox(key="drill_2").set_value("D-SH").run()  # 上海: two territories
    assert "显示 2 个辖区 Showing 2 territories" in texts(at)
    assert "辖区 Territory" in _labels(at, "territory_name")
