"""Finding inbox files and what each one is, from the folder it sits in (sources.md).

`master/<entity>*.csv`, `flow/<distributor_code>/*`, `inventory/<distributor_code>/*`,
`sellin/`, `calls/`, `activities/`, `tenders/`, `targets/`. Folders starting with `_` or `.`
(such as the generator's `_truth/`) and hidden files are not part of the inbox.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from ingestion.sources import BY_FOLDER, Source, master_for

# kpis.md: the business time zone is Asia/Shanghai; arrival times (on-time flow, which re-send
# is newer) are naive local times there, whatever the server's own zone.
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")

KNOWN_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".jsonl",
                  ".ndjson", ".json", ".dat"}
_FULL_DATE = re.compile(r"(20\d{2})[-_.年]?(0[1-9]|1[0-2])[-_.月]?(0[1-9]|[12]\d|3[01])(?!\d)")
_MONTH = re.compile(r"(20\d{2})[-_.年]?(0[1-9]|1[0-2])(?!\d)")
_TEXT_DATE = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    rel: str  # relative to the inbox, with forward slashes
    folder: str  # top-level folder (the source as written)
    source: Source | None
    distributor_code: str | None
    received_at: dt.datetime  # file modification time
    name_date: dt.date | None  # a date written in the file name
    problem: str | None = None  # why the file cannot be taken at all


def discover(inbox: Path) -> list[InboxFile]:
    """Every inbox file: masters first (flow checks products against them), then oldest first
    (by modification time, then path), so a re-send comes after what it corrects."""
    items = [_describe(inbox, p) for p in inbox.rglob("*") if p.is_file() and _visible(inbox, p)]
    return sorted(items, key=lambda f: (f.folder != "master", f.received_at, f.rel))


def _visible(inbox: Path, path: Path) -> bool:
    parts = path.relative_to(inbox).parts
    return not any(part.startswith((".", "_", "~$")) for part in parts)


def _describe(inbox: Path, path: Path) -> InboxFile:
    rel_parts = path.relative_to(inbox).parts
    rel = "/".join(rel_parts)
    received = dt.datetime.fromtimestamp(path.stat().st_mtime, BUSINESS_TZ).replace(tzinfo=None)
    folder = rel_parts[0] if len(rel_parts) > 1 else ""
    source, distributor, problem = _classify(rel_parts, path)
    return InboxFile(path, rel, folder, source, distributor, received, name_date(path.stem),
                     problem)


def _classify(parts: tuple[str, ...], path: Path) -> tuple[Source | None, str | None, str | None]:
    if path.suffix.lower() not in KNOWN_SUFFIXES:
        return None, None, (f"unknown format '{path.suffix or '(no extension)'}'; send CSV/TXT, "
                            "Excel (.xlsx/.xls), Parquet or JSON Lines")
    if len(parts) < 2:
        return None, None, ("sits at the top of the inbox; put it in the folder of its source "
                            f"({', '.join(['master', *BY_FOLDER])})")
    folder = parts[0]
    if folder == "master":
        source = master_for(path.stem)
        if source is None:
            return None, None, ("master file name does not start with a known entity "
                                "(customers, hcps, products, distributors, territories, "
                                "customer_alignment, rep_assignments); rename it")
        return source, None, None
    source = BY_FOLDER.get(folder)
    if source is None:
        return None, None, (f"folder '{folder}' is not a known source; move the file to one of "
                            f"{', '.join(['master', *BY_FOLDER])}")
    if source.per_distributor:
        if len(parts) < 3:
            return source, None, (f"{folder} files must sit in {folder}/<distributor_code>/; "
                                  "move it into its distributor's folder")
        return source, parts[1], None
    return source, None, None


def name_date(stem: str) -> dt.date | None:
    """customers_2026-10-31 → 2026-10-31; customers_202610 → 2026-10-31 (end of that month)."""
    m = _FULL_DATE.search(stem)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    m = _MONTH.search(stem)
    if m:
        year, month = int(m[1]), int(m[2])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return None


def title_date(title_rows: pl.DataFrame) -> dt.date | None:
    """A date written in the title rows above a header ("库存日期：2026年3月31日")."""
    for row in title_rows.select([c for c in title_rows.columns if c.startswith("c")]).rows():
        for cell in row:
            m = _TEXT_DATE.search(str(cell or ""))
            if m:
                try:
                    return dt.date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    continue
    return None
