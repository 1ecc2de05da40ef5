"""指标浏览 KPI explorer: coverage, achievement, calls and activity ROI by territory, rep,
product and month, drilling down the territory hierarchy (region → district → territory)."""

import plotly.express as px
import streamlit as st

from dashboards import connection
from dashboards.components import (METRIC_WIDTH, download_table, fmt_pct, fmt_yuan,
                                   metric_row, pct_column, percent_axis, plain, show_table,
                                   status_banner, unavailable)
from dashboards.queries import kpi_explorer

st.title("指标浏览 KPI explorer")
if status_banner(kpi_page=True) is None:
    st.stop()

DEPTH_LABEL = {0: "全国 Nation", 1: "大区 Region", 2: "地区 District", 3: "辖区 Territory"}
DEPTH_ID = {0: "编码 ID", 1: "大区编码 Region ID", 2: "地区编码 District ID",
            3: "辖区编码 Territory ID"}
# a count of rows at a level: (Chinese measure word and noun, English singular, plural)
DEPTH_COUNT = {0: ("个全国", "nation", "nations"), 1: ("个大区", "region", "regions"),
               2: ("个地区", "district", "districts"), 3: ("个辖区", "territory", "territories")}
ALL = "__all__"

try:
    terr = kpi_explorer.territories()
    month_list = connection.months("kpi_coverage")
    products = kpi_explorer.own_products()
except connection.DataUnavailable as exc:
    unavailable(exc)
    st.stop()
names = dict(zip(terr["territory_id"], terr["name"]))

# -- filters: month, product, drill path ---------------------------------------------------------
f = st.columns([1, 2])
month = f[0].selectbox("月份 Month", month_list, key="month")
product_labels = {ALL: "全部自有产品 All own products",
                  **dict(zip(products["product_id"], products["label"]))}
product = f[1].selectbox("产品 Product", list(product_labels), key="product",
                         format_func=product_labels.get)
product_id = None if product == ALL else product

st.markdown("**下钻 Drill down**")
drill_cols = st.columns(3)
parent = None
level = kpi_explorer.children(None)
while len(level) == 1 and not kpi_explorer.children(level["territory_id"].iloc[0]).empty:
    parent = level["territory_id"].iloc[0]  # a user who sees one territory starts inside it
    level = kpi_explorer.children(parent)
for i in range(3):
    if level.empty:
        break
    depth = int(level["depth"].iloc[0])
    ids = list(level["territory_id"])
    choice = drill_cols[i].selectbox(
        DEPTH_LABEL.get(depth, "Territory"), [ALL, *ids], key=f"drill_{depth}",
        format_func=lambda t: "全部 All" if t == ALL else f"{names.get(t, t)}")
    if choice == ALL:
        break
    parent = choice
    level = kpi_explorer.children(choice)

rows_ids = list(level["territory_id"]) if not level.empty else ([parent] if parent else [])
if parent is not None:
    head_ids = [parent]
else:
    top = terr[terr["depth"] == 0]
    head_ids = list(top["territory_id"]) if len(top) == 1 else rows_ids
head_name = " + ".join(names.get(t, t) for t in head_ids) if head_ids else "—"
scope_ids = kpi_explorer.subtree(parent)


def _depth(ids) -> int:
    """The level of these nodes in dim_territory (the shallowest; 3 = territory if unknown)."""
    depths = terr.loc[terr["territory_id"].isin(list(ids)), "depth"]
    return int(depths.min()) if len(depths) else 3


ROWS_DEPTH, HEAD_DEPTH = _depth(rows_ids), _depth(head_ids)
ROWS_LABEL = DEPTH_LABEL.get(ROWS_DEPTH, DEPTH_LABEL[3])  # the rows' level: 大区 Region, …
HEAD_LABEL = DEPTH_LABEL.get(HEAD_DEPTH, DEPTH_LABEL[3])
zh, one, many = DEPTH_COUNT.get(ROWS_DEPTH, DEPTH_COUNT[3])
st.caption(f"当前节点 Current: **{plain(head_name)}** · 显示 {len(rows_ids)} {zh} "
           f"Showing {len(rows_ids)} {one if len(rows_ids) == 1 else many}")


def _named(df):
    df = df.copy()
    df.insert(1, "territory_name", df["territory_id"].map(names).fillna(df["territory_id"]))
    return df


cov_tab, ach_tab, call_tab, roi_tab = st.tabs(
    ["覆盖率 Coverage", "达成率 Achievement", "拜访 Calls", "活动ROI Activity ROI"])

PAIRS = product_id is None  # all products: the marts count customer × product pairs
# what the two counts are, in full (help of the metric boxes and the table's headers)
COV_HELP = {
    "target_customers": "目标客户×产品 Target customer × product pairs" if PAIRS
    else "目标客户 Target customers",
    "covered_customers": "覆盖客户×产品 Covered customer × product pairs" if PAIRS
    else "覆盖客户 Covered customers (bought the product)",
}
# short enough for a metric box (the long ones were cut: '目标客户×产品 Target cus…')
COV_LABELS = {
    "target_customers": "目标客户×产品 Targets" if PAIRS else "目标客户 Targets",
    "covered_customers": "覆盖客户×产品 Covered" if PAIRS else "覆盖客户 Covered",
}
# the table's headers, shorter still: it fits a 1440 px screen
COV_COLUMNS = {
    "target_customers": st.column_config.NumberColumn("目标 Targets", format="%,d",
                                                      help=COV_HELP["target_customers"]),
    "covered_customers": st.column_config.NumberColumn("已覆盖 Covered", format="%,d",
                                                       help=COV_HELP["covered_customers"]),
}
MONEY = "¥%,.0f"
ACH_CONFIG = {
    "territory_name": ROWS_LABEL, "product_id": "产品 Product",
    "target_amount": st.column_config.NumberColumn("指标 Target", format=MONEY),
    "actual_amount": st.column_config.NumberColumn("实际 Actual", format=MONEY),
    "achievement_rate": pct_column("达成率 Achievement"),
    "ytd_target_amount": st.column_config.NumberColumn("年累计指标 YTD target", format=MONEY),
    "ytd_actual_amount": st.column_config.NumberColumn("年累计实际 YTD actual", format=MONEY),
    "ytd_achievement_rate": pct_column("年累计达成 YTD achievement"),
}


def _one_row(df):
    """The head node's own row (a mart roll-up), or None when several nodes are at the top."""
    return df.iloc[0] if len(head_ids) == 1 and len(df) == 1 else None


with cov_tab:
    head = kpi_explorer.coverage(month, head_ids, product_id)
    row = _one_row(head)
    if row is not None:
        c = metric_row()
        c.metric("覆盖率 Coverage", fmt_pct(row["coverage_rate"]), width=METRIC_WIDTH)
        c.metric(COV_LABELS["target_customers"], f"{int(row['target_customers']):,}",
                 width=METRIC_WIDTH, help=COV_HELP["target_customers"])
        c.metric(COV_LABELS["covered_customers"], f"{int(row['covered_customers']):,}",
                 width=METRIC_WIDTH, help=COV_HELP["covered_customers"])
    if PAIRS:
        st.caption("全部产品时按 客户×产品 计数 With all products, a customer targeted for two "
                   "products counts twice (customer × product pairs).")
    cov = _named(kpi_explorer.coverage(month, rows_ids, product_id))
    show_table(cov.drop(columns=["month", "product_id"], errors="ignore"), key="coverage_table",
               config={"territory_id": DEPTH_ID.get(ROWS_DEPTH, DEPTH_ID[3]),
                       "territory_name": ROWS_LABEL, **COV_COLUMNS,
                       "coverage_rate": pct_column("覆盖率 Coverage", progress=True)})
    download_table(cov, f"coverage-{month}", "coverage_dl")
    if len(head_ids) == 1:
        by_product = kpi_explorer.coverage(month, head_ids, product_id, by="product_id")
        if len(by_product) > 1:
            st.markdown(f"**按产品 By product · {plain(head_name)}**")
            show_table(by_product.drop(columns=["month", "territory_id"]).assign(
                product_id=by_product["product_id"].map(product_labels)
                .fillna(by_product["product_id"])),
                key="coverage_products",
                config={"product_id": "产品 Product",
                        "target_customers": "目标客户 Target customers",
                        "covered_customers": "覆盖客户 Covered customers",
                        "coverage_rate": pct_column("覆盖率 Coverage")})
    trend = _named(kpi_explorer.coverage(None, rows_ids, product_id))
    if len(trend):
        fig = px.line(trend, x="month", y="coverage_rate", color="territory_name", markers=True,
                      labels={"month": "月份 Month", "coverage_rate": "覆盖率 Coverage",
                              "territory_name": ROWS_LABEL})
        percent_axis(fig)
        fig.update_xaxes(type="category")  # months are labels, not dates
        basis = kpi_explorer.coverage_target_basis()
        starts = basis[basis["is_grading_start"].fillna(False).astype(bool)
                       & basis["month"].isin(set(trend["month"]))]
        for b in starts.itertuples():
            fig.add_vline(x=b.month, line_dash="dash", line_color="#888")
            fig.add_annotation(x=b.month, yref="paper", y=1.0, showarrow=False, xanchor="left",
                               text=f"目标名单改为分级 targets from grades ({b.grade_quarter})")
        st.plotly_chart(fig, width="stretch", key="coverage_trend")
        for b in starts.itertuples():
            st.caption(f"{plain(b.month)} 起目标客户由 ABCD 分级决定 From {plain(b.month)} the "
                       f"target customers are the A-C graded ones of {plain(b.grade_quarter)}; "
                       "before, the 三甲/三乙 hospitals and pharmacies. Coverage on either side "
                       "of the line counts a different list.")

with ach_tab:
    try:
        head = kpi_explorer.achievement(month, head_ids, product_id)
        row = _one_row(head)
        if row is not None:
            c = metric_row()
            c.metric("达成率 Achievement", fmt_pct(row["achievement_rate"]), width=METRIC_WIDTH)
            c.metric("实际 Actual", fmt_yuan(row["actual_amount"]), width=METRIC_WIDTH)
            c.metric("指标 Target", fmt_yuan(row["target_amount"]), width=METRIC_WIDTH)
            c.metric("年累计达成 YTD", fmt_pct(row["ytd_achievement_rate"]),
                     width=METRIC_WIDTH, help="年累计达成 Year-to-date achievement")
        ach = _named(kpi_explorer.achievement(month, rows_ids, product_id))
        show_table(ach.drop(columns=["month", "territory_id", "product_id"], errors="ignore"),
                   key="achievement_table", config=ACH_CONFIG)
        download_table(ach, f"achievement-{month}", "achievement_dl")
        if len(ach):
            bars = ach.rename(columns={"target_amount": "指标 Target", "actual_amount": "实际 Actual"})
            fig = px.bar(bars, x="territory_name", y=["指标 Target", "实际 Actual"],
                         barmode="group", labels={"territory_name": ROWS_LABEL,
                                                  "value": "金额 Amount (¥)", "variable": ""})
            st.plotly_chart(fig, width="stretch", key="achievement_bar")
        if len(head_ids) == 1:
            by_product = kpi_explorer.achievement(month, head_ids, product_id, by="product_id")
            if len(by_product) > 1:
                st.markdown(f"**按产品 By product · {plain(head_name)}**")
                show_table(by_product[["product_id", "target_amount", "actual_amount",
                                       "achievement_rate"]].assign(
                    product_id=by_product["product_id"].map(product_labels)
                    .fillna(by_product["product_id"])), key="achievement_products",
                    config=ACH_CONFIG)
        exp = _named(kpi_explorer.expense_ratio(month, rows_ids))
        if len(exp):
            st.markdown("**费用率 Expense ratio**")
            show_table(exp.drop(columns=["month", "territory_id"]), key="expense_table",
                       config={"territory_name": ROWS_LABEL,
                               "cost": st.column_config.NumberColumn(
                                   "活动费用 Activity cost", format=MONEY),
                               "sell_out_amount": st.column_config.NumberColumn(
                                   "流向销售额 Sell-out", format=MONEY),
                               "expense_ratio": pct_column("费用率 Expense ratio")})
    except connection.DataUnavailable as exc:
        unavailable(exc)

GRADE_LABEL = {"A": "A 级", "B": "B 级", "C": "C 级", "D": "D 级",
               "ungraded": "未分级 Ungraded (before the first graded quarter)"}
# short headers, the full wording in their help: the tables fit a 1440 px screen
CALL_COLUMNS = {
    "territory_name": "辖区 Territory",
    "reps": st.column_config.NumberColumn("代表 Reps", help="代表数 Number of reps"),
    "target_hcps": st.column_config.NumberColumn(
        "目标 Targets", help="目标医生 Target HCPs, counted per rep × HCP"),
    "reached_hcps": st.column_config.NumberColumn(
        "已拜访 Reached", help="已拜访的目标医生 Target HCPs called on at least once"),
    "calls": st.column_config.NumberColumn("拜访 Calls", help="拜访次数 Calls"),
    "planned_calls": st.column_config.NumberColumn("计划 Planned",
                                                   help="计划拜访 Planned calls"),
    "reach_rate": pct_column("覆盖 Reach", help="目标医生覆盖 Share of target HCPs reached"),
    "frequency": st.column_config.NumberColumn("频次 Frequency", format="%.1f",
                                               help="每位已拜访医生的拜访次数 Calls per reached HCP"),
    "plan_adherence": pct_column("计划执行 Adherence", help="计划执行 Call plan adherence"),
    "report_on_time_rate": pct_column("及时 On time",
                                      help="24小时内提交 Share of calls reported within 24 h"),
}

with call_tab:
    try:
        totals = _named(kpi_explorer.call_activity_totals(month, head_ids))
        if len(totals) == 1:  # one node: its roll-up row from the mart, not re-averaged here
            t = totals.iloc[0]
            c = metric_row()
            c.metric("拜访次数 Calls", f"{int(t['calls']):,}", width=METRIC_WIDTH)
            c.metric("目标医生覆盖 Reach", fmt_pct(t["reach_rate"]), width=METRIC_WIDTH,
                     help="目标医生覆盖 Share of target HCPs reached")
            c.metric("计划执行 Plan adherence", fmt_pct(t["plan_adherence"]), width=METRIC_WIDTH)
            c.metric("及时提交 On time", fmt_pct(t["report_on_time_rate"]), width=METRIC_WIDTH,
                     help="24小时内提交 Share of calls reported within 24 h")
        elif len(totals):
            show_table(totals.drop(columns=["month", "territory_id"]), key="calls_totals",
                       config={**CALL_COLUMNS, "territory_name": HEAD_LABEL})
        else:
            st.info(f"{plain(month)} 没有拜访数据 No call data for this month and territory.")
        by_grade = _named(kpi_explorer.call_activity_by_grade(month, head_ids))
        if len(by_grade):
            st.markdown(f"**按客户分级 By customer grade (A/B/C/D) · {plain(head_name)}**")
            st.caption("客户分级来自上一季度的 ABCD 评级 Grades are the customers' ABCD grades of the "
                       "last quarter ended before the month; targets and plan as below.")
            shown_grades = by_grade.assign(grade=by_grade["grade"].map(GRADE_LABEL)
                                           .fillna(by_grade["grade"]))
            cols = ["grade", "reps", "target_hcps", "reached_hcps", "calls", "planned_calls",
                    "reach_rate", "frequency", "plan_adherence"]
            if len(head_ids) > 1:
                cols.insert(0, "territory_name")
            show_table(shown_grades[cols], key="calls_by_grade",
                       config={"grade": "客户分级 Customer grade", **CALL_COLUMNS,
                               "territory_name": HEAD_LABEL})
            download_table(shown_grades[cols], f"calls-by-grade-{month}", "calls_grade_dl")
        calls = _named(kpi_explorer.call_activity(month, scope_ids))
        st.markdown("**按代表 By rep**")
        # rep: name (id); planned calls and the rates' numerators (calls on targets, within
        # plan, on time) are in the download; a long territory name is cut (1440 px)
        shown_calls = calls.drop(columns=["month", "territory_id", "rep_id", "planned_calls",
                                          "calls_on_targets", "adherent_calls",
                                          "calls_reported_on_time"], errors="ignore")
        show_table(shown_calls[["rep", *shown_calls.columns.drop("rep")]], key="calls_table",
                   config={"rep": "代表 Rep", **CALL_COLUMNS, "territory_name":
                           st.column_config.TextColumn("辖区 Territory", width=150)})
        download_table(calls, f"calls-{month}", "calls_dl")
    except connection.DataUnavailable as exc:
        unavailable(exc)

ACTIVITY_TYPES = {"academic_meeting": "学术会议 Academic meeting",
                  "department_meeting": "科室会 Department meeting",
                  "sponsorship": "赞助 Sponsorship", "other": "其他 Other"}

ROI_CONFIG = {
    "cost": st.column_config.NumberColumn("费用 Cost", format=MONEY),
    "pre_amount": st.column_config.NumberColumn("活动前 Sell-out before", format=MONEY),
    "post_amount": st.column_config.NumberColumn("活动后 Sell-out after", format=MONEY),
    "incremental_amount": st.column_config.NumberColumn("增量 Incremental", format=MONEY),
    "roi": st.column_config.NumberColumn("ROI", format="%.2f"),
}

with roi_tab:
    try:
        # the mart rolls up every activity, whatever month is picked above: say so
        st.caption(f"活动ROI不按月份筛选 Activity ROI covers every activity in the snapshot, not "
                   f"only {plain(month)}: each is measured over its own windows before and after.")
        totals = _named(kpi_explorer.activity_roi_totals(head_ids))
        t = _one_row(totals)
        if t is not None:
            c = metric_row()
            c.metric("活动费用 Activity cost", fmt_yuan(t["cost"]), width=METRIC_WIDTH)
            c.metric("增量销售 Incremental", fmt_yuan(t["incremental_amount"]),
                     width=METRIC_WIDTH, help="增量销售 Incremental sell-out: after − before")
            ratio = t["roi"]
            c.metric("ROI 投入产出", f"{ratio:.2f}" if ratio == ratio and ratio is not None else "—",
                     width=METRIC_WIDTH, help="增量 ÷ 费用 Incremental sell-out ÷ activity cost")
            if t["activities_post_open"]:
                st.caption(f"{int(t['activities_post_open'])} 个活动的活动后窗口尚未结束 activities "
                           "are still inside their post window: their post amount is partial.")
        elif len(totals):
            show_table(totals.drop(columns=["territory_id"]), key="roi_totals", config={
                "territory_name": HEAD_LABEL, "activities": "活动数 Activities",
                **ROI_CONFIG, "activities_post_open": "活动后窗口未结束 Post window open"})
        roi = kpi_explorer.activity_roi(scope_ids if parent is not None else None)
        cols = ["activity_id", "activity_type", "customer_name", "crm_customer_id",
                "product_name", "start_date", "end_date", "cost", "pre_amount", "post_amount",
                "incremental_amount", "roi", "is_post_window_complete"]
        shown = roi[[c for c in cols if c in roi]]
        if "activity_type" in shown:  # the CRM's codes (sources.md), in both languages
            shown = shown.assign(activity_type=shown["activity_type"].map(
                lambda v: ACTIVITY_TYPES.get(v, v)))
        # the customer's CRM id and the before/after amounts are in the download (1440 px)
        show_table(shown.drop(columns=["crm_customer_id", "pre_amount", "post_amount"],
                              errors="ignore"), key="roi_table", days=("start_date", "end_date"),
                   config={
                       "activity_id": "活动 Activity",
                       "activity_type": st.column_config.TextColumn("类型 Type", width=125),
                       "customer_name": st.column_config.TextColumn("客户 Customer", width=130),
                       "crm_customer_id": "客户编码 CRM ID",
                       "product_name": "产品 Product",
                       "start_date": st.column_config.DateColumn("开始 Start",
                                                                 format="YYYY-MM-DD"),
                       "end_date": st.column_config.DateColumn("结束 End", format="YYYY-MM-DD"),
                       **ROI_CONFIG,
                       "is_post_window_complete": st.column_config.CheckboxColumn(
                           "窗口已结束 Closed", help="活动后窗口已结束 The post window has ended: "
                                                     "the after amount is final")})
        download_table(shown, "activity-roi", "roi_dl")
    except connection.DataUnavailable as exc:
        unavailable(exc)
