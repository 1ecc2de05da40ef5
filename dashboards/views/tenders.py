"""招标 Tenders: the company's bids and wins in provincial and national tenders (kpi_tender),
win rate by province (kpi_tender_province) and prices against list (kpi_tender_price)."""

import plotly.express as px
import streamlit as st

from dashboards import connection
from dashboards.components import (company_wide_page, download_table, pct_column, percent_axis,
                                   show_table, unavailable)
from dashboards.queries import tenders

st.title("招标 Tenders")
company_wide_page(True, "招标结果按省份而非辖区 Tender results are by province, not territory; they "
                        "are shown to users who see every territory.")

try:
    lines = tenders.tenders()
    provinces = tenders.tender_provinces()
except connection.DataUnavailable as exc:
    unavailable(exc)
    st.stop()
if lines.empty:
    st.info("本快照没有招标结果 No tender results in this snapshot.")
    st.stop()

lines = lines.assign(batch=lines["batch"].fillna("").replace("", "省级 Provincial"),
                     product=lines["generic_name"].astype(str) + " " + lines["spec"].astype(str))
f = st.columns(2)
chosen_prov = f[0].multiselect("省份 Province", sorted(lines["province"].dropna().unique()),
                               key="provinces")
chosen_prod = f[1].multiselect("产品 Product (generic name and spec)",
                               sorted(lines["product"].unique()), key="tender_products")
if chosen_prov:
    lines = lines[lines["province"].isin(chosen_prov)]
    provinces = provinces[provinces["province"].isin(chosen_prov)]
if chosen_prod:
    lines = lines[lines["product"].isin(chosen_prod)]

st.subheader("按省份 By province")
st.caption("投标/中标 = 本公司的投标与中标次数，合计所有批次与品规 Bids and wins are the company's own, "
           "over every batch and product line; win rate = wins / bids.")
show_table(provinces, {"province": "省份 Province",
                       "tender_lines": "招标品规 Tender lines (batch × product)",
                       "bids": "投标 Own bids", "wins": "中标 Own wins",
                       "win_rate": pct_column("中标率 Win rate"),
                       "lines_won": "中标品规 Lines won"}, key="tender_provinces")
if len(provinces) and provinces["win_rate"].notna().any():
    fig = px.bar(provinces.dropna(subset=["win_rate"]), x="province", y="win_rate",
                 labels={"province": "省份 Province", "win_rate": "中标率 Win rate"})
    percent_axis(fig)
    st.plotly_chart(fig, width="stretch", key="tender_win_rate")

st.subheader("按品规 By product and batch")
no_list = lines["list_price"].isna() & lines["own_win_price"].notna()
if no_list.any():
    st.caption(f"{int(no_list.sum())} 行无挂网价对比 lines have no list price: no own product of "
               "that generic name and exact spec in the product master.")
cols = ["province", "batch", "product", "is_volume_based", "bids", "wins", "win_rate",
        "own_win_price", "own_bid_price", "lowest_winning_price", "price_gap", "list_price",
        "own_win_price_to_list", "lowest_winning_price_to_list"]
shown = lines[[c for c in cols if c in lines]]
# what fits at 1440 px: short headers (the full wording in each one's help); the win rate
# of a line (0 or 1 bids' worth) and its wins (a line won has an own winning price), the
# own lowest bid, the price gap (own − lowest) and the lowest winner's share of the list
# price are in the download
on_screen = [c for c in shown if c not in ("win_rate", "wins", "own_bid_price", "price_gap",
                                           "lowest_winning_price_to_list")]
money = "¥%,.2f"
show_table(shown[on_screen], key="tender_lines",  # a price not there (a lost line) reads '—'
           config={
               "province": "省份 Province", "batch": "批次 Batch",
               "product": st.column_config.TextColumn("通用名 规格 Product", width=170),
               "is_volume_based": st.column_config.CheckboxColumn(
                   "带量 VBP", help="带量采购 Volume-based procurement"),
               "bids": st.column_config.NumberColumn("投标 Bids", help="本公司投标 Own bids"),
               "wins": st.column_config.NumberColumn("中标 Wins", help="本公司中标 Own wins"),
               "own_win_price": st.column_config.NumberColumn(
                   "中标价 Own win", format=money, help="本公司中标价 Own winning price"),
               "lowest_winning_price": st.column_config.NumberColumn(
                   "最低中标 Lowest", format=money, help="最低中标价 Lowest winning price"),
               "list_price": st.column_config.NumberColumn(
                   "挂网价 List", format=money, help="挂网价（每盒）List price a box"),
               "own_win_price_to_list": pct_column(
                   "中标/挂网 Own÷list", help="本公司中标价 ÷ 挂网价 Own winning price ÷ list")})
download_table(shown, "tenders", "tenders_dl")
