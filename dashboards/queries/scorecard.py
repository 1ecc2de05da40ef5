"""Executive scorecard page and the emailed scorecard: scorecard_weekly rows and the week rules
(which weeks exist, which are whole)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import get_settings, isna, require, run, tables
from dashboards.status import status
from dashboards.territories import region_names
from sfe.config import Settings


def scorecard_weeks(settings: Settings | None = None, scoped: bool = True) -> list[dt.date]:
    settings = settings or get_settings()
    require("marts.scorecard_weekly", settings)
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
    present = tables(settings)
    if "marts.scorecard_weeks" in present:  # the mart says which weeks are whole
        done = week_completeness(settings)
        complete = [w for w in weeks if bool(done.get(w, (0, False))[1])]
        return max(complete) if complete else max(weeks)
    last_day = _last_day_with_data(settings, present)
    if last_day is not None:
        complete = [w for w in weeks if w + dt.timedelta(days=6) <= last_day]
        if complete:
            return max(complete)
    return max(weeks)


def _last_day_with_data(settings: Settings, present: set[str]) -> dt.date | None:
    """The last sale date in the snapshot, else the as-of date, else the as-of month's end."""
    if "marts.fct_sell_out" in present:
        df = run("select max(cast(sale_date as date)) as d from marts.fct_sell_out", settings=settings)
        if len(df) and not isna(df["d"].iloc[0]):
            return pd.Timestamp(df["d"].iloc[0]).date()
    st_ = status(settings)
    as_of = st_.get("as_of_date") or st_.get("as_of_month")
    if as_of and len(str(as_of)) >= 10:
        return pd.Timestamp(str(as_of)[:10]).date()
    if as_of:
        return pd.Period(str(as_of)[:7], freq="M").end_time.date()
    return None


def week_completeness(settings: Settings | None = None) -> dict[dt.date, tuple[int, bool]]:
    """scorecard_weeks: week_start → (days with data, is_complete_week); empty when the snapshot
    predates the mart."""
    settings = settings or get_settings()
    if "marts.scorecard_weeks" not in tables(settings):
        return {}
    df = run("select week_start, days_with_data, is_complete_week from marts.scorecard_weeks",
             settings=settings)
    return {pd.Timestamp(r.week_start).date(): (int(r.days_with_data), bool(r.is_complete_week))
            for r in df.itertuples()}


def scorecard(week: dt.date | None = None, settings: Settings | None = None,
              scoped: bool = True) -> pd.DataFrame:
    """scorecard_weekly rows of one week (all weeks when None), regions in the user's scope."""
    settings = settings or get_settings()
    require("marts.scorecard_weekly", settings)
    where, params = scope_clause("region_id", settings=settings, scoped=scoped)
    sql = f"select * from marts.scorecard_weekly where {where}"
    if week is not None:
        sql += " and cast(week_start as date) = ?"
        params = [*params, week]
    df = run(sql + " order by week_start, region_id", params, settings=settings)
    names = region_names(settings)
    df.insert(2, "region_name", df["region_id"].astype(str).map(names).fillna(df["region_id"]))
    return df
