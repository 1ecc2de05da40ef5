"""Which months a build must rebuild: the months of every file new, gone or changed since the
last successful build, passed to dbt as var `kpi_changed_months` (the incremental KPI marts
widen it to the months that read them: macros/incremental_kpi_months.sql).

The registry is compared row by row with the one the last successful build saw, so a new file,
a re-sent file superseding an old one (both periods), a removed file or a status change all
count. None means "every month": no earlier state, a changed project / seed / var / matching
/ master fingerprint, or a changed file without a period (a master snapshot).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

# statuses whose rows are in raw (the others never reached the facts)
_LIVE = {"loaded", "partial"}
# sources no month-incremental model reads (tenders feed kpi_tender*, rebuilt in full)
_NOT_MONTHLY = {"tenders"}

# the registry keeps a period for flow and inventory files; the other sources' periods come
# from their rows (a file without rows in raw keeps the period the last state recorded)
_RAW_PERIODS = {
    "crm__calls": "cast(call_datetime as date), cast(call_datetime as date)",
    "sellin__shipments": "ship_date, ship_date",
    "tenders__results": "least(coalesce(announce_date, result_date), "
                        "coalesce(result_date, announce_date)), "
                        "greatest(coalesce(announce_date, result_date), "
                        "coalesce(result_date, announce_date))",
    "plan__targets": "cast(month || '-01' as date), cast(month || '-01' as date)",
    "marketing__activities": "start_date, coalesce(end_date, start_date)",
}


def _files_sql(con: duckdb.DuckDBPyConnection) -> str:
    present = {t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
        " and table_catalog = current_database()").fetchall()}
    parts = []
    for table, dates in _RAW_PERIODS.items():
        if table in present:
            first, last = dates.split(", ", 1) if table != "tenders__results" else (
                dates[:dates.index("), greatest(") + 1], dates[dates.index("greatest("):])
            parts.append(f"select file_id, min({first}) as s, max({last}) as e "
                         f"from raw.{table} group by file_id")
    periods = " union all ".join(parts) or "select null::bigint as file_id, null::date as s, " \
                                          "null::date as e where false"
    return (f"with periods as ({periods}) "
            "select r.file_id, r.source, r.status, coalesce(r.period_start, p.s), "
            "coalesce(r.period_end, p.e), r.loaded_at, r.sha256, r.superseded_by "
            "from audit.file_registry as r left join periods as p on p.file_id = r.file_id")


def file_states(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """One JSON-able row per registered file, keyed by file id."""
    out: dict[str, list[Any]] = {}
    for row in con.execute(_files_sql(con)).fetchall():
        out[str(row[0])] = [v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v
                            for v in row[1:]]
    return out


def state_key(state: dict[str, Any] | None) -> str | None:
    """What, besides files, the marts depend on (project, vars, matching, masters)."""
    if state is None:
        return None
    rest = {k: v for k, v in state.items() if k != "files"}
    rest["inputs"] = {k: v for k, v in (rest.get("inputs") or {}).items() if k not in MAP_KEYS}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _months(start: str, end: str) -> list[str]:
    first, last = dt.date.fromisoformat(start[:10]), dt.date.fromisoformat(end[:10])
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def changed_months(before: dict[str, list[Any]],
                   after: dict[str, list[Any]]) -> list[str] | None:
    """Months of every file whose registry row differs (both versions); None: all months."""
    months: set[str] = set()
    for file_id in before.keys() | after.keys():
        old, new = before.get(file_id), after.get(file_id)
        if old == new:
            continue
        if not any(row is not None and row[1] in _LIVE for row in (old, new)):
            continue  # never had rows in raw, before or now
        if all(row is None or row[0] in _NOT_MONTHLY for row in (old, new)):
            continue
        for row in (old, new):
            if row is None:
                continue
            if row[2] is None or row[3] is None:
                return None  # a file without a period (snapshot): it may reach every month
            months.update(_months(row[2], row[3]))
    return sorted(months)


def _path(target_dir: Path) -> Path:
    return target_dir / "last_build_files.json"


def last_build(target_dir: Path) -> dict[str, Any] | None:
    """The last successful build's record (key, files, maps), or None: none kept, or a
    build failed or runs since. The check reads it too (quality/check_months.py)."""
    try:
        doc = json.loads(_path(target_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def months_since_last_build(target_dir: Path, key: str | None,
                            files: dict[str, list[Any]] | None) -> list[str] | None:
    """The changed months since the last successful build, or None (rebuild every month)."""
    if key is None or files is None:
        return None
    previous = last_build(target_dir)
    if previous is None or previous.get("key") != key:
        return None
    return changed_months(previous.get("files") or {}, files)


def record(target_dir: Path, key: str | None, files: dict[str, list[Any]] | None,
           maps: dict[str, dict[str, str]] | None = None) -> None:
    """After a successful build: the state the next build compares with."""
    if key is None or files is None:
        _path(target_dir).unlink(missing_ok=True)
        return
    _path(target_dir).write_text(json.dumps({"key": key, "files": files, "maps": maps}),
                                 encoding="utf-8")



# Matching results as entries (raw name → its match). A new month brings new raw names: new
# entries, whose rows are all in the new files (rebuilt anyway). Only an entry that changed or
# went away (a steward decision, a re-match) reaches months already built.
_MAP_SQL = {
    "customer_map": "select hash(source, distributor_code, buyer_code, raw_name)::varchar, "
                    "hash(buyer_kind, buyer_distributor_code, crm_customer_id, match_status)"
                    "::varchar from matching.customer_source_map",
    "product_map": "select hash(distributor_code, raw_product, raw_spec)::varchar, "
                   "hash(product_id, box_factor_min_unit, box_factor_case)::varchar "
                   "from matching.product_source_map",
}
MAP_KEYS = frozenset(_MAP_SQL)


def map_entries(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]] | None:
    try:
        return {name: dict(con.execute(sql).fetchall()) for name, sql in _MAP_SQL.items()}
    except duckdb.Error:
        return None


def maps_only_grew(target_dir: Path, maps: dict[str, dict[str, str]] | None) -> bool:
    """True when every match the last successful build used is unchanged (new ones may exist)."""
    previous = last_build(target_dir)
    return previous is not None and only_grew(previous.get("maps"), maps)


def only_grew(before: dict[str, dict[str, str]] | None,
              after: dict[str, dict[str, str]] | None) -> bool:
    """True when every match in `before` is in `after`, unchanged (new ones may exist)."""
    if not before or after is None:
        return False
    return all(after.get(name, {}).get(key) == value
               for name, entries in before.items() for key, value in entries.items())
