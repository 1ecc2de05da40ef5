"""The territory tree of `marts.dim_territory`, before any access rule: what lies below a node,
region names, and one level of the drill-down."""

from __future__ import annotations

import pandas as pd

from dashboards.connection import get_settings, run, tables
from sfe.config import Settings

# depth of a dim_territory row, from region_id/district_id so level names do not matter:
# 0 above regions, 1 region, 2 district, 3 territory
DEPTH_SQL = """case when territory_id = district_id then 2
                    when territory_id = region_id then 1
                    when region_id is null and district_id is null then 0
                    else 3 end"""


def below(settings: Settings, territory_id: str) -> list[str]:
    """A territory and every territory below it (via region_id, district_id or territory_path)."""
    if "marts.dim_territory" not in tables(settings):
        return [territory_id]
    df = run(
        """
        with me as (select territory_id, name from marts.dim_territory where territory_id = ?)
        select t.territory_id from marts.dim_territory t
        where t.territory_id = ? or t.region_id = ? or t.district_id = ?
           or exists (select 1 from me where list_contains(
                  regexp_split_to_array(coalesce(t.territory_path, ''), '\\s*[/>|]\\s*'),
                  me.territory_id)
                  or list_contains(regexp_split_to_array(coalesce(t.territory_path, ''),
                  '\\s*[/>|]\\s*'), me.name))
        """, [territory_id] * 4, settings=settings)
    return sorted(set(df["territory_id"].astype(str)) | {territory_id})


def region_names(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    if "marts.dim_territory" not in tables(settings):
        return {}
    df = run("select territory_id, name from marts.dim_territory", settings=settings)
    return dict(zip(df["territory_id"].astype(str), df["name"].astype(str), strict=True))


def children_of(terr: pd.DataFrame, parent_id: str | None) -> pd.DataFrame:
    """Rows of `terr` (territories with `depth`) one level below `parent_id`; the top of the
    visible set when None (nodes whose parent is outside it)."""
    if terr.empty:
        return terr
    if parent_id is None:
        top = terr["depth"].min()
        if top == 0 and (terr["depth"] == 0).sum() == 1:
            return terr[terr["depth"] == 1]
        return terr[terr["depth"] == top]
    node = terr[terr["territory_id"] == parent_id]
    if node.empty:
        return terr.iloc[0:0]
    depth = int(node["depth"].iloc[0])
    if depth == 0:
        return terr[terr["depth"] == 1]
    if depth == 1:
        return terr[(terr["depth"] == 2) & (terr["region_id"] == parent_id)]
    if depth == 2:
        return terr[(terr["depth"] == 3) & (terr["district_id"] == parent_id)]
    return terr.iloc[0:0]
