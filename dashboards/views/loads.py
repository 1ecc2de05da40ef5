"""数据加载 Loads: file status, late distributors, rejected files and reasons, quarantine."""

import streamlit as st

from dashboards import connection
from dashboards.components import (company_wide_page, download_table, metric_row, pct_column,
                                   plain, readable, show_table, unavailable)
from dashboards.queries import loads
from dashboards.upload_form import upload_section

DATES = {
    "period_start": st.column_config.DateColumn("期间起 From", format="YYYY-MM-DD"),
    "period_end": st.column_config.DateColumn("期间止 To", format="YYYY-MM-DD"),
    "received_at": st.column_config.DatetimeColumn("收到 Received", format="YYYY-MM-DD HH:mm"),
    "loaded_at": st.column_config.DatetimeColumn("加载 Loaded", format="YYYY-MM-DD HH:mm"),
    "first_received_at": st.column_config.DatetimeColumn("首次收到 First received",
                                                         format="YYYY-MM-DD HH:mm"),
}
# every column of audit.file_registry the page shows, in both languages
# (file names and reasons get a fixed width, cut at its edge: the tables fit a 1440 px screen;
# reasons are written out whole below the rejected files, every column is in the downloads)
FILE_COLUMNS = {
    "file_id": "文件编号 File ID", "path": st.column_config.TextColumn("文件 File", width=220),
    "source": "类型 Source",
    "entity": "数据类别 Entity", "distributor_code": "经销商 Distributor", "status": "状态 Status",
    "rows_read": "读取行 Rows read", "rows_loaded": "加载行 Loaded",
    "rows_quarantined": "隔离行 Quarantined",
    "reasons": st.column_config.TextColumn("原因 Reasons", width=290),
    "duplicate_of": "重复于 Duplicate of", "superseded_by": "被替代于 Superseded by",
    "conflict_with": "冲突于 Conflicts with", "run_id": "运行 Run",
    "acknowledged": "确认人及原因 By, why", **DATES,
}
STATUS = {"loaded": "已加载 Loaded", "partial": "部分 Partial", "rejected": "拒绝 Rejected",
          "duplicate": "重复 Duplicate", "superseded": "被替代 Superseded",
          "conflict": "冲突 Conflict"}


def _files_shown(df):
    """File-registry rows as read: statuses in both languages, gaps blank, dates as dates."""
    df = df.assign(status=df["status"].map(lambda s: STATUS.get(s, s))) if "status" in df else df
    return readable(df, FILE_COLUMNS, days=("period_start", "period_end"),
                    zone=connection.get_settings().time_zone)

st.title("数据加载 Loads")
company_wide_page(False, "数据加载信息仅对全部辖区用户开放 Load details are shown to users who see "
                         "every territory.")

try:
    files = loads.file_registry()
except connection.DataUnavailable as exc:
    unavailable(exc)
    files = None

if files is not None:
    counts = files["status"].value_counts()
    order = list(STATUS)
    labels = STATUS
    c = metric_row()  # sixths of a 1024 px page cut '被替代 Superseded' to '被替代 Supe…'
    acked_count = int(files["acknowledged"].notna().sum()) if "acknowledged" in files else 0
    for status in order:  # rejected: those that still need a person
        c.metric(labels[status], int(counts.get(status, 0)) - (
            acked_count if status == "rejected" else 0), width="content")

    st.subheader("被拒绝的文件 Rejected files")
    held = files[files["status"].isin(["rejected", "conflict"])]
    acked = held["acknowledged"].notna() if "acknowledged" in held else held["status"].isna()
    rejected = held[~acked]
    if rejected.empty:
        st.success("没有待处理的被拒绝文件 No rejected files need attention.")
    else:
        table, config = _files_shown(rejected[[c for c in (
            "path", "source", "distributor_code", "status", "reasons", "loaded_at")
            if c in rejected]])
        st.dataframe(table, hide_index=True, key="rejected_table", column_config=config)
        # the grid cuts a long reason at the column's edge, and the reason says what to do
        with st.expander("原因全文 Full reasons", expanded=len(rejected) <= 10):
            for r in rejected.itertuples():
                st.markdown(f"- **{plain(r.path)}** — {plain(r.reasons or '—')}")
    if acked.any():
        st.caption("已确认忽略的文件 Acknowledged: rejected files a person set aside "
                   "(file_decisions.yaml `ignore`); they no longer fail runs")
        table, config = _files_shown(held[acked][["path", "acknowledged", "reasons"]])
        st.dataframe(table, hide_index=True, key="acknowledged_table", column_config=config)

st.subheader("迟交/未交流向 Late or missing flow")
try:
    months = connection.months("kpi_flow_completeness")
    month = st.selectbox("月份 Month", months, key="month")
    late = loads.late_distributors(month)
    if late.empty:
        st.success("所有经销商按时提交 Every expected distributor sent its flow on time.")
    else:
        show_table(late[["distributor_code", "distributor_name", "problem", "first_received_at",
                         "rows", "match_rate"]],
                   {"distributor_code": "经销商代码 Code", "distributor_name": "经销商 Distributor",
                    "problem": "问题 Problem",
                    "first_received_at": DATES["first_received_at"], "rows": "行数 Rows",
                    "match_rate": pct_column("匹配率 Match rate")},
                   key="late_table")
    st.caption("按大区流向回收率 Flow completeness by region (全国 = 各大区合计 Nation = sum of regions)")
    by_region = loads.flow_completeness_by_region(month)
    show_table(by_region[["region_name", "expected", "received", "completeness_rate",
                          "on_time", "on_time_rate", "match_rate"]],
               {"region_name": "大区 Region",
                "expected": "应交经销商 Distributors expected",
                "received": "已交 Sent", "on_time": "按时交 Sent on time",
                "completeness_rate": pct_column("流向回收率 Completeness"),
                "on_time_rate": pct_column("按时率 On-time rate"),
                "match_rate": pct_column("匹配率 Match rate")},
               key="region_completeness_table")
except connection.DataUnavailable as exc:
    unavailable(exc)

st.subheader("隔离行 Quarantined rows")
q = loads.quarantine_counts()
if q.empty:
    st.success("没有隔离行 No quarantined rows.")
else:
    st.metric("隔离行合计 Quarantined rows", f"{int(q['rows'].sum()):,}")
    show_table(q.dropna(axis="columns", how="all"),  # no sheet column for CSV files only
               {"reason": st.column_config.TextColumn("原因 Reason", width=220),
                "rows": "行数 Rows",
                "distributor_code": "经销商 Distributor", "source": "类型 Source",
                "path": st.column_config.TextColumn("文件 File", width=200),
                "sheet": "工作表 Sheet",
                "source_rows": st.column_config.TextColumn("文件中的行号 Rows in the file",
                                                           width=170)},
               key="quarantine_table")
    download_table(q, "quarantine", "quarantine_dl")

if files is not None:
    st.subheader("全部文件 All files")
    statuses = st.multiselect("状态 Status", sorted(files["status"].dropna().unique()),
                              format_func=lambda s: STATUS.get(s, s), key="status_filter")
    shown = files[files["status"].isin(statuses)] if statuses else files
    # what a file is and what became of it; ids, runs, reasons and links in the download
    table, config = _files_shown(shown[[c for c in (
        "path", "distributor_code", "status", "period_start", "period_end", "rows_loaded",
        "rows_quarantined", "loaded_at") if c in shown]])
    st.dataframe(table, hide_index=True, key="files_table", column_config=config)
    download_table(shown, "files", "files_dl")

st.subheader("未读取的文件 Not read, by rule")
skipped = loads.inbox_skipped()
if skipped.empty:
    st.success("收件箱中的每个文件都已读取 Every file in the inbox was read.")
else:
    show_table(skipped, {"path": "文件或文件夹 File or folder", "reason": "原因 Why",
                         "seen_at": "检查时间 Seen"}, key="skipped_table")

st.subheader("上传流向文件 Upload a flow file")
upload_section()
