"""Loads page (and `sfe` late-flow reminders): the file registry, skipped inbox entries,
quarantine, and flow completeness per distributor and per region."""

from __future__ import annotations

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import columns, get_settings, isna, require, run, tables
from ingestion.file_decisions import ACK_PREFIX
from sfe.config import Settings

NATION = "全国 Nation"
# kpi_flow_completeness_region's counts; the nation's figures are their sums (spec: kpis.md)
_REGION_COUNTS = ["expected", "received", "on_time", "terminal_qty_boxes",
                  "matched_terminal_qty_boxes"]
_REGION_COLUMNS = ["region_id", "region_name", "expected", "received", "on_time",
                   "completeness_rate", "on_time_rate", "match_rate", "terminal_qty_boxes",
                   "matched_terminal_qty_boxes", "is_nation"]


def file_registry(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    require("audit.file_registry", settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    cols = set(columns("audit.file_registry", settings))
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
    if "audit.inbox_skipped" not in tables(settings):
        return pd.DataFrame(columns=["path", "reason", "seen_at"])
    where, params = scope_clause("path", kind="global", settings=settings)
    return run(f"select path, reason, seen_at from audit.inbox_skipped where {where} "
               "order by path", params, settings=settings)


def _join_reasons(value: object) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and isna(value)):
        return ""
    if isinstance(value, str):
        return value
    try:
        return "; ".join(str(v) for v in value)
    except TypeError:
        return str(value)


def quarantine_counts(settings: Settings | None = None) -> pd.DataFrame:
    """Quarantined rows per file and reason, with the file's path and the rows' numbers in it
    (`source_rows`, e.g. '17–20, 31'): what a person needs to open the file and fix them."""
    settings = settings or get_settings()
    present = tables(settings)
    if "quarantine.rows" not in present:
        return pd.DataFrame(columns=["path", "sheet", "source_rows", "reason", "rows",
                                     "distributor_code", "source"])
    where, params = scope_clause("q.distributor_code", kind="global", settings=settings)
    registry = ("left join audit.file_registry f on f.file_id = q.file_id"
                if "audit.file_registry" in present else "")
    path = ("coalesce(f.path, 'file ' || q.file_id)" if registry
            else "'file ' || q.file_id")
    df = run(f"""
        select {path} as path, q.sheet, list(q.source_row order by q.source_row) as source_rows,
               q.reason, count(*) as rows, q.distributor_code, q.source
        from quarantine.rows q {registry}
        where {where} group by all order by rows desc, q.source, q.distributor_code, path""",
             params, settings=settings)
    df["source_rows"] = df["source_rows"].map(row_ranges)
    return df


def row_ranges(rows: object, limit: int = 12) -> str:
    """Row numbers as a person reads them: runs joined ('17–20, 31'); past `limit` runs, the
    count of the rest ('… +5 more'); '—' when the reader gave no row numbers."""
    numbers = sorted({int(r) for r in (rows if rows is not None else []) if not isna(r)})
    runs: list[str] = []
    for n in numbers:
        if runs and runs[-1].split("–")[-1] == str(n - 1):
            runs[-1] = f"{runs[-1].split('–')[0]}–{n}"
        else:
            runs.append(str(n))
    if not runs:
        return "—"
    more = f", … +{len(runs) - limit} more" if len(runs) > limit else ""
    return ", ".join(runs[:limit]) + more


def flow_completeness(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    require("marts.kpi_flow_completeness", settings)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    conds = [where]
    if month is not None:
        conds.append("month = ?")
        params = [*params, month]
    return run(f"select * from marts.kpi_flow_completeness where {' and '.join(conds)} "
               "order by month desc, distributor_code", params, settings=settings)


def late_distributors(month: str | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_flow_completeness rows of distributors expected to send flow that sent nothing
    (missing) or sent it after the deadline (late): rows of the mart, picked by its flags; with
    the distributor's name (dim_distributor), whom sales ops will call."""
    settings = settings or get_settings()
    require("marts.kpi_flow_completeness", settings)
    where, params = scope_clause("f.distributor_code", kind="global", settings=settings)
    cols = set(columns("marts.kpi_flow_completeness", settings))
    conds = [where, "coalesce(f.expected, true)" if "expected" in cols else "true",
             "not (coalesce(f.received, false) and coalesce(f.on_time, false))"]
    if month is not None:
        conds.append("f.month = ?")
        params = [*params, month]
    names = ("left join marts.dim_distributor d on d.distributor_code = f.distributor_code"
             if "marts.dim_distributor" in tables(settings) else "")
    name = "d.name" if names else "null::varchar"
    return run(f"select f.*, {name} as distributor_name, "
               "case when coalesce(f.received, false) then 'late 迟交' "
               f"else 'missing 未收到' end as problem from marts.kpi_flow_completeness f {names} "
               f"where {' and '.join(conds)} order by f.month desc, f.distributor_code",
               params, settings=settings)


def flow_completeness_by_region(month: str, settings: Settings | None = None) -> pd.DataFrame:
    """kpi_flow_completeness_region's rows for one month, by region name; for a user who sees
    every region, a last row for the nation (`nation_row`: the sums of the regions' counts; the
    mart holds no nation row: one grain per table)."""
    settings = settings or get_settings()
    require("marts.kpi_flow_completeness_region", settings)
    where, params = scope_clause("f.region_id", settings=settings)
    names = ("left join marts.dim_territory t on t.territory_id = f.region_id"
             if "marts.dim_territory" in tables(settings) else "")
    name = "coalesce(t.name, f.region_id)" if names else "f.region_id"
    regions = run(f"""
        select f.region_id, {name} as region_name, f.expected, f.received, f.on_time,
               f.completeness_rate, f.on_time_rate, f.match_rate, f.terminal_qty_boxes,
               f.matched_terminal_qty_boxes, false as is_nation
        from marts.kpi_flow_completeness_region f {names}
        where {where} and f.month = ?
        order by f.region_id""", [*params, month], settings=settings)
    if where != "true" or regions.empty:  # a user who sees part of the country gets no nation
        return regions
    nation = pd.DataFrame([nation_row(regions)], columns=_REGION_COLUMNS)
    return pd.concat([regions, nation.astype(regions.dtypes.to_dict(), errors="ignore")],
                     ignore_index=True)


def nation_row(regions: pd.DataFrame) -> dict[str, object]:
    """The nation's flow completeness from the regions' rows of the mart: sums of their counts,
    and rates as ratios of those sums (never an average of the regions' rates)."""
    sums = {c: regions[c].sum(min_count=1) for c in _REGION_COUNTS}
    return {"region_id": None, "region_name": NATION, **sums,
            "completeness_rate": _ratio(sums["received"], sums["expected"]),
            "on_time_rate": _ratio(sums["on_time"], sums["expected"]),
            "match_rate": _ratio(sums["matched_terminal_qty_boxes"], sums["terminal_qty_boxes"]),
            "terminal_qty_boxes": None, "matched_terminal_qty_boxes": None, "is_nation": True}


def _ratio(num: object, den: object) -> float | None:
    if isna(num) or isna(den) or not den:
        return None
    return float(num) / float(den)
