"""Finding inbox files and what each one is, from the folder it sits in (sources.md).

`master/<entity>*.csv`, `flow/<distributor_code>/*`, `inventory/<distributor_code>/*`,
`sellin/`, `calls/`, `activities/`, `tenders/`, `targets/`. Folders and files starting with `_`
or `.` (such as the generator's `_truth/`), Excel's `~$` lock files and partial downloads are
not part of the inbox, but each is listed as skipped with its reason: nothing is invisible.
Links are never followed out of the inbox: a link to a file outside it is rejected unopened.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from dataclasses import dataclass, field
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
    unopened: bool = False  # rejected without reading a byte (a link out of the inbox)


@dataclass(frozen=True)
class Skipped:
    """An inbox entry that is not read by rule, and why (reported, never silent)."""

    path: str  # relative to the inbox; folders end in '/'
    reason: str


@dataclass
class Scan:
    files: list[InboxFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def discover(inbox: Path) -> list[InboxFile]:
    """Every inbox file: masters first (flow checks products against them), then oldest first
    (by modification time, then path), so a re-send comes after what it corrects."""
    return scan(inbox).files


def scan(inbox: Path) -> Scan:
    """Every entry under the inbox: a file to take (sorted as `discover` says) or a skip."""
    found = Scan()
    _walk(inbox, inbox.resolve(), (), found)
    found.files.sort(key=lambda f: (f.folder != "master", f.received_at, f.rel))
    found.skipped.sort(key=lambda s: s.path)
    return found


def skip_rule(name: str) -> str | None:
    """Why a file or folder of this name is not inbox data, or None when it is."""
    if name.startswith("~$"):
        return ("an Excel lock file (someone has the workbook open), not data; it disappears "
                "when Excel closes")
    if name.startswith("."):
        return "hidden; hidden files and folders are not read (rename it without the '.' to load it)"
    if name.startswith("_"):
        return ("the name starts with '_', which sets it aside by rule (like the generator's "
                "_truth/); rename it without the '_' to load it")
    if name.lower().endswith((".tmp", ".part", ".crdownload", "~")):
        return "a temporary or partial download; it is read once it is complete and renamed"
    return None


def _walk(folder: Path, inbox_real: Path, rel: tuple[str, ...], found: Scan) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.skipped.append(Skipped("/".join(rel) + "/", f"cannot be listed ({exc.strerror}); "
                                     "check the folder's permissions"))
        return
    for entry in entries:
        parts = (*rel, entry.name)
        rel_path = "/".join(parts)
        rule = skip_rule(entry.name)
        if entry.is_symlink():
            _link(Path(entry.path), parts, inbox_real, rule, found)
        elif entry.is_dir(follow_symlinks=False):
            if rule:
                found.skipped.append(Skipped(rel_path + "/", f"folder: {rule} "
                                             f"({_count_files(entry.path)} files inside)"))
            else:
                _walk(Path(entry.path), inbox_real, parts, found)
        elif not entry.is_file(follow_symlinks=False):
            found.skipped.append(Skipped(rel_path, "not a regular file (a pipe, socket or "
                                         "device); not read. Put the data in a file instead"))
        elif rule:
            found.skipped.append(Skipped(rel_path, rule))
        else:
            found.files.append(_describe(Path(entry.path), parts))


def _link(link: Path, parts: tuple[str, ...], inbox_real: Path, rule: str | None,
          found: Scan) -> None:
    """A link is taken only when it leads to a file inside the inbox; it is never opened else."""
    rel_path = "/".join(parts)
    target = link.resolve()
    inside = target.is_relative_to(inbox_real)
    if target.is_dir():
        where = ("inside the inbox; its files are read where they really are" if inside
                 else "outside the inbox; not followed. Copy the files into the inbox instead")
        found.skipped.append(Skipped(rel_path + "/", f"a link to a folder {where}"))
    elif rule:
        found.skipped.append(Skipped(rel_path, rule))
    elif not target.exists():
        found.files.append(_unopened(link, parts, "is a broken link (it points to nothing); "
                                     "remove it or copy the real file into the inbox"))
    elif not inside:
        found.files.append(_unopened(link, parts, "is a link to a file outside the inbox; it "
                                     "was not opened. Copy the file itself into the inbox"))
    elif not target.is_file():
        found.skipped.append(Skipped(rel_path, "a link to something that is not a regular "
                                     "file; not read"))
    else:
        found.files.append(_describe(target, parts))


def _unopened(link: Path, parts: tuple[str, ...], problem: str) -> InboxFile:
    stamp = link.lstat().st_mtime
    received = dt.datetime.fromtimestamp(stamp, BUSINESS_TZ).replace(tzinfo=None)
    folder = parts[0] if len(parts) > 1 else ""
    return InboxFile(link, "/".join(parts), folder, None, None, received, None, problem,
                     unopened=True)


def _count_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _describe(path: Path, rel_parts: tuple[str, ...]) -> InboxFile:
    rel = "/".join(rel_parts)
    received = dt.datetime.fromtimestamp(path.stat().st_mtime, BUSINESS_TZ).replace(tzinfo=None)
    folder = rel_parts[0] if len(rel_parts) > 1 else ""
    source, distributor, problem = _classify(rel_parts, Path(rel))  # a link: its own name
    return InboxFile(path, rel, folder, source, distributor, received, name_date(Path(rel).stem),
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
