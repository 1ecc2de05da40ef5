"""数据质量 Data quality: gate results of the published snapshot, failing checks, last good
publish, and the trend over runs."""

import plotly.express as px
import streamlit as st

from dashboards import connection, status
from dashboards.components import (METRIC_WIDTH, company_wide_page, download_table, metric_row,
                                   plain, show_table)
from dashboards.formats import local_time
from dashboards.queries import data_quality

# the quality package's words (quality.checks, quality.gates) with their Chinese beside them
GATE = {"passed": "通过 passed", "failed": "未通过 failed", "unknown": "未知 unknown"}
SEVERITY = {"blocking": "阻断 blocking", "warning": "警告 warning"}
RESULT = {"pass": "通过 pass", "fail": "未通过 fail", "error": "出错 error",
          "skipped": "跳过 skipped"}


def _worded(df):
    """severity and status in both languages (unknown words as written); each check named in
    words first (status.gate_title), its code kept beside it for gates.yml and the logs."""
    descriptions = df["description"] if "description" in df else [None] * len(df)
    titles = [status.gate_title(name, d) for name, d in zip(df["check_name"], descriptions,
                                                              strict=True)]
    out = df.assign(**{c: df[c].map(lambda v, w=words: w.get(v, v))
                       for c, words in (("severity", SEVERITY), ("status", RESULT))
                       if c in df})
    out.insert(0, "check_title", titles)
    return out


st.title("数据质量 Data quality")
s = company_wide_page(False, "质量门详情仅对全部辖区用户开放 Gate details are shown to users who "
                             "see every territory.")

c = metric_row()
c.metric("质量门 Gate status", GATE.get(str(s.get("gate_status")), plain(s.get("gate_status"))),
         width="content")
c.metric("阻断失败 Blocking failures", len(s["blocking_failures"]), width=METRIC_WIDTH)
ZONE = connection.get_settings().time_zone  # times as people here read them (audit keeps UTC)
c.metric("最近发布 Last publish", local_time(s.get("published_at"), ZONE), width="content")

gates = data_quality.gate_results(run_id=s.get("run_id"))
st.subheader(f"本快照的检查 Checks of this snapshot (run {plain(s.get('run_id') or '—')})")
if gates.empty:
    st.info("本快照没有质量门结果 No gate results in this snapshot.")
else:
    failing = gates[gates["status"].map(status.is_failed)]
    if failing.empty:
        st.success("全部检查通过 Every check passed.")
    else:
        st.markdown("**未通过的检查 Failing checks**")
        if not failing["severity"].eq("blocking").any():
            st.caption("都是警告：不阻止发布，数字照常显示 All are warnings: they do not block "
                       "publishing, and the pages show the numbers.")
        # the sample (JSON rows) is in "All checks" and its download: here the room goes to
        # what failed and why, so titles and codes are read, not guessed from their first word
        show_table(_worded(failing)[["check_title", "check_name", "severity", "status",
                                     "failing_rows", "message"]],
                   {"check_title": st.column_config.TextColumn("检查 Check", width=210),
                    "check_name": st.column_config.TextColumn("代码 Code", width=170),
                    "severity": st.column_config.TextColumn("级别 Severity", width=95),
                    "status": st.column_config.TextColumn("结果 Status", width=95),
                    "failing_rows": st.column_config.NumberColumn("失败行 Failing rows",
                                                                  width=110),
                    "message": st.column_config.TextColumn("说明 Message", width=270)},
                   key="failing_table")
    with st.expander("全部检查 All checks", expanded=failing.empty):
        show_table(_worded(gates), {"run_id": "检查运行 Gate run", "check_title": "检查 Check",
                           "check_name": "代码 Code",
                           "severity": "级别 Severity", "status": "结果 Status",
                           "failing_rows": "失败行 Failing rows",
                           "message": "说明 Message", "sample": "样例 Sample",
                           "checked_at": "检查时间 Checked at", "check_type": "类型 Type",
                           "description": "检查内容 Description", "seconds": "耗时(秒) Seconds"},
                   key="gates_table")
        download_table(gates, "gate-results", "gates_dl")

st.subheader("发布记录 Publish history")
hist = data_quality.publish_history()
if hist.empty:
    st.info("无发布记录 No publish history in this snapshot.")
else:
    good = hist[hist["gate_status"].map(status.is_passed)]
    if len(good):
        g = good.iloc[0]
        st.caption(f"最近一次通过的发布 Last good publish: {plain(g['snapshot_id'])} at "
                   f"{plain(local_time(g['published_at'], ZONE))} "
                   f"(as of {plain(g['as_of_month'])})")
    # source_db is the working file's path on the server: not for readers
    show_table(hist.drop(columns=["source_db"], errors="ignore").assign(
                   gate_status=hist["gate_status"].map(lambda v: GATE.get(v, v)),
                   published_at=hist["published_at"].map(lambda t: local_time(t, ZONE, False))),
               # widths fixed: ids as `sfe publish` writes them sized the columns past the
               # ~980 px of a 1440 px screen, and the last column scrolled out of sight
               {"snapshot_id": st.column_config.TextColumn("快照 Snapshot", width=180),
                "published_at": st.column_config.TextColumn(f"发布 Published ({ZONE})",
                                                            width=150),
                "run_id": st.column_config.TextColumn("检查运行 Gate run", width=170),
                "gate_status": st.column_config.TextColumn("质量门 Gates", width=90),
                "as_of_month": st.column_config.TextColumn("数据截至 As of month", width=110),
                "as_of_date": st.column_config.TextColumn("数据截至 As of date", width=110),
                "warnings": st.column_config.NumberColumn("警告 Warnings", width=90)},
               key="publish_table",
               days=("as_of_date",))
refused = s.get("last_refused")
if refused:
    st.warning(f"最近一次被拒绝的发布 Last refused publish: {plain(refused)}")

trend = data_quality.gate_trend()
if len(trend) > 1:
    st.subheader("趋势 Trend")
    trend = trend.rename(columns={"failed": "失败 Failed", "blocking_failed": "阻断失败 Blocking"})
    fig = px.bar(trend, x="run_id", y=["失败 Failed", "阻断失败 Blocking"], barmode="group",
                 hover_data=["checked_at", "checks"],
                 labels={"run_id": "检查运行 Gate run", "value": "失败检查数 Failed checks",
                         "variable": ""})
    fig.update_yaxes(dtick=1)
    st.plotly_chart(fig, width="stretch", key="gate_trend")
