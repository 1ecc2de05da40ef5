"""渠道库存 Channel inventory (进销存): opening, purchases, sales, closing, variance and DOI."""

import plotly.express as px
import streamlit as st

from dashboards import connection
from dashboards.components import (METRIC_WIDTH, company_wide_page, download_table, fmt_num,
                                   metric_row, show_table, unavailable)
from dashboards.queries import inventory

st.title("渠道库存 Channel inventory")
company_wide_page(True, "经销商库存不按辖区划分 Distributor inventory is not split by territory; "
                        "it is shown to users who see every territory.")

try:
    month_list = connection.months("kpi_channel_inventory")
except connection.DataUnavailable as exc:
    unavailable(exc)
    st.stop()
f = st.columns([1, 2, 2])
month = f[0].selectbox("月份 Month", month_list, key="month")
inv = inventory.channel_inventory(month)
dists = sorted(inv["distributor_name"].dropna().unique())
chosen = f[1].multiselect("经销商 Distributor", dists, key="distributors")
prods = sorted(inv["product_name"].dropna().unique())
chosen_p = f[2].multiselect("产品 Product", prods, key="products")
if chosen:
    inv = inv[inv["distributor_name"].isin(chosen)]
if chosen_p:
    inv = inv[inv["product_name"].isin(chosen_p)]

try:
    head = inventory.inventory_month(month)
except connection.DataUnavailable as exc:
    head = None
    unavailable(exc)
# the threshold the mart counted with (dbt var doi_threshold_days at build time), not this
# server's settings: the chart must flag what the headline counts
threshold = float(head.iloc[0]["doi_threshold_days"]) if head is not None and len(head) else None
if head is not None and len(head):
    h = head.iloc[0]
    c = metric_row()
    c.metric("超DOI经销商 Over DOI", fmt_num(h["distributors_over_doi"]),
             help=f"库存天数超过 {h['doi_threshold_days']:g} 天的经销商数 Number of distributors "
                  f"with a product over {h['doi_threshold_days']:g} days of inventory",
             width=METRIC_WIDTH)
    c.metric("无流向经销商 No flow", fmt_num(h["distributors_without_flow"]),
             help="本月未交流向的经销商数 Number of distributors that sent no flow for the "
                  "month", width=METRIC_WIDTH)
    c.metric("有差异 Variances", fmt_num(h["distributor_products_with_variance"]),
             help="经销商×产品 Distributor × product rows whose reported closing stock differs "
                  "from the computed one", width=METRIC_WIDTH)
    c.metric("期末库存 Closing (boxes)", fmt_num(h["closing_qty"]), width=METRIC_WIDTH)
    st.caption(f"以上为本月全部 {int(h['distributors'])} 家经销商 The figures above cover all "
               f"{int(h['distributors'])} distributors of the month; the table follows the filters.")

show_table(  # a column with gaps is shown as text ('—'), as the caption says
    # the product by name (its id is in the download): the table fits a 1440 px screen
    inv.drop(columns=["month", "product_id"]), key="inventory_table",
    config={
        "distributor_code": "代码 Code",
        "distributor_name": st.column_config.TextColumn("经销商 Distributor", width=130),
        "product_name": "产品 Product",
        "opening_qty": st.column_config.NumberColumn("期初 Opening", format="%,.0f"),
        "purchase_qty": st.column_config.NumberColumn("进货 Sell-in", format="%,.0f",
                                                      help="进货 Purchases from suppliers"),
        "sales_qty": st.column_config.NumberColumn("销售 Sales", format="%,.0f"),
        "computed_closing_qty": st.column_config.NumberColumn(
            "计算 Computed", format="%,.0f", help="计算期末库存 Computed closing stock"),
        "reported_closing_qty": st.column_config.NumberColumn(
            "上报 Reported", format="%,.0f", help="上报期末库存 Reported closing stock"),
        "variance_qty": st.column_config.NumberColumn("差异 Variance", format="%,.0f"),
        "days_of_inventory": st.column_config.NumberColumn("库存天数 DOI", format="%.1f"),
    })
st.caption("盒 Quantities in boxes. 差异 Variance = reported − computed (— when not reported); "
           "— in sales = no flow received for the month (see 数据加载 Loads).")
download_table(inv, f"channel-inventory-{month}", "inventory_dl")

doi = inv.dropna(subset=["days_of_inventory"]).nlargest(20, "days_of_inventory")
if len(doi):
    st.subheader("库存天数最高 Highest days of inventory (top 20)")
    doi = doi.assign(item=doi["distributor_name"].astype(str) + " · " + doi["product_name"].astype(str),
                     over=doi["days_of_inventory"] > (threshold or float("inf")))
    fig = px.bar(doi.sort_values("days_of_inventory"), x="days_of_inventory", y="item",
                 orientation="h", color="over",
                 color_discrete_map={True: "#d64545", False: "#6b8fb5"},
                 labels={"item": "", "days_of_inventory": "库存天数 DOI (days)",
                         "over": "超过阈值 over threshold"})
    if threshold is not None:
        # the label above the plot: inside it, it is drawn over the longest bar, unreadable
        fig.add_vline(x=threshold, line_dash="dash", annotation_position="top",
                      annotation_text=f"阈值 threshold {threshold:g}")
    fig.update_layout(height=max(300, 28 * len(doi)), showlegend=False)
    st.plotly_chart(fig, width="stretch", key="doi_bar")
