"""Which months a check must look at: those whose data may differ from what the last passed
check saw (gates.yml: `changed_months_where`, `changed_dates_where`).

A gate about the months' own rows (a month adds up, a month of raw flow has facts) passed on
every month the last passed check saw; a month whose files and build inputs are unchanged since
holds the same rows, so it passes again. After a passed check (no blocking failure, no error)
the state is kept beside the working warehouse: the registry files of the build it checked (the
build's own record, sfe/build_months.py), its matches, its key (project, seeds,
vars, masters) and the gates' rules digest. The next check looks at the months of every
file that differs from those files, in raw now or in the latest build; every month (None) when
no state is kept, the latest build is not recorded (it failed or is running), its key or the
rules differ, a match changed (new ones only reach new files), or a changed file has no
period (a master snapshot).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from sfe.config import Settings
from sfe import build_months


def _path(settings: Settings) -> Path:
    return settings.warehouse_dir / "last_passed_check_files.json"


def _union(*parts: list[str] | None) -> list[str] | None:
    if any(part is None for part in parts):
        return None
    return sorted({month for part in parts for month in part or []})


def months_to_check(settings: Settings, con: duckdb.DuckDBPyConnection,
                    digest: str) -> list[str] | None:
    """The months changed since the last passed check (`con`: the working warehouse), or
    None: every month."""
    build = build_months.last_build(settings.dbt_target_dir)
    try:
        kept = json.loads(_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (build is None or build.get("key") is None or not isinstance(kept, dict)
            or kept.get("key") != build["key"] or kept.get("rules") != digest):
        return None
    seen_maps, maps = kept.get("maps"), build.get("maps")
    if (seen_maps or maps) and not build_months.only_grew(seen_maps, maps):
        return None  # a match changed (a steward decision, a re-match): old months moved
    try:
        now = build_months.file_states(con)
    except duckdb.Error:
        return None  # a registry this code cannot read: every month
    seen = kept.get("files") or {}
    return _union(build_months.changed_months(seen, build.get("files") or {}),
                  build_months.changed_months(seen, now))


def record_passed(settings: Settings, digest: str) -> None:
    """After a check without blocking failure or error: what it saw (the latest build's
    files and key, the rules); without a build record, nothing (the next check sees all)."""
    build = build_months.last_build(settings.dbt_target_dir)
    if build is None or build.get("key") is None:
        _path(settings).unlink(missing_ok=True)
        return
    _path(settings).write_text(json.dumps({"key": build["key"], "rules": digest,
                                           "files": build.get("files") or {},
                                           "maps": build.get("maps")}),
                               encoding="utf-8")


def forget(settings: Settings) -> None:
    """A check that did not pass: the next one looks at every month."""
    _path(settings).unlink(missing_ok=True)


def shift_month(month: str, n: int) -> str:
    """'YYYY-MM' n months later (earlier when n < 0)."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_where(months: list[str] | None, column: str) -> str:
    """SQL: `column` ('YYYY-MM') is a month to check; true when all are, false when none."""
    if months is None:
        return "true"
    if not months:
        return "false"
    return f"{column} in ({', '.join(repr(m) for m in months)})"


def dates_where(months: list[str] | None, column: str) -> str:
    """SQL: date `column` lies in the span from the first month to check to the last (a plain
    range: DuckDB skips row groups by their zone maps, which a month label computed from the
    date hides). A superset when the months are not consecutive: gates add the month test."""
    if months is None:
        return "true"
    if not months:
        return "false"
    end = shift_month(max(months), 1)
    return f"({column} >= date '{min(months)}-01' and {column} < date '{end}-01')"


def weeks_where(months: list[str] | None, column: str) -> str:
    """SQL: date `column` lies in a week (Monday to Sunday, as DuckDB's date_trunc('week'))
    that overlaps the months to check: a week straddling a changed month and an unchanged one
    is read whole. For a week_start column as for a day's date."""
    if months is None:
        return "true"
    if not months:
        return "false"
    first = dt.date.fromisoformat(f"{min(months)}-01")
    last = dt.date.fromisoformat(f"{shift_month(max(months), 1)}-01") - dt.timedelta(days=1)
    start = first - dt.timedelta(days=first.weekday())
    stop = last - dt.timedelta(days=last.weekday()) + dt.timedelta(days=7)
    return f"({column} >= date '{start}' and {column} < date '{stop}')"
