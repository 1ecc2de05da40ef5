"""Every query the dashboards and the scorecard run, in one place.

Only the published snapshot (`settings.published_db`) is read, always read-only; the working
warehouse is never opened here, so a running build can neither block nor half-show a dashboard.

* The connection is cached with `st.cache_resource`, keyed on the snapshot file that
  current.duckdb links to (`quality.published.current_snapshot_file`; never current.duckdb by
  name, which a publish renames): when `sfe publish` swaps in a new snapshot, the next rerun
  opens it and the old connection is closed.
* Query results are cached with `st.cache_data`, keyed on the same identity, so they too are
  dropped when a new snapshot appears.
* Access control enters every territory-scoped query through one function, `scope_clause`.
  Outside a Streamlit server (the scorecard command, tests) the same SQL runs uncached.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from ingestion.file_decisions import ACK_PREFIX
from quality.published import current_snapshot_file
from sfe.config import Settings, load_settings

NO_DATA_MESSAGE = "no published data yet — run `sfe run` (or `sfe demo`) to build and publish a snapshot"
ALL_TERRITORIES = "*"

_FAILED_GATE = {"fail", "failed", "failure", "error", "blocked", "refused"}
_BLOCKING = {"blocking", "block", "blocker", "error", "critical", "fatal"}


class DataUnavailable(RuntimeError):
    """The snapshot (or one table in it) is not there; the message tells the user what to do."""


# -- settings and the snapshot -----------------------------------------------------------------

def get_settings() -> Settings:
    """Settings as `sfe serve` passed them (SFE_DATA_DIR, SFE_CONFIG, SFE_ACCESS_CONTROL, …),
    parsed strictly by `load_settings`."""
    return load_settings()


def _snapshot_key(settings: Settings) -> tuple[str, str]:
    try:
        path = current_snapshot_file(settings).resolve()
        st_ = path.stat()
    except FileNotFoundError:  # NoPublishedSnapshot, or pruned this instant
        raise DataUnavailable(NO_DATA_MESSAGE) from None
    return str(path), f"{st_.st_ino}:{st_.st_mtime_ns}:{st_.st_size}"


def _open(db: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(db, read_only=True)
    except duckdb.Error as exc:  # half-copied or foreign file: say so, never crash the page
        raise DataUnavailable(f"the published snapshot {db} cannot be opened ({exc}); "
                              "run `sfe publish` again") from exc


@st.cache_resource(max_entries=2, show_spinner=False, on_release=lambda con: con.close())
def _connection(db: str, stamp: str) -> duckdb.DuckDBPyConnection:
    return _open(db)


@st.cache_data(ttl=900, max_entries=512, show_spinner=False)
def _cached_query(db: str, stamp: str, sql: str, params: tuple) -> pd.DataFrame:
    cur = _connection(db, stamp).cursor()  # one cursor per call: safe across script threads
    try:
        return cur.execute(sql, list(params)).df()
    finally:
        cur.close()


def _in_streamlit() -> bool:
    try:
        from streamlit.runtime import exists
        return exists()
    except Exception:  # pragma: no cover - very old streamlit
        return False


def run(sql: str, params: Sequence[Any] = (), settings: Settings | None = None) -> pd.DataFrame:
    """Run one read-only query on the published snapshot; cached inside a Streamlit server."""
    settings = settings or get_settings()
    db, stamp = _snapshot_key(settings)
    params = tuple(tuple(p) if isinstance(p, list) else p for p in params)
    if _in_streamlit():
        return _cached_query(db, stamp, sql, params)
    cur = _local_connection(db, stamp).cursor()
    try:
        return cur.execute(sql, [list(p) if isinstance(p, tuple) else p for p in params]).df()
    finally:
        cur.close()


_LOCAL: dict[tuple[str, str], duckdb.DuckDBPyConnection] = {}


def _local_connection(db: str, stamp: str) -> duckdb.DuckDBPyConnection:
    """Outside a Streamlit server (scorecard command, tests): one connection per snapshot
    identity, the previous one closed when the snapshot changes."""
    key = (db, stamp)
    con = _LOCAL.get(key)
    if con is None:
        for old in [k for k in _LOCAL if k[0] == db]:
            _LOCAL.pop(old).close()
        con = _LOCAL[key] = _open(db)
    return con


def close_local_connections() -> None:
    while _LOCAL:
        _LOCAL.popitem()[1].close()


def _tables(settings: Settings) -> set[str]:
    df = run("select table_schema || '.' || table_name as t from information_schema.tables",
             settings=settings)
    return set(df["t"])


def has_table(name: str, settings: Settings | None = None) -> bool:
    try:
        return name in _tables(settings or get_settings())
    except DataUnavailable:
        return False


def _require(name: str, settings: Settings) -> None:
    if name not in _tables(settings):
        raise DataUnavailable(f"table `{name}` is not in the published snapshot yet; "
                              "it appears after the next successful `sfe run`")


def _columns(name: str, settings: Settings) -> list[str]:
    schema, table = name.split(".")
    df = run("select column_name from information_schema.columns where table_schema = ? "
             "and table_name = ? order by ordinal_position", [schema, table], settings=settings)
    return list(df["column_name"])


# -- status: what is published, as of when, did it pass the gates --------------------------------

def is_failed(value: object) -> bool:
    """A gate or data_status value that means the numbers did not pass."""
    return _is_failed(value)


def _is_failed(value: object) -> bool:
    return str(value or "").strip().lower() in _FAILED_GATE


def _is_blocking(value: object) -> bool:
    return str(value or "").strip().lower() in _BLOCKING


def status(settings: Settings | None = None) -> dict[str, Any]:
    """Data status of the published snapshot, shown at the top of every page.

    Keys: available, message, path, snapshot_id, published_at, run_id, gate_status, as_of_month,
    blocking_failures (check names), refuse (True → KPI pages must not show numbers),
    last_refused (dict or None) and `publisher` (whatever `quality.published.published_status`
    returned, when that module exists).
    """
    settings = settings or get_settings()
    out: dict[str, Any] = {
        "available": False, "message": NO_DATA_MESSAGE, "path": str(settings.published_db),
        "snapshot_id": None, "published_at": None, "run_id": None, "gate_status": None,
        "as_of_month": None, "as_of_date": None, "blocking_failures": [], "refuse": False,
        "last_refused": None, "publisher": None, "data_status": None,
    }
    publisher = _published_status(settings)
    out["publisher"] = publisher
    out["data_status"] = None
    if publisher:
        out["data_status"] = publisher.get("data_status")
        attempt = publisher.get("last_attempt")
        if isinstance(attempt, dict) and attempt.get("outcome") not in (None, "published"):
            out["last_refused"] = attempt
        elif publisher.get("data_status") == "stale" and publisher.get("reason"):
            out["last_refused"] = {"reason": publisher.get("reason")}
        if publisher.get("as_of_date"):
            out["as_of_date"] = publisher.get("as_of_date")
    try:
        tables = _tables(settings)
    except DataUnavailable as exc:
        out["message"] = str(exc)
        return out
    out["available"] = True
    out["message"] = ""
    if "audit.publish_info" in tables:
        info = run("select * from audit.publish_info order by published_at desc nulls last limit 1",
                   settings=settings)
        if len(info):
            row = info.iloc[0].to_dict()
            for key in ("snapshot_id", "published_at", "run_id", "gate_status", "as_of_month",
                        "as_of_date"):
                if key in row and not _isna(row[key]):
                    out[key] = row[key]
    elif publisher:
        for key in ("snapshot_id", "published_at", "run_id", "gate_status", "as_of_month"):
            if publisher.get(key) is not None:
                out[key] = publisher[key]
    if out["as_of_month"] is None and "marts.scorecard_weekly" in tables:
        wk = run("select max(week_start) as w from marts.scorecard_weekly", settings=settings)
        if len(wk) and not _isna(wk["w"].iloc[0]):
            out["as_of_month"] = pd.Timestamp(wk["w"].iloc[0]).strftime("%Y-%m")
    if "audit.gate_results" in tables:
        gates = _gate_rows(settings, out["run_id"])
        failing = gates[gates["status"].map(_is_failed) & gates["severity"].map(_is_blocking)]
        out["blocking_failures"] = sorted(set(failing["check_name"]))
    if _is_failed(out["gate_status"]) or out["blocking_failures"]:
        out["refuse"] = True
    if out["gate_status"] is None:
        out["gate_status"] = "failed" if out["blocking_failures"] else "unknown"
    return out


def _isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _published_status(settings: Settings) -> dict | None:
    """`quality.published.published_status`, when another stage has built it; else None."""
    try:
        module = importlib.import_module("quality.published")
    except ImportError:
        return None
    func = getattr(module, "published_status", None)
    if func is None:
        return None
    try:
        result = func(settings)
    except Exception:  # the banner must never break a page; our own reading still works
        return None
    return dict(result) if isinstance(result, dict) else None


# -- access control ------------------------------------------------------------------------------

def current_user() -> str | None:
    """The signed-in login (see `dashboards.auth`); never a header or query parameter."""
    from dashboards import auth

    ident = auth.current_identity(get_settings())
    return ident.user.login if ident else None


@dataclass(frozen=True)
class Access:
    restricted: bool
    user: str | None = None
    territory_id: str | None = None
    allowed: tuple[str, ...] = ()
    reason: str = ""
    role: str | None = None


def access(settings: Settings | None = None, user: str | None = None) -> Access:
    """What the current user may see. Login off → everything, but only on a server bound to
    this machine; login on → by role: everything, or their territories and those below."""
    from dashboards import auth
    from dashboards.users import load_users

    settings = settings or get_settings()
    if not settings.access_control:
        if auth.serving_locally():
            return Access(restricted=False)
        return Access(restricted=True, reason=(
            "login is off and this server listens on other interfaces; start it with "
            "`sfe serve` (127.0.0.1) or turn on access_control and add users"))
    if user is not None:
        found = load_users(settings).get(user.strip().lower())
    else:
        ident = auth.current_identity(settings)
        found = ident.user if ident else None
    if found is None:
        return Access(restricted=True, user=user, reason=(
            "access control is on and you are not signed in (or not a user in "
            "users.json); sign in, or ask sales ops to add you with `sfe users add`"))
    if found.sees_everything:
        return Access(restricted=False, user=found.login, territory_id=ALL_TERRITORIES,
                      role=found.role)
    allowed = sorted({t for terr in found.territories for t in _subtree(settings, terr)})
    return Access(restricted=True, user=found.login, territory_id=", ".join(found.territories),
                  allowed=tuple(allowed), role=found.role)


def _subtree(settings: Settings, territory_id: str) -> list[str]:
    """A territory and every territory below it (via region_id, district_id or territory_path)."""
    if "marts.dim_territory" not in _tables(settings):
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


def scope_clause(column: str, kind: str = "territory", settings: Settings | None = None,
                 scoped: bool = True) -> tuple[str, list]:
    """The one function through which access control enters every query.

    kind: `territory` (column holds a territory_id), `customer` (a crm_customer_id, allowed when
    aligned to an allowed territory), `global` (distributor- or system-level data that is not split
    by territory: only unrestricted users see it). `scoped=False` is for company-wide outputs
    that no dashboard user drives (the emailed scorecard).
    """
    if not scoped:
        return "true", []
    acc = access(settings)
    if not acc.restricted:
        return "true", []
    allowed = list(acc.allowed)
    if not allowed:
        return "false", []
    if kind == "territory":
        return f"list_contains(?::varchar[], {column}::varchar)", [allowed]
    if kind == "customer":
        return (f"{column} in (select crm_customer_id from marts.bridge_customer_territory "
                f"where list_contains(?::varchar[], territory_id::varchar))", [allowed])
    return "false", []


# -- executive scorecard ---------------------------------------------------------------------------

SCORECARD_COLUMNS = [
    "week_start", "region_id", "sell_out_amount", "sell_out_amount_ly", "growth",
    "mtd_achievement_rate", "ytd_achievement_rate", "coverage_rate", "plan_adherence",
    "flow_completeness_rate", "distributors_over_doi_threshold", "data_status",
]


def scorecard_weeks(settings: Settings | None = None, scoped: bool = True) -> list[dt.date]:
    settings = settings or get_settings()
    _require("marts.scorecard_weekly", settings)
    where, params = scope_clause("region_id", settings=settings, scoped=scoped)
    df = run(f"select distinct cast(week_start as date) as w from marts.scorecard_weekly "
             f"where {where} order by w desc", params, settings=settings)
    return [pd.Timestamp(w).date() for w in df["w"]]


def latest_complete_week(settings: Settings | None = None, scoped: bool = True) -> dt.date | None:
    """The newest week whose Sunday is covered by the data (last sale date in the snapshot,
    else the last day of the as-of month); falls back to the newest week present."""
    settings = settings or get_settings()
    weeks = scorecard_weeks(settings, scoped=scoped)
    if not weeks:
        return None
    tables = _tables(settings)
    if "marts.scorecard_weeks" in tables:  # the mart says which weeks are whole
        done = week_completeness(settings)
        complete = [w for w in weeks if bool(done.get(w, (0, False))[1])]
        return max(complete) if complete else max(weeks)
    last_day: dt.date | None = None
    if "marts.fct_sell_out" in tables:
        df = run("select max(cast(sale_date as date)) as d from marts.fct_sell_out", settings=settings)
        if len(df) and not _isna(df["d"].iloc[0]):
            last_day = pd.Timestamp(df["d"].iloc[0]).date()
    if last_day is None:
        st_ = status(settings)
        as_of = st_.get("as_of_date") or st_.get("as_of_month")
        if as_of and len(str(as_of)) >= 10:
            last_day = pd.Timestamp(str(as_of)[:10]).date()
        elif as_of:
            last_day = pd.Period(str(as_of)[:7], freq="M").end_time.date()
    if last_day is not None:
        complete = [w for w in weeks if w + dt.timedelta(days=6) <= last_day]
        if complete:
            return max(complete)
    return max(weeks)


def week_completeness(settings: Settings | None = None) -> dict[dt.date, tuple[int, bool]]:
    """scorecard_weeks: week_start → (days with data, is_complete_week); empty when the snapshot
    predates the mart."""
    settings = settings or get_settings()
    if "marts.scorecard_weeks" not in _tables(settings):
        return {}
    df = run("select week_start, days_with_data, is_complete_week from marts.scorecard_weeks",
             settings=settings)
    return {pd.Timestamp(r.week_start).date(): (int(r.days_with_data), bool(r.is_complete_week))
            for r in df.itertuples()}


def region_names(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    if "marts.dim_territory" not in _tables(settings):
        return {}
    df = run("select territory_id, name from marts.dim_territory", settings=settings)
    return dict(zip(df["territory_id"].astype(str), df["name"].astype(str)))


def scorecard(week: dt.date | None = None, settings: Settings | None = None,
              scoped: bool = True) -> pd.DataFrame:
    """scorecard_weekly rows of one week (all weeks when None), regions in the user's scope."""
    settings = settings or get_settings()
    _require("marts.scorecard_weekly", settings)
    where, params = scope_clause("region_id", settings=settings, scoped=scoped)
    sql = f"select * from marts.scorecard_weekly where {where}"
    if week is not None:
        sql += " and cast(week_start as date) = ?"
        params = [*params, week]
    df = run(sql + " order by week_start, region_id", params, settings=settings)
    names = region_names(settings)
    df.insert(2, "region_name", df["region_id"].astype(str).map(names).fillna(df["region_id"]))
    return df


# -- KPI explorer -----------------------------------------------------------------------------------

def territories(settings: Settings | None = None) -> pd.DataFrame:
    """dim_territory in the user's scope, with `depth`: 0 above regions, 1 region, 2 district,
    3 territory (derived from region_id/district_id, so level names do not matter)."""
    settings = settings or get_settings()
    _require("marts.dim_territory", settings)
    where, params = scope_clause("territory_id", settings=settings)
    return run(
        f"""
        select territory_id, name, level, territory_path, region_id, district_id,
               case when territory_id = district_id then 2
                    when territory_id = region_id then 1
                    when region_id is null and district_id is null then 0
                    else 3 end as depth
        from marts.dim_territory where {where}
        order by depth, territory_path, territory_id
        """, params, settings=settings)


def children(parent_id: str | None, settings: Settings | None = None) -> pd.DataFrame:
    """Territories one level below `parent_id` (the top of the user's scope when None)."""
    terr = territories(settings)
    if terr.empty:
        return terr
    if parent_id is None:
        top = terr["depth"].min()
        # the top of the user's scope: nodes whose parent is outside the visible set
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


def subtree(territory_id: str | None, settings: Settings | None = None) -> list[str]:
    """A territory and everything below it, within the user's scope (all visible when None)."""
    settings = settings or get_settings()
    visible = territories(settings)["territory_id"].astype(str)
    if territory_id is None:
        return list(visible)
    return [t for t in _subtree(settings, territory_id) if t in set(visible)]


def _group(by: str) -> str:
    if by not in ("territory_id", "product_id"):
        raise ValueError(f"cannot group KPIs by {by!r}")
    return by


def months(table: str, settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    _require(f"marts.{table}", settings)
    df = run(f"select distinct month from marts.{table} where month is not null order by month desc",
             settings=settings)
    return [str(m) for m in df["month"]]


def own_products(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "marts.dim_product" not in _tables(settings):
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
        _require("marts.kpi_coverage", settings)
        conds, params = _territory_month_product(territory_ids, month, product_id, settings)
        return run(f"select month, territory_id, product_id, target_customers, "
                   f"covered_customers, coverage_rate from marts.kpi_coverage "
                   f"where {' and '.join(conds)} order by month, {_group(by)}, territory_id",
                   params, settings=settings)
    _require("marts.kpi_coverage_total", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select month, territory_id, target_pairs as target_customers, "
               f"covered_pairs as covered_customers, coverage_rate "
               f"from marts.kpi_coverage_total where {' and '.join(conds)} "
               "order by month, territory_id", params, settings=settings)


def coverage_target_basis(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_coverage_target_basis: per month, targets from levels or grades (empty if absent)."""
    settings = settings or get_settings()
    if "marts.kpi_coverage_target_basis" not in _tables(settings):
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
        _require("marts.kpi_target_achievement", settings)
        conds, params = _territory_month_product(territory_ids, month, product_id, settings)
        return run(f"select {cols.format(p='product_id, ')} from marts.kpi_target_achievement "
                   f"where {' and '.join(conds)} order by month, {_group(by)}, territory_id",
                   params, settings=settings)
    _require("marts.kpi_target_achievement_total", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select {cols.format(p='')} from marts.kpi_target_achievement_total "
               f"where {' and '.join(conds)} order by month, territory_id",
               params, settings=settings)


def call_activity(month: str | None, territory_ids: Sequence[str] | None = None,
                  settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity per rep (one month or all), reps of the given territories."""
    settings = settings or get_settings()
    _require("marts.kpi_call_activity", settings)
    where, params = scope_clause("territory_id", settings=settings)
    conds = [where]
    if territory_ids is not None:
        conds.append("list_contains(?::varchar[], territory_id::varchar)")
        params = [*params, list(territory_ids)]
    if month is not None:
        conds.append("month = ?")
        params = [*params, month]
    # a rep as "name (id)" from dim_rep; the bare id where the snapshot has no dim_rep or no name
    named = "marts.dim_rep" in _tables(settings)
    rep = ("coalesce(r.rep_name || ' (' || k.rep_id || ')', k.rep_id)" if named else "k.rep_id")
    join = "left join marts.dim_rep r using (rep_id)" if named else ""
    return run(f"select k.*, {rep} as rep from marts.kpi_call_activity k {join} "
               f"where {' and '.join(conds)} order by month, territory_id, rep_id",
               params, settings=settings)


def call_activity_totals(month: str, territory_ids: Sequence[str],
                         settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity_territory: the given territories' own roll-up rows for one month."""
    settings = settings or get_settings()
    _require("marts.kpi_call_activity_territory", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select * from marts.kpi_call_activity_territory where {' and '.join(conds)} "
               "order by territory_id", params, settings=settings)


def call_activity_by_grade(month: str, territory_ids: Sequence[str],
                           settings: Settings | None = None) -> pd.DataFrame:
    """kpi_call_activity_grade_territory: per customer grade, the given territories' rows."""
    settings = settings or get_settings()
    _require("marts.kpi_call_activity_grade_territory", settings)
    conds, params = _territory_month_product(territory_ids, month, None, settings)
    return run(f"select * from marts.kpi_call_activity_grade_territory "
               f"where {' and '.join(conds)} order by territory_id, grade",
               params, settings=settings)


def activity_roi(territory_ids: Sequence[str] | None = None,
                 settings: Settings | None = None) -> pd.DataFrame:
    """kpi_activity_roi of activities in the given territories (all when None), with the
    customer's and product's names."""
    settings = settings or get_settings()
    _require("marts.kpi_activity_roi", settings)
    tables = _tables(settings)
    where, params = scope_clause("r.crm_customer_id", kind="customer", settings=settings)
    conds = [where]
    if territory_ids is not None:
        conds.append("list_contains(?::varchar[], r.territory_id::varchar)")
        params = [*params, list(territory_ids)]
    cust = ("left join marts.dim_customer_address c using (crm_customer_id)"
            if "marts.dim_customer_address" in tables else "")
    cname = "c.name" if cust else "null"
    prod = "left join marts.dim_product p using (product_id)" if "marts.dim_product" in tables else ""
    pname = "coalesce(p.brand_name, p.generic_name)" if prod else "null"
    return run(f"select r.*, {cname} as customer_name, {pname} as product_name "
               f"from marts.kpi_activity_roi r {cust} {prod} where {' and '.join(conds)} "
               "order by r.roi desc nulls last, r.activity_id", params, settings=settings)


def activity_roi_totals(territory_ids: Sequence[str],
                        settings: Settings | None = None) -> pd.DataFrame:
    """kpi_activity_roi_territory: the given territories' own roll-up rows."""
    settings = settings or get_settings()
    _require("marts.kpi_activity_roi_territory", settings)
    conds, params = _territory_month_product(territory_ids, None, None, settings)
    return run(f"select * from marts.kpi_activity_roi_territory where {' and '.join(conds)} "
               "order by territory_id", params, settings=settings)


def expense_ratio(month: str | None, territory_ids: Sequence[str],
                  settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "marts.kpi_expense_ratio" not in _tables(settings):
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


# -- channel inventory ------------------------------------------------------------------------------

def channel_inventory(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_channel_inventory with distributor and product names; distributor-level data, so only
    users who see every territory get rows when access control is on."""
    settings = settings or get_settings()
    _require("marts.kpi_channel_inventory", settings)
    tables = _tables(settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    dist = ("left join marts.dim_distributor d using (distributor_code)"
            if "marts.dim_distributor" in tables else "")
    dname = "d.name as distributor_name," if dist else "i.distributor_code as distributor_name,"
    prod = "left join marts.dim_product p using (product_id)" if "marts.dim_product" in tables else ""
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


# -- tenders ----------------------------------------------------------------------------------------

def tenders(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_tender with kpi_tender_price's list-price comparison (when built); province-level
    data, not split by territory: users who see every territory only."""
    settings = settings or get_settings()
    _require("marts.kpi_tender", settings)
    where, params = scope_clause("t.province", kind="global", settings=settings)
    key = "province, batch, generic_name, spec"
    price = ("left join (select province, batch, generic_name, spec, product_id, list_price, "
             "own_win_price_to_list, lowest_winning_price_to_list from marts.kpi_tender_price) p "
             f"using ({key})" if "marts.kpi_tender_price" in _tables(settings) else "")
    extra = ("p.product_id, p.list_price, p.own_win_price_to_list, p.lowest_winning_price_to_list"
             if price else "null as product_id, null as list_price, null as own_win_price_to_list, "
             "null as lowest_winning_price_to_list")
    return run(f"select t.*, {extra} from marts.kpi_tender t {price} where {where} "
               f"order by {key}", params, settings=settings)


def tender_provinces(settings: Settings | None = None) -> pd.DataFrame:
    """kpi_tender_province: bids, wins and win rate per province."""
    settings = settings or get_settings()
    _require("marts.kpi_tender_province", settings)
    where, params = scope_clause("province", kind="global", settings=settings)
    return run(f"select * from marts.kpi_tender_province where {where} order by province",
               params, settings=settings)


def inventory_month(month: str, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_channel_inventory_month's row for the month (distributor-level: unrestricted only)."""
    settings = settings or get_settings()
    _require("marts.kpi_channel_inventory_month", settings)
    where, params = scope_clause("month", kind="global", settings=settings)
    return run(f"select * from marts.kpi_channel_inventory_month where {where} and month = ?",
               [*params, month], settings=settings)


# -- loads ------------------------------------------------------------------------------------------

def file_registry(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    _require("audit.file_registry", settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    cols = set(_columns("audit.file_registry", settings))
    wanted = ["file_id", "path", "source", "entity", "distributor_code", "period_start",
              "period_end", "status", "rows_read", "rows_loaded", "rows_quarantined",
              "received_at", "loaded_at", "reasons", "duplicate_of", "superseded_by",
              "conflict_with", "run_id"]
    select = ", ".join(c for c in wanted if c in cols)
    order = "loaded_at desc nulls last, file_id desc" if "loaded_at" in cols else "file_id desc"
    df = run(f"select {select} from audit.file_registry where {where} order by {order}",
             params, settings=settings)
    if "reasons" in df.columns:
        df["acknowledged"] = df["reasons"].map(_acknowledgement)
        df["reasons"] = df["reasons"].map(_join_reasons)
    return df


def _acknowledgement(value: object) -> str | None:
    """Who set a rejected file aside and why (file_decisions.yaml `ignore`), else None."""
    if value is None or isinstance(value, str) or not hasattr(value, "__iter__"):
        return None
    notes = [str(r)[len(ACK_PREFIX):] for r in value if str(r).startswith(ACK_PREFIX)]
    return notes[-1] if notes else None


def inbox_skipped(settings: Settings | None = None) -> pd.DataFrame:
    """Inbox entries the latest ingest did not read by rule (hidden, `_`, `~$` …) and why."""
    settings = settings or get_settings()
    if "audit.inbox_skipped" not in _tables(settings):
        return pd.DataFrame(columns=["path", "reason", "seen_at"])
    where, params = scope_clause("path", kind="global", settings=settings)
    return run(f"select path, reason, seen_at from audit.inbox_skipped where {where} "
               "order by path", params, settings=settings)


def _join_reasons(value: object) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and _isna(value)):
        return ""
    if isinstance(value, str):
        return value
    try:
        return "; ".join(str(v) for v in value)
    except TypeError:
        return str(value)


def quarantine_counts(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "quarantine.rows" not in _tables(settings):
        return pd.DataFrame(columns=["source", "distributor_code", "reason", "rows"])
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    return run(f"select source, distributor_code, reason, count(*) as rows from quarantine.rows "
               f"where {where} group by all order by rows desc, source, distributor_code",
               params, settings=settings)


def flow_completeness(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    _require("marts.kpi_flow_completeness", settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    conds = [where]
    if month is not None:
        conds.append("month = ?")
        params = [*params, month]
    return run(f"select * from marts.kpi_flow_completeness where {' and '.join(conds)} "
               "order by month desc, distributor_code", params, settings=settings)


def late_distributors(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_flow_completeness rows of distributors expected to send flow that sent nothing
    (missing) or sent it after the deadline (late): rows of the mart, picked by its flags."""
    settings = settings or get_settings()
    _require("marts.kpi_flow_completeness", settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    cols = set(_columns("marts.kpi_flow_completeness", settings))
    conds = [where, "coalesce(expected, true)" if "expected" in cols else "true",
             "not (coalesce(received, false) and coalesce(on_time, false))"]
    if month is not None:
        conds.append("month = ?")
        params = [*params, month]
    return run(f"select *, case when coalesce(received, false) then 'late 迟交' "
               f"else 'missing 未收到' end as problem from marts.kpi_flow_completeness "
               f"where {' and '.join(conds)} order by month desc, distributor_code",
               params, settings=settings)


def flow_completeness_by_region(month: str, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_flow_completeness_region for one month, by region name; for a user who sees every
    region, a last row for the nation made of the sums of the regions' counts (the mart holds
    no nation row: one grain per table)."""
    settings = settings or get_settings()
    _require("marts.kpi_flow_completeness_region", settings)
    where, params = scope_clause("f.region_id", settings=settings)
    nation = "" if where != "true" else """
        union all
        select null, '全国 Nation', sum(expected), sum(received), sum(on_time),
               sum(received) / nullif(sum(expected), 0), sum(on_time) / nullif(sum(expected), 0),
               sum(matched_terminal_qty_boxes) / nullif(sum(terminal_qty_boxes), 0),
               null, null, true
        from regions having count(*) > 0"""
    names = ("left join marts.dim_territory t on t.territory_id = f.region_id"
             if "marts.dim_territory" in _tables(settings) else "")
    name = "coalesce(t.name, f.region_id)" if names else "f.region_id"
    return run(f"""
        with regions as (
            select f.*, {name} as region_name from marts.kpi_flow_completeness_region f {names}
            where {where} and f.month = ?)
        select region_id, region_name, expected, received, on_time, completeness_rate,
               on_time_rate, match_rate, terminal_qty_boxes, matched_terminal_qty_boxes,
               false as is_nation
        from regions{nation}
        order by is_nation, region_id""", [*params, month], settings=settings)


# -- data quality ------------------------------------------------------------------------------------

_GATE_COLUMNS = ["run_id", "check_name", "severity", "status", "failing_rows", "message",
                 "sample", "checked_at"]


def _gate_rows(settings: Settings, run_id: object | None, where: str = "true",
               params: Sequence[Any] = ()) -> pd.DataFrame:
    if "audit.gate_results" not in _tables(settings):
        return pd.DataFrame(columns=_GATE_COLUMNS)
    params = list(params)
    if run_id is not None:
        where += " and run_id = ?"
        params.append(str(run_id))
    return run(f"select * from audit.gate_results where {where} "
               "order by checked_at desc nulls last, check_name", params, settings=settings)


def gate_results(settings: Settings | None = None, run_id: str | None = None) -> pd.DataFrame:
    """audit.gate_results of one run (all runs when None); system-level, unrestricted users only."""
    settings = settings or get_settings()
    where, params = scope_clause("check_name", kind="global", settings=settings)
    return _gate_rows(settings, run_id, where, params)


def gate_trend(settings: Settings | None = None) -> pd.DataFrame:
    """Per run: how many checks ran and how many failed (blocking or warning)."""
    df = gate_results(settings)
    if df.empty:
        return pd.DataFrame(columns=["run_id", "checked_at", "checks", "failed", "blocking_failed"])
    df = df.assign(failed=df["status"].map(_is_failed),
                   blocking_failed=df["status"].map(_is_failed) & df["severity"].map(_is_blocking))
    out = df.groupby("run_id", dropna=False).agg(
        checked_at=("checked_at", "max"), checks=("check_name", "count"),
        failed=("failed", "sum"), blocking_failed=("blocking_failed", "sum")).reset_index()
    return out.sort_values("checked_at")


def publish_history(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "audit.publish_info" not in _tables(settings):
        return pd.DataFrame(columns=["snapshot_id", "published_at", "run_id", "gate_status",
                                     "as_of_month"])
    where, params = scope_clause("run_id", kind="global", settings=settings)
    return run(f"select * from audit.publish_info where {where} "
               "order by published_at desc nulls last", params, settings=settings)


def is_unrestricted(settings: Settings | None = None) -> bool:
    return not access(settings).restricted


# -- matching stewardship (through matching.stewardship only) ---------------------------------------

class StewardshipMissing(RuntimeError):
    pass


def _stewardship():
    try:
        return importlib.import_module("matching.stewardship")
    except ImportError as exc:
        raise StewardshipMissing(
            "the stewardship module (matching/stewardship.py) is not built in this version; "
            "the review queue below is read from the published snapshot and decisions "
            "cannot be recorded yet") from exc


class DecisionsUnreadable(RuntimeError):
    """The stewards' decisions file has a bad line; the message names file, line and the fix."""


def _decisions_guarded(module: Any, call: Any) -> Any:
    """Run `call()`; a DecisionError of the stewardship module becomes DecisionsUnreadable,
    so a page shows its message instead of a traceback."""
    error = getattr(module, "DecisionError", None)
    try:
        return call()
    except Exception as exc:
        if isinstance(error, type) and isinstance(exc, error):
            raise DecisionsUnreadable(str(exc)) from exc
        raise


def review_queue(settings: Settings | None = None) -> pd.DataFrame:
    """Suggested matches waiting for a steward (matching.stewardship.review_queue)."""
    settings = settings or get_settings()
    module = _stewardship()
    func = getattr(module, "review_queue", None)
    if func is None:
        raise StewardshipMissing("matching.stewardship has no review_queue(settings) yet")
    _require("matching.customer_source_map", settings)
    # read from the published snapshot, never the working warehouse
    db = Path(_snapshot_key(settings)[0])
    frame = _decisions_guarded(module, lambda: func(settings, db_path=db))
    if hasattr(frame, "to_pandas"):
        frame = frame.to_pandas()
    return pd.DataFrame(frame)


def review_amounts(settings: Settings | None = None) -> pd.DataFrame:
    """map_customer_review: the unmatched sell-out at stake per raw name in review (empty when
    the snapshot predates the mart). Distributor-level data: unrestricted users only."""
    settings = settings or get_settings()
    cols = ["source", "distributor_code", "buyer_code", "raw_name", "flow_rows",
            "sell_out_amount", "last_sale_date"]
    if "marts.map_customer_review" not in _tables(settings):
        return pd.DataFrame(columns=cols)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    return run(f"select {', '.join(cols)} from marts.map_customer_review where {where}",
               params, settings=settings)


def customer_addresses(crm_ids: Sequence[str], settings: Settings | None = None) -> pd.DataFrame:
    """dim_customer_address rows of the given customers (candidates shown to a steward)."""
    settings = settings or get_settings()
    cols = ["crm_customer_id", "name", "province", "city", "district", "address"]
    if "marts.dim_customer_address" not in _tables(settings) or not crm_ids:
        return pd.DataFrame(columns=cols)
    return run(f"select {', '.join(cols)} from marts.dim_customer_address "
               "where list_contains(?::varchar[], crm_customer_id)",
               [list(map(str, crm_ids))], settings=settings)


def review_queue_from_snapshot(settings: Settings | None = None) -> pd.DataFrame:
    """Read-only fallback: `review` rows of map_customer_source in the published snapshot."""
    settings = settings or get_settings()
    _require("marts.map_customer_source", settings)
    code = ("buyer_code" if "buyer_code" in _columns("marts.map_customer_source", settings)
            else "'' as buyer_code")
    return run(f"select source, distributor_code, {code}, source_key, raw_name, match_method, "
               "match_score from marts.map_customer_source where match_status = 'review' "
               "order by match_score desc nulls last, distributor_code, raw_name",
               settings=settings)


class NotAllowed(PermissionError):
    """This session may not do that; the message says who may."""


def record_decision(settings: Settings | None = None, **decision: Any) -> Any:
    """Persist one steward decision (confirm|reject|remap|new_customer) via matching.stewardship,
    as the signed-in steward (`auth.decision_author`); a `who` passed in is never trusted."""
    from dashboards import auth

    settings = settings or get_settings()
    author = auth.decision_author(settings)
    if author is None:
        raise NotAllowed("only a signed-in steward records match decisions (with login off: "
                         "only on a server bound to this machine)")
    func = getattr(_stewardship(), "record_decision", None)
    if func is None:
        raise StewardshipMissing("matching.stewardship has no record_decision(...) yet")
    result = func(settings, **{**decision, "who": author})
    st.cache_data.clear()
    return result


def decision_log(settings: Settings | None = None) -> pd.DataFrame:
    """Every steward decision so far (the audit log), newest first."""
    settings = settings or get_settings()
    module = _stewardship()
    for name in ("decision_log", "list_decisions", "read_decisions", "load_decisions",
                 "decisions"):
        func = getattr(module, name, None)
        if callable(func):
            frame = _decisions_guarded(module, lambda: func(settings))  # noqa: B023
            if hasattr(frame, "to_pandas"):
                frame = frame.to_pandas()
            if isinstance(frame, list):
                frame = [asdict(x) if is_dataclass(x) else dict(x) for x in frame]
            df = pd.DataFrame(frame)
            if "at" in df.columns:
                df = df.sort_values("at", ascending=False)
            return df
    raise StewardshipMissing("matching.stewardship has no function listing decisions yet")
