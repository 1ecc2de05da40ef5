"""Reading what matching needs from the raw layer (and the previous matching run).

Every reader tolerates a missing table (a source not delivered yet gives an empty frame), reads
the latest master snapshot per entity, and returns distinct raw names only.

The rules these reads share with dbt (the latest master snapshot, the buyer key, the spec key)
have one owner, dbt's macros in dbt_project/macros/shared_rules.sql: `shared_rule` renders them
here with plain Jinja, so the names matching maps and the rows dbt joins to the map are keyed
by the same SQL. (Matching runs before dbt builds, on DuckDB even when dbt builds on Spark, so
it cannot read a dbt model instead.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import jinja2
import polars as pl

from sfe.config import PROJECT_ROOT

SHARED_RULES = PROJECT_ROOT / "dbt_project" / "macros" / "shared_rules.sql"


class SharedRuleError(RuntimeError):
    """A rule of shared_rules.sql cannot be rendered outside dbt (it uses dbt's context)."""


def shared_rule(name: str, *args: Any, path: Path | None = None) -> str:
    """The SQL of dbt macro `name` of shared_rules.sql, rendered with `args` by plain Jinja."""
    path = path or SHARED_RULES
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        macro = getattr(env.from_string(path.read_text(encoding="utf-8")).module, name)
        return str(macro(*args)).strip()
    except (AttributeError, jinja2.TemplateError) as exc:
        raise SharedRuleError(
            f"{path}: macro {name} is missing or cannot be rendered outside dbt ({exc}); "
            "matching reads it before dbt runs, so keep it plain SQL (no ref, source, adapter "
            "or dbt.*)") from exc


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Like `sfe.warehouse.table_exists`, but fetches every row (DuckDB 2 wants results drained)."""
    rows = con.execute("select count(*) from information_schema.tables "
                       "where table_schema = ? and table_name = ?", [schema, table]).fetchall()
    return bool(rows and rows[0][0])

def columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute("select column_name from information_schema.columns "
                       "where table_schema = ? and table_name = ?", [schema, table]).fetchall()
    return {r[0] for r in rows}


_RAW_BUYERS_SCHEMA = {"source": pl.String, "distributor_code": pl.String, "buyer_code": pl.String,
                      "raw_name": pl.String, "address": pl.String,
                      "addresses": pl.List(pl.String), "context_province": pl.String,
                      "context_city": pl.String}


def _latest(table: str, columns: str) -> str:
    """The master data in force: dbt's `latest_snapshot` rule over raw.<table>."""
    return f"select {columns} from ({shared_rule('latest_snapshot', f'raw.{table}')}) as latest"


def _frame(con: duckdb.DuckDBPyConnection, table: str, sql: str, schema: dict) -> pl.DataFrame:
    if not table_exists(con, "raw", table):
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(con.sql(sql).pl(), schema=schema)


def load_customer_master(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cols = "crm_customer_id, name, customer_type, province, city, district, address"
    schema = {c.strip(): pl.String for c in cols.split(",")}
    sql = _latest("master__customers", f"distinct {cols}") + " order by crm_customer_id"
    return _frame(con, "master__customers", sql, schema)


def all_crm_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every CRM id of every snapshot: a customer dropped from the master keeps its id."""
    if not table_exists(con, "raw", "master__customers"):
        return []
    rows = con.execute("select distinct crm_customer_id from raw.master__customers "
                       "where crm_customer_id is not null order by 1").fetchall()
    return [r[0] for r in rows]


def load_distributors(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cols = "distributor_code, name, province, city, aliases"
    schema = {c.strip(): pl.String for c in cols.split(",")}
    return _frame(con, "master__distributors", _latest("master__distributors", cols), schema)


def load_products(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cols = ("product_id, generic_name, brand_name, spec, dosage_form, pack_size, case_size, is_own, "
            "list_price")
    schema = {"product_id": pl.String, "generic_name": pl.String, "brand_name": pl.String,
              "spec": pl.String, "dosage_form": pl.String, "pack_size": pl.Int64,
              "case_size": pl.Int64, "is_own": pl.Boolean, "list_price": pl.Float64}
    if table_exists(con, "raw", "master__products") and "list_price" not in columns(con, "raw", "master__products"):
        cols = cols.replace("list_price", "null::double as list_price")
    sql = _latest("master__products", cols) + " order by product_id"
    return _frame(con, "master__products", sql, schema)


# Aggregated twice: first to distinct rows (one pass over every flow row, no per-row rule or
# list), then the buyer key and the address list on those few; the distributor's context is
# joined to the names, not to every row (2.6 x faster at 30 M rows, same result)
_FLOW_BUYERS = """
with distinct_rows as (
    select distinct distributor_code, buyer_code, buyer_name, buyer_address
    from raw.flow__lines
    where buyer_name is not null and trim(buyer_name) <> ''
),
names as (
    select f.distributor_code, {buyer_key} as buyer_code, f.buyer_name as raw_name,
           min(f.buyer_address) as address,
           list(distinct f.buyer_address order by f.buyer_address)
               filter (where f.buyer_address is not null) as addresses
    from distinct_rows f
    group by all
),
context as (
    select distributor_code, any_value(province) as province, any_value(city) as city
    from ({distributors}) group by distributor_code
)
select 'flow' as source, n.distributor_code, n.buyer_code, n.raw_name, n.address, n.addresses,
       c.province as context_province, c.city as context_city
from names n
left join context c using (distributor_code)
"""
_TENDER_HOSPITALS = """
select 'tender' as source, province as distributor_code, '' as buyer_code,
       hospital_name as raw_name, '' as address, []::varchar[] as addresses,
       province as context_province, '' as context_city
from raw.tenders__results
where hospital_name is not null and trim(hospital_name) <> ''
group by all
"""


def load_raw_buyers(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Distinct (source, distributor_code, buyer_code, raw_name) with address and context."""
    frames = []
    if table_exists(con, "raw", "flow__lines"):
        dist = (_latest("master__distributors", "distributor_code, province, city")
                if table_exists(con, "raw", "master__distributors")
                else "select null::varchar as distributor_code, null::varchar as province, "
                     "null::varchar as city")
        sql = _FLOW_BUYERS.format(distributors=dist,
                                  buyer_key=shared_rule("buyer_key", "f.buyer_code"))
        frames.append(pl.DataFrame(con.sql(sql).pl(),
                                   schema=_RAW_BUYERS_SCHEMA))
    if table_exists(con, "raw", "tenders__results"):
        frames.append(pl.DataFrame(con.sql(_TENDER_HOSPITALS).pl(), schema=_RAW_BUYERS_SCHEMA))
    if not frames:
        return pl.DataFrame(schema=_RAW_BUYERS_SCHEMA)
    return pl.concat(frames).sort("source", "distributor_code", "buyer_code", "raw_name")


def load_raw_products(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Distinct (distributor_code, raw_product, raw_spec) from flow and inventory, with the
    manufacturers flow rows named for it (inventory has none)."""
    schema = {"distributor_code": pl.String, "raw_product": pl.String, "raw_spec": pl.String,
              "manufacturers": pl.List(pl.String), "price_box": pl.Float64,
              "price_min_unit": pl.Float64, "price_case": pl.Float64}
    parts, spec = [], shared_rule("spec_key", "spec")
    if table_exists(con, "raw", "flow__lines"):
        have = columns(con, "raw", "flow__lines")
        sale = "doc_type = 'sale' and " if "doc_type" in have else ""
        price = (f"case when {sale}unit_price > 0 then unit_price end"
                 if {"unit_price", "unit"} <= have else "null::double")
        unit = "unit" if "unit" in have else "null::varchar"
        parts.append(f"select distributor_code, product_name, {spec} as spec, manufacturer, "
                     f"{unit} as unit, {price} as price from raw.flow__lines")
    if table_exists(con, "raw", "inventory__lines"):
        parts.append(f"select distributor_code, product_name, {spec} as spec, "
                     "null::varchar as manufacturer, null::varchar as unit, null::double as price "
                     "from raw.inventory__lines")
    if not parts:
        return pl.DataFrame(schema=schema)
    sql = _RAW_PRODUCTS.format(rows=" union all ".join(parts))
    return pl.DataFrame(con.sql(sql).pl(), schema=schema)


# Per product name: its manufacturers and the median sale price per unit. Rows are first counted
# per distinct value (prices repeat: a few hundred values for millions of rows), and each median
# is read off the cumulated counts: DuckDB's median(x) = quantile_cont(x, 0.5), the value at
# 0-based position (n-1)/2, interpolated lo + (hi - lo) * 0.5 between the values at
# floor((n-1)/2) and n//2 — identical results, 1.7 x faster at 30 M rows than median over rows.
_RAW_PRODUCTS = """
with per_value as (
    select distributor_code, product_name, spec, manufacturer, unit, price, count(*) as n
    from ({rows}) where product_name is not null
    group by all
),
priced as (
    select distributor_code, product_name, spec, unit, price, sum(n) as n
    from per_value where price is not null and unit in ('box', 'min_unit', 'case')
    group by all
),
placed as (
    select *, coalesce(sum(n) over (partition by distributor_code, product_name, spec, unit
                                    order by price rows between unbounded preceding
                                    and 1 preceding), 0) as before,
           sum(n) over (partition by distributor_code, product_name, spec, unit) as total
    from priced
),
medians as (
    select distributor_code, product_name, spec, unit,
           any_value(price) filter (where before <= (total - 1) // 2
                                      and (total - 1) // 2 < before + n) as lo,
           any_value(price) filter (where before <= total // 2 and total // 2 < before + n) as hi
    from placed group by all
),
named as (
    select distributor_code, product_name, spec,
           list(distinct manufacturer order by manufacturer)
               filter (where manufacturer is not null) as manufacturers
    from per_value group by all
)
select p.distributor_code, p.product_name as raw_product, p.spec as raw_spec, p.manufacturers,
       any_value(m.lo + (m.hi - m.lo) * 0.5) filter (where m.unit = 'box') as price_box,
       any_value(m.lo + (m.hi - m.lo) * 0.5) filter (where m.unit = 'min_unit') as price_min_unit,
       any_value(m.lo + (m.hi - m.lo) * 0.5) filter (where m.unit = 'case') as price_case
from named p
left join medians m using (distributor_code, product_name, spec)
group by p.distributor_code, p.product_name, p.spec, p.manufacturers
order by 1, 2, 3
"""


def load_bidders(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not table_exists(con, "raw", "tenders__results"):
        return []
    rows = con.execute("select distinct bidder from raw.tenders__results "
                       "where bidder is not null order by 1").fetchall()
    return [r[0] for r in rows]


def previous_sticky_keys(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Buyer codes matched on earlier runs: (source, distributor, code) → (crm id, status)."""
    if not table_exists(con, "matching", "sticky_keys"):
        return {}
    rows = con.execute("select source, distributor_code, buyer_code, crm_customer_id, match_status "
                       "from matching.sticky_keys").fetchall()
    return {(s, d, b): (c, st) for s, d, b, c, st in rows if c}
