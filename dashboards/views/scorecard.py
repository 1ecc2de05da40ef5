"""经营周报 Executive scorecard: scorecard_weekly per region for one week, and the trend."""

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import access, connection, status
from dashboards.components import (METRIC_WIDTH, download_table, fmt_num, fmt_pct, fmt_yuan,
                                   metric_row, pct_column, percent_axis, plain, show_table,
                                   status_banner, territory_label, unavailable)
from dashboards.queries import scorecard

st.title("经营周报 Executive scorecard")
if status_banner(kpi_page=True) is None:
    st.stop()

try:
    weeks = scorecard.scorecard_weeks()
    default_week = scorecard.latest_complete_week()
except connection.DataUnavailable as exc:
    unavailable(exc)
    st.stop()
if not weeks:
    scope = access.access()
    if scope.restricted and scope.allowed:  # a rep or district manager: below any region
        st.info(f"周报按大区汇总，您的辖区 {plain(territory_label(scope.territory_id))} 不含整个大区 "
                "The scorecard is by region, and your territories cover no whole region: see "
                "指标浏览 KPI explorer for their coverage, achievement and calls.")
    else:
        st.info("本快照没有周报数据 No scorecard weeks in this snapshot.")
    st.stop()

completeness = scorecard.week_completeness()  # week → (days with data, whole week?)


def _week_label(w) -> str:
    days, whole = completeness.get(w, (7, True))
    return w.isoformat() if whole else f"{w.isoformat()} · 不完整周 partial week ({days}/7 days)"


week = st.selectbox("周（周一起）Week starting (Monday)", weeks,
                    index=weeks.index(default_week) if default_week in weeks else 0,
                    format_func=_week_label, key="week")
if not completeness.get(week, (7, True))[1]:
    st.warning(f"{week.isoformat()} 这一周只有 {completeness[week][0]}/7 天的流向数据 This week has "
               f"flow data for {completeness[week][0]} of its 7 days: its sell-out is not "
               "comparable with a whole week.", icon=":material/timelapse:")
rows = scorecard.scorecard(week)

failed = rows["data_status"].map(status.is_failed)
if failed.any():
    st.error("部分大区数据未通过质量门，数字不显示 Some regions' numbers failed the gates and are "
             "withheld: " + ", ".join(f"{plain(r.region_name)} ({plain(r.data_status)})"
                                      for r in rows[failed].itertuples()))
rows = rows[~failed]

STATUS = {"passed": "通过 passed", "failed": "未通过 failed", "unchecked": "未检查 unchecked"}


def _status(value) -> str:
    return STATUS.get(value, plain(value)) if isinstance(value, str) else "—"


for r in rows.itertuples():
    st.subheader(plain(r.region_name))
    box = metric_row()  # fifths of the page cut "¥1,234,567" to "¥12…" at 1024 px
    box.metric("流向销售额 Sell-out", fmt_yuan(r.sell_out_amount), width=METRIC_WIDTH,
               delta=fmt_pct(r.growth) + " YoY" if r.growth == r.growth else None)
    box.metric("去年同期 Sell-out LY", fmt_yuan(r.sell_out_amount_ly), width=METRIC_WIDTH)
    box.metric("月达成 MTD achievement", fmt_pct(r.mtd_achievement_rate), width=METRIC_WIDTH)
    box.metric("年达成 YTD achievement", fmt_pct(r.ytd_achievement_rate), width=METRIC_WIDTH)
    box.metric("覆盖率 Coverage", fmt_pct(r.coverage_rate), width=METRIC_WIDTH)
    box.metric("计划执行 Plan adherence", fmt_pct(r.plan_adherence), width=METRIC_WIDTH)
    box.metric("回收率 Flow received", fmt_pct(r.flow_completeness_rate), width=METRIC_WIDTH,
               help="流向回收率 Flow completeness: share of this region's distributors that "
                    "must send flow and sent it, for the month before the week's Sunday")
    box.metric("DOI超标 Distributors", fmt_num(r.distributors_over_doi_threshold),
               width=METRIC_WIDTH,
               help="库存天数超标的经销商数 Number of distributors holding more days of "
                    "inventory than the threshold, in the month before the week's Sunday")
    box.metric("数据状态 Data status", _status(r.data_status), width="content")

st.subheader("明细 Detail")
# one week's rows: its dates and as-of month are in the picker and the banner, the region's
# code in the download, its data status in its box above (here too when one is not passed);
# short headers, the full wording in their help: the table fits a 1440 px screen
shown_cols = ["region_name", "sell_out_amount", "sell_out_amount_ly", "growth",
              "mtd_achievement_rate", "ytd_achievement_rate", "coverage_rate", "plan_adherence",
              "flow_completeness_rate", "distributors_over_doi_threshold"]
if not rows["data_status"].map(status.is_passed).all():
    shown_cols.append("data_status")
show_table(
    rows.assign(data_status=rows["data_status"].map(_status))[shown_cols], key="scorecard_detail",
    config={
        "region_name": "大区 Region",
        "sell_out_amount": st.column_config.NumberColumn(
            "销售额 Sell-out", format="¥%,.0f", help="流向销售额 Sell-out amount of the week"),
        "sell_out_amount_ly": st.column_config.NumberColumn(
            "去年同期 LY", format="¥%,.0f", help="去年同期销售额 Sell-out, same week last year"),
        "growth": pct_column("同比 YoY", help="同比增长 Growth vs the same week last year"),
        "mtd_achievement_rate": pct_column("月达成 MTD", help="月度达成率 Month-to-date achievement"),
        "ytd_achievement_rate": pct_column("年达成 YTD", help="年度累计达成率 Year-to-date achievement"),
        "coverage_rate": pct_column("覆盖 Coverage", help="覆盖率 Coverage"),
        "plan_adherence": pct_column("计划 Plan", help="拜访计划执行率 Call plan adherence"),
        "flow_completeness_rate": pct_column("回收 Flow", help="流向回收率 Flow completeness"),
        "distributors_over_doi_threshold": st.column_config.NumberColumn(
            "DOI超标 Over DOI", help="库存天数超标的经销商数 Distributors holding more days of "
                                    "inventory than the threshold"),
        "data_status": "数据状态 Status",
    })

download_table(rows, f"scorecard-{week.isoformat()}", "scorecard_dl")

st.subheader("趋势 Trend")
trend = scorecard.scorecard()
trend = trend[~trend["data_status"].map(status.is_failed)]
TREND_LABELS = {"sell_out_amount": "流向销售额 Sell-out (¥)",
                "mtd_achievement_rate": "月达成 MTD achievement",
                "coverage_rate": "覆盖率 Coverage",
                "plan_adherence": "计划执行 Plan adherence",
                "flow_completeness_rate": "流向回收率 Flow completeness"}
metric = st.radio("指标 Metric", list(TREND_LABELS), format_func=TREND_LABELS.get,
                  horizontal=True, key="trend_metric")
partial = trend["week_start"].map(lambda w: not completeness.get(
    pd.Timestamp(w).date(), (7, True))[1])
if partial.any():
    left_out = sorted({_week_label(pd.Timestamp(w).date()) for w in trend.loc[partial, "week_start"]})
    show_partial = st.checkbox("显示不完整周 Show partial weeks (marked ○)", key="show_partial")
    st.caption("不完整周未计入趋势 Partial weeks (flow covers only some of their days) are "
               + ("shown as open circles: " if show_partial else "left out: ")
               + "; ".join(left_out))
    if not show_partial:
        trend = trend[~partial]
        partial = partial[~partial]
trend = trend.assign(week=partial.map({True: "不完整 partial", False: "完整 whole"}))
# the whole/partial marker only when partial weeks are drawn: else the legend reads
# "华东大区, 完整 whole" for every region
fig = px.line(trend, x="week_start", y=metric, color="region_name", markers=True,
              symbol="week" if partial.any() else None,
              symbol_map={"完整 whole": "circle", "不完整 partial": "circle-open"},
              labels={"week_start": "周 Week", "region_name": "大区 Region", "week": "周 Week",
                      metric: TREND_LABELS[metric]})
if metric != "sell_out_amount":
    percent_axis(fig)
st.plotly_chart(fig, width="stretch")
