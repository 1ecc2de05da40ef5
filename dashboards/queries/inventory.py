"""Channel inventory page: kpi_channel_inventory rows with names, and the month's roll-up row."""

from __future__ import annotations

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import get_settings, require, run, tables
from sfe.config import Settings


def channel_inventory(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_channel_inventory with distributor and product names; distributor-level data, so only
    users who see every territory get rows when access control is on."""
    settings = settings or get_settings()
    require("marts.kpi_channel_inventory", settings)
    present = tables(settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    dist = ("left join marts.dim_distributor d using (distributor_code)"
            if "marts.dim_distributor" in present else "")
    dname = "d.name as distributor_name," if dist else "i.distributor_code as distributor_name,"
    prod = "left join marts.dim_product p using (product_id)" if "marts.dim_product" in present else ""
    pname = ("coalesce(p.brand_name, p.generic_name, i.product_id) as product_name,"
             if prod else "i.product_id as product_name,")
    conds = [where]
    if month is not None:
        conds.append("i.month = ?")
        params = [*params, month]
    return run(
        f"""
        select i.month, i.distributor_code, {dname} i.product_id, {pname}
               i.opening_qty, i.purchase_qty, i.sales_qty, i.computed_closing_qty,
               i.reported_closing_qty, i.variance_qty, i.days_of_inventory
        from marts.kpi_channel_inventory i {dist} {prod}
        where {' and '.join(conds)}
        order by i.month, i.distributor_code, i.product_id
        """, params, settings=settings)


def inventory_month(month: str, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_channel_inventory_month's row for the month (distributor-level: unrestricted only)."""
    settings = settings or get_settings()
    require("marts.kpi_channel_inventory_month", settings)
    where, params = scope_clause("month", kind="global", settings=settings)
    return run(f"select * from marts.kpi_channel_inventory_month where {where} and month = ?",
               [*params, month], settings=settings)
