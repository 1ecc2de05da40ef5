"""数据加载 Loads page."""

from __future__ import annotations

from tests.dashboards.conftest import assert_readable_tables, metrics, table_with


def test_loads_page_counts_files_by_status(published, open_page):
    at = open_page("loads")
    m = metrics(at)
    assert m["已加载 Loaded"] == 2 or m["已加载 Loaded"] == "2"
    assert str(m["拒绝 Rejected"]) == "1" and str(m["部分 Partial"]) == "1"


def test_loads_page_lists_rejected_files_with_reasons(published, open_page):
    at = open_page("loads")
    rejected = table_with(at, "reasons")
    assert list(rejected["path"]) == ["flow/D003/南京10月.xls"]
    assert "no recognisable header row" in rejected["reasons"].iloc[0]


def test_loads_page_lists_late_and_missing_distributors(published, open_page):
    at = open_page("loads")
    late = table_with(at, "problem").set_index("distributor_code")
    assert set(late.index) == {"D002", "D003"}
    assert late.loc["D003", "problem"].startswith("missing")
    assert late.loc["D002", "problem"].startswith("late")


def test_loads_page_shows_each_regions_completeness_and_the_nation_from_counts(
        published, open_page):
    """October: 华东 1 of 2 sent, 华南 1 of 1 (late); the nation is 2 of 3, on time 1 of 3,
    matched (960 + 440) / (1000 + 500) boxes, not an average of the regions' rates."""
    at = open_page("loads")
    table = table_with(at, "completeness_rate").set_index("region_name")
    assert list(table.index) == ["华东大区 East", "华南大区 South", "全国 Nation"]
    assert table.loc["华东大区 East", "completeness_rate"] == 0.5
    assert table.loc["华南大区 South", "completeness_rate"] == 1.0
    nation = table.loc["全国 Nation"]
    assert (nation["expected"], nation["received"], nation["on_time"]) == (3, 2, 1)
    # rates as the table shows them, to 0.1 % (66.7 %, 33.3 %, 93.3 %)
    assert nation["completeness_rate"] == round(2 / 3, 3)
    assert nation["on_time_rate"] == round(1 / 3, 3)
    assert nation["match_rate"] == round(1400 / 1500, 3)
    assert "ALL" not in set(table_with(at, "problem")["distributor_code"])


def test_loads_page_counts_quarantined_rows_by_reason(published, open_page):
    at = open_page("loads")
    assert metrics(at)["隔离行合计 Quarantined rows"] == "4"
    q = table_with(at, "reason")
    assert q.iloc[0]["rows"] == 4 and q.iloc[0]["reason"] == "unparseable date"


def test_loads_page_still_shows_loads_when_a_gate_failed(published_failed, open_page):
    at = open_page("loads")
    assert "客户匹配率 Customer match rate" in at.error[0].value  # the banner says so
    assert table_with(at, "reasons") is not None  # but load diagnostics stay visible


def test_loads_page_lists_acknowledged_files_apart_from_those_needing_attention(published,
                                                                                open_page):
    at = open_page("loads")
    assert list(table_with(at, "reasons")["path"]) == ["flow/D003/南京10月.xls"]
    acked = table_with(at, "acknowledged")
    assert list(acked["path"]) == ["flow/D004/far_cell.xlsx"]
    assert acked["acknowledged"].iloc[0] == "王芳: sender re-sent it as CSV"


def test_loads_page_lists_inbox_entries_not_read_and_why(published, open_page):
    at = open_page("loads")
    skipped = table_with(at, "seen_at")
    assert list(skipped["path"]) == ["flow/D001/~$D001_2026-10.xlsx"]
    assert "Excel lock file" in skipped["reason"].iloc[0]


def test_loads_page_labels_every_column_and_shows_gaps_as_dashes(published, open_page):
    at = open_page("loads")
    assert len(at.dataframe) >= 5
    assert_readable_tables(at)


def test_loads_page_late_table_shows_a_missing_distributor_with_dashes(published, open_page):
    """D003 sent nothing in October: no first-received time and no match rate (a dash each);
    D002 sent at 16:30 UTC on 14 November (00:30 on the 15th in Shanghai, the time shown) with
    88 % of its rows matched."""
    late = table_with(open_page("loads"), "problem").set_index("distributor_code")
    assert (late.loc["D003", "first_received_at"], late.loc["D003", "match_rate"]) == ("—", "—")
    assert late.loc["D002", "first_received_at"] == "2026-11-15 00:30"
    assert late.loc["D002", "match_rate"] == "88.0%"


def test_loads_page_names_the_file_and_rows_of_quarantined_rows(published, open_page):
    """Sales ops must find the rows to fix: the file's path and its row numbers (17 to 20 in
    flow/D001/D001_2026-10.csv), not only a reason and a count."""
    at = open_page("loads")
    q = table_with(at, "reason")
    row = q.iloc[0]
    assert row["path"] == "flow/D001/D001_2026-10.csv"
    assert row["source_rows"] == "17–20"


def test_row_ranges_join_runs_and_count_what_is_left_out():
    from dashboards.queries.loads import row_ranges

    assert row_ranges([31, 17, 18, 19, 20, 5]) == "5, 17–20, 31"
    assert row_ranges([None, 3]) == "3"
    assert row_ranges([]) == "—"
    assert row_ranges([1, 3, 5, 7], limit=2) == "1, 3, … +2 more"


def test_loads_page_shows_each_rejected_files_reasons_in_full(published, open_page):
    """The table cuts a long reason at the column's edge; the reason is what tells sales ops
    what to do, so each rejected file's reasons are also written out whole."""
    at = open_page("loads")
    written = " ".join(m.value for m in at.markdown)
    assert ("flow/D003/南京10月.xls" in written
            and "no recognisable header row: expected columns like 销售日期, 客户名称, 数量" in written)
    assert "far_cell" not in written  # acknowledged: no longer needs a person
