"""Tenders page: kpi_tender with list-price comparison, and kpi_tender_province."""

from __future__ import annotations

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import get_settings, require, run, tables
from sfe.config import Settings


def tenders(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_tender with kpi_tender_price's list-price comparison (when built); province-level
    data, not split by territory: users who see every territory only."""
    settings = settings or get_settings()
    require("marts.kpi_tender", settings)
    where, params = scope_clause("t.province", kind="global", settings=settings)
    key = "province, batch, generic_name, spec"
    price = ("left join (select province, batch, generic_name, spec, product_id, list_price, "
             "own_win_price_to_list, lowest_winning_price_to_list from marts.kpi_tender_price) p "
             f"using ({key})" if "marts.kpi_tender_price" in tables(settings) else "")
    extra = ("p.product_id, p.list_price, p.own_win_price_to_list, p.lowest_winning_price_to_list"
             if price else "null as product_id, null as list_price, null as own_win_price_to_list, "
             "null as lowest_winning_price_to_list")
    return run(f"select t.*, {extra} from marts.kpi_tender t {price} where {where} "
               f"order by {key}", params, settings=settings)


def tender_provinces(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_tender_province: bids, wins and win rate per province."""
    settings = settings or get_settings()
    require("marts.kpi_tender_province", settings)
    where, params = scope_clause("province", kind="global", settings=settings)
    return run(f"select * from marts.kpi_tender_province where {where} order by province",
               params, settings=settings)
