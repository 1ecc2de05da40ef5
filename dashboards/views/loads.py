"""数据加载 Loads: file status, late distributors, rejected files and reasons, quarantine."""

import streamlit as st

from dashboards import data
from dashboards.components import company_wide_page, download_table, unavailable
from dashboards.upload_form import upload_section

DATES = {
    "period_start": st.column_config.DateColumn("期间起 From", format="YYYY-MM-DD"),
    "period_end": st.column_config.DateColumn("期间止 To", format="YYYY-MM-DD"),
    "received_at": st.column_config.DatetimeColumn("收到 Received", format="YYYY-MM-DD HH:mm"),
    "loaded_at": st.column_config.DatetimeColumn("加载 Loaded", format="YYYY-MM-DD HH:mm"),
    "first_received_at": st.column_config.DatetimeColumn("首次收到 First received",
                                                         format="YYYY-MM-DD HH:mm"),
}

st.title("数据加载 Loads")
company_wide_page(False, "数据加载信息仅对全部辖区用户开放 Load details are shown to users who see "
                         "every territory.")

try:
    files = data.file_registry()
except data.DataUnavailable as exc:
    unavailable(exc)
    files = None

if files is not None:
    counts = files["status"].value_counts()
    order = ["loaded", "partial", "rejected", "duplicate", "superseded", "conflict"]
    labels = {"loaded": "已加载 Loaded", "partial": "部分 Partial", "rejected": "拒绝 Rejected",
              "duplicate": "重复 Duplicate", "superseded": "被替代 Superseded",
              "conflict": "冲突 Conflict"}
    c = st.columns(len(order))
    for col, status in zip(c, order):
        col.metric(labels[status], int(counts.get(status, 0)))

    st.subheader("被拒绝的文件 Rejected files")
    rejected = files[files["status"].isin(["rejected", "conflict"])]
    if rejected.empty:
        st.success("没有被拒绝的文件 No rejected files.")
    else:
        st.dataframe(rejected[[c for c in ("path", "source", "distributor_code", "status",
                                          "reasons", "loaded_at") if c in rejected]],
                     hide_index=True, key="rejected_table",
                     column_config={"path": "文件 File", "reasons": "原因 Reasons",
                                    "distributor_code": "经销商 Distributor", **DATES})

st.subheader("迟交/未交流向 Late or missing flow")
try:
    months = data.months("kpi_flow_completeness")
    month = st.selectbox("月份 Month", months, key="month")
    late = data.late_distributors(month)
    if late.empty:
        st.success("所有经销商按时提交 Every expected distributor sent its flow on time.")
    else:
        st.dataframe(late[["distributor_code", "problem", "first_received_at", "rows",
                           "match_rate"]],
                     hide_index=True, key="late_table",
                     column_config={"distributor_code": "经销商 Distributor",
                                    "problem": "问题 Problem",
                                    "first_received_at": DATES["first_received_at"],
                                    "rows": "行数 Rows",
                                    "match_rate": st.column_config.NumberColumn(
                                        "匹配率 Match rate", format="percent")})
except data.DataUnavailable as exc:
    unavailable(exc)

st.subheader("隔离行 Quarantined rows")
q = data.quarantine_counts()
if q.empty:
    st.success("没有隔离行 No quarantined rows.")
else:
    st.metric("隔离行合计 Quarantined rows", f"{int(q['rows'].sum()):,}")
    st.dataframe(q, hide_index=True, key="quarantine_table",
                 column_config={"reason": "原因 Reason", "rows": "行数 Rows",
                                "distributor_code": "经销商 Distributor", "source": "来源 Source"})
    download_table(q, "quarantine", "quarantine_dl")

if files is not None:
    st.subheader("全部文件 All files")
    statuses = st.multiselect("状态 Status", sorted(files["status"].dropna().unique()),
                              key="status_filter")
    shown = files[files["status"].isin(statuses)] if statuses else files
    st.dataframe(shown, hide_index=True, key="files_table",
                 column_config={"path": "文件 File", "status": "状态 Status",
                                "reasons": "原因 Reasons", **DATES})
    download_table(shown, "files", "files_dl")

st.subheader("上传流向文件 Upload a flow file")
upload_section()
