"""KPI explorer page: the territory drill-down in the user's scope and the KPI marts' rows
(coverage, achievement, calls, ROI, expense ratio), never re-aggregated here."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import get_settings, require, run, tables
from dashboards.territories import DEPTH_SQL, below, children_of
from sfe.config import Settings


def territories(settings: Settings | None = None) -> pd.DataFrame:
    """dim_territory in the user's scope, with `depth`: 0 above regions, 1 region, 2 district,
    3 territory (derived from region_id/district_id, so level names do not matter)."""
    settings = settings or get_settings()
    require("marts.dim_territory", settings)
    where, params = scope_clause("territory_id", settings=settings)
    return run(
        f"""
        select territory_id, name, level, territory_path, region_id, district_id,
               {DEPTH_SQL} as depth
        from marts.dim_territory where {where}
        order by depth, territory_path, territory_id
        """, params, settings=settings)


def children(parent_id: str | None, settings: Settings | None = None) -> pd.DataFrame:
    """Territories one level below `parent_id` (the top of the user's scope when None)."""
    return children_of(territories(settings), parent_id)


def subtree(territory_id: str | None, settings: Settings | None = None) -> list[str]:
    """A territory and everything below it, within the user's scope (all visible when None)."""
    settings = settings or get_settings()
    visible = territories(settings)["territory_id"].astype(str)
    if territory_id is None:
        return list(visible)
    return [t for t in below(settings, territory_id) if t in set(visible)]


def _group(by: str) -> str:
    if by not in ("territory_id", "product_id"):
        raise ValueError(f"cannot group KPIs by {by!r}")
    return by


def own_products(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "marts.dim_product" not in tables(settings):
        df = run("select distinct product_id from marts.kpi_coverage order by 1", settings=settings)
        df["label"] = df["product_id"]
        return df
    return run("select product_id, brand_name, generic_name, spec, "
               "coalesce(brand_name, generic_name, product_id) || ' ' || coalesce(spec, '') as label "
               "from marts.dim_product where coalesce(is_own, true) order by product_id",
               settings=settings)


def _territory_month_product(territory_ids: Sequence[str], month: str | None,
                             product_id: str | None, settings: Settings) -> tuple[list[str], list]:
    """Where-conditions shared by the territory KPI marts: access scope, the territories asked
    for, and optionally one month and one product."""
    where, params = scope_clause("territory_id", settings=settings)
    conds = [where, "list_contains(?::varchar[], territory_id::varchar)"]
    params = [*params, list(territory_ids)]
    if month is not None:
        conds.append("month = ?")
        params.append(month)
    if product_id is not None:
        conds.append("product_id = ?")
        params.append(product_id)
    return conds, params


def coverage(month: str | None, territory_ids: Sequence[str], product_id: str | None = None,
             settings: Settings | None = None, by: str = "territory_id") -> pd.DataFrame:
    """Coverage rows as the marts hold them, never re-aggregated here: one product →
    kpi_coverage; all products → kpi_coverage_total (customer × product pairs, in
    target_customers / covered_customers). `by="product_id"`: kpi_coverage's rows per product
    of the given territories (one territory for a breakdown of it)."""
    settings = settings or get_settings()
    if by == "product_id" or product_id is not None:
        require("marts.kpi_coverage", settings)
        conds, params = _territory_month_product(territory_ids, month, product_id, settings)
        return run(f"select month, territory_id, product_id, target_customers, "
                   f"covered_customers, coverage_rate from marts.kpi_coverage "
                   f"where {' and '.join(conds)} order by month, {_group(by)}, territory_id",
                   params, settings=settings)
    require("marts.kpi_coverage_total", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select month, territory_id, target_pairs as target_customers, "
               f"covered_pairs as covered_customers, coverage_rate "
               f"from marts.kpi_coverage_total where {' and '.join(conds)} "
               "order by month, territory_id", params, settings=settings)


def coverage_target_basis(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_coverage_target_basis: per month, targets from levels or grades (empty if absent)."""
    settings = settings or get_settings()
    if "marts.kpi_coverage_target_basis" not in tables(settings):
        return pd.DataFrame(columns=["month", "target_basis", "grade_quarter",
                                     "is_grading_start"])
    return run("select * from marts.kpi_coverage_target_basis order by month", settings=settings)


def achievement(month: str | None, territory_ids: Sequence[str], product_id: str | None = None,
                settings: Settings | None = None, by: str = "territory_id") -> pd.DataFrame:
    """Achievement rows as the marts hold them: one product (or `by="product_id"`) →
    kpi_target_achievement; all products → kpi_target_achievement_total."""
    settings = settings or get_settings()
    cols = ("month, territory_id, {p}target_amount, actual_amount, achievement_rate, "
            "ytd_target_amount, ytd_actual_amount, ytd_achievement_rate")
    if by == "product_id" or product_id is not None:
        require("marts.kpi_target_achievement", settings)
        conds, params = _territory_month_product(territory_ids, month, product_id, settings)
        return run(f"select {cols.format(p='product_id, ')} from marts.kpi_target_achievement "
                   f"where {' and '.join(conds)} order by month, {_group(by)}, territory_id",
                   params, settings=settings)
    require("marts.kpi_target_achievement_total", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select {cols.format(p='')} from marts.kpi_target_achievement_total "
               f"where {' and '.join(conds)} order by month, territory_id",
               params, settings=settings)


def call_activity(month: str | None, territory_ids: Sequence[str] | None = None,
                  settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity per rep (one month or all), reps of the given territories."""
    settings = settings or get_settings()
    require("marts.kpi_call_activity", settings)
    where, params = scope_clause("territory_id", settings=settings)
    conds = [where]
    if territory_ids is not None:
        conds.append("list_contains(?::varchar[], territory_id::varchar)")
        params = [*params, list(territory_ids)]
    if month is not None:
        conds.append("month = ?")
        params = [*params, month]
    # a rep as "name (id)" from dim_rep; the bare id where the snapshot has no dim_rep or no name
    named = "marts.dim_rep" in tables(settings)
    rep = ("coalesce(r.rep_name || ' (' || k.rep_id || ')', k.rep_id)" if named else "k.rep_id")
    join = "left join marts.dim_rep r using (rep_id)" if named else ""
    return run(f"select k.*, {rep} as rep from marts.kpi_call_activity k {join} "
               f"where {' and '.join(conds)} order by month, territory_id, rep_id",
               params, settings=settings)


def call_activity_totals(month: str, territory_ids: Sequence[str],
                         settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity_territory: the given territories' own roll-up rows for one month."""
    settings = settings or get_settings()
    require("marts.kpi_call_activity_territory", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select * from marts.kpi_call_activity_territory where {' and '.join(conds)} "
               "order by territory_id", params, settings=settings)


def call_activity_by_grade(month: str, territory_ids: Sequence[str],
                           settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity_grade_territory: per customer grade, the given territories' rows."""
    settings = settings or get_settings()
    require("marts.kpi_call_activity_grade_territory", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select * from marts.kpi_call_activity_grade_territory "
               f"where {' and '.join(conds)} order by territory_id, grade",
               params, settings=settings)


def activity_roi(territory_ids: Sequence[str] | None = None,
                 settings: Settings | None = None) -> pd.DataFrame:
    """kpi_activity_roi of activities in the given territories (all when None), with the
    customer's and product's names."""
    settings = settings or get_settings()
    require("marts.kpi_activity_roi", settings)
    present = tables(settings)
    where, params = scope_clause("r.crm_customer_id", kind="customer", settings=settings)
    conds = [where]
    if territory_ids is not None:
        conds.append("list_contains(?::varchar[], r.territory_id::varchar)")
        params = [*params, list(territory_ids)]
    cust = ("left join marts.dim_customer_address c using (crm_customer_id)"
            if "marts.dim_customer_address" in present else "")
    cname = "c.name" if cust else "null"
    prod = "left join marts.dim_product p using (product_id)" if "marts.dim_product" in present else ""
    pname = "coalesce(p.brand_name, p.generic_name)" if prod else "null"
    return run(f"select r.*, {cname} as customer_name, {pname} as product_name "
               f"from marts.kpi_activity_roi r {cust} {prod} where {' and '.join(conds)} "
               "order by r.roi desc nulls last, r.activity_id", params, settings=settings)


def activity_roi_totals(territory_ids: Sequence[str],
                        settings: Settings | None = None) -> pd.DataFrame:
    """kpi_activity_roi_territory: the given territories' own roll-up rows."""
    settings = settings or get_settings()
    require("marts.kpi_activity_roi_territory", settings)
    conds, params = _territory_month_product(territory_ids, None, None, settings)
    return run(f"select * from marts.kpi_activity_roi_territory where {' and '.join(conds)} "
               "order by territory_id", params, settings=settings)


def expense_ratio(month: str | None, territory_ids: Sequence[str],
                  settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "marts.kpi_expense_ratio" not in tables(settings):
        return pd.DataFrame(columns=["month", "territory_id", "cost", "sell_out_amount",
                                     "expense_ratio"])
    where, params = scope_clause("territory_id", settings=settings)
    conds = [where, "list_contains(?::varchar[], territory_id::varchar)"]
    params = [*params, list(territory_ids)]
    if month is not None:
        conds.append("month = ?")
        params.append(month)
    return run(f"select * from marts.kpi_expense_ratio where {' and '.join(conds)} "
               "order by month, territory_id", params, settings=settings)
