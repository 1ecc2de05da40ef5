"""From a file's grids to its parsed rows (`Outcome`): header search, required columns, parsing.

Runs in the reader worker (ingestion/isolation.py) right after the read, so that on 2 cores
the worker reads and parses the next file while the loading process writes the current one,
and only the typed rows travel back (not grids of text). Without a worker (tests, one-off
calls) it runs in the caller. Everything it needs about the file is in `ParseSpec`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from ingestion.discover import title_date
from ingestion.headers import HeaderMatch, Mapping, find_header, fixed_header, header_lookup
from ingestion.parse import FileContext, Parsed, parse_grid
from ingestion.readers import Grid
from ingestion.sources import Source


class Rejected(Exception):
    """The whole file is rejected; the message is the reason a person acts on."""


@dataclass
class Outcome:
    parsed: Parsed
    notes: list[str]
    period_col: str | None


@dataclass(frozen=True)
class ParseSpec:
    """What parsing a file needs besides its cells (picklable: it travels to the worker)."""

    source: Source
    mapping: Mapping
    distributor_code: str | None
    name_date: dt.date | None  # a date in the file name
    received_date: dt.date  # the file's mtime date (a master's snapshot when not named)
    products: tuple[str, ...] = ()  # product master keys; empty: no unknown-product check


def parse_grids(grids: list[Grid], spec: ParseSpec) -> Outcome:
    """Every sheet with a recognised header and the required columns, parsed and combined;
    Rejected (with the reason) when none is, or when no sheet holds a data row."""
    source, mapping = spec.source, spec.mapping
    lookup = header_lookup(source, mapping)
    parts: list[Parsed] = []
    notes: list[str] = []
    missing_by_sheet: list[str] = []
    for grid in grids:
        notes.extend(grid.notes)
        header = _header(grid, lookup, mapping)
        where = f"sheet '{grid.sheet}'" if grid.sheet else "the file"
        if header is None:
            missing_by_sheet.append(  # no cells quoted: they may be anything but data
                f"{where}: no header row found in the first rows ({grid.width} columns); check "
                f"that it is a {source.name} file, or add its headers to "
                f"mappings/{spec.distributor_code or '<code>'}.yaml")
            continue
        ctx = _context(spec, grid, header)
        ctx.product_keys = spec.products
        missing = _missing_fields(source, header, ctx)
        if missing:
            missing_by_sheet.append(
                f"{where}: required columns {missing} not found; headers seen: "
                f"{[h[:40] for h in header.originals.values() if not h.startswith('column_')]}. "
                f"Add the names to mappings/{spec.distributor_code or '<code>'}.yaml")
            continue
        notes.extend(header.notes)
        parts.append(parse_grid(grid, header, source, ctx))
    if not parts:
        raise Rejected("; ".join(missing_by_sheet) or "no sheet holds data")
    notes.extend(f"skipped {m}" for m in missing_by_sheet)
    parsed = _combine(parts)
    notes.extend(_skip_notes(parts))
    if parsed.rows_read == 0:
        raise Rejected("no data rows below the header; if the distributor had no sales, record "
                       "that with sales ops instead of an empty file")
    return Outcome(parsed, notes, _period_column(source))


def _header(grid: Grid, lookup: dict[str, str], mapping: Mapping) -> HeaderMatch | None:
    if grid.header is not None:
        match = fixed_header(grid.header, lookup)
        match.position = -1
        return match if match.columns else None
    return find_header(grid.frame, lookup, mapping.header_row)


def _context(spec: ParseSpec, grid: Grid, header: HeaderMatch) -> FileContext:
    source, snapshot = spec.source, spec.name_date
    if source.name == "master":
        snapshot = snapshot or spec.received_date
    elif source.name == "inventory" and snapshot is None:
        snapshot = title_date(grid.frame.head(max(header.position, 0)))
    return FileContext(spec.distributor_code, snapshot, spec.mapping.date_format,
                       spec.mapping.unit)


def _missing_fields(source: Source, header: HeaderMatch, ctx: FileContext) -> list[str]:
    derived = {"distributor_code"} if source.per_distributor else set()
    if ctx.snapshot_date is not None:
        derived.add("snapshot_date")
    return [f for f in source.required if f not in header.columns and f not in derived]


def _combine(parts: list[Parsed]) -> Parsed:
    skipped: dict[str, int] = {}
    for p in parts:
        for k, v in p.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    return Parsed(pl.concat([p.loaded for p in parts], how="vertical_relaxed"),
                  pl.concat([p.quarantined for p in parts], how="vertical_relaxed"), skipped)


def _skip_notes(parts: list[Parsed]) -> list[str]:
    combined = _combine(parts).skipped
    label = {"blank": "blank rows", "total": "total rows (合计/小计)", "header": "repeated header rows",
             "note": "note rows (制表人/注/备注…)"}
    return [f"skipped {n} {label.get(k, k)} (not data, not counted)" for k, n in combined.items() if n]


def _period_column(source: Source) -> str | None:
    return {"flow": "sale_date", "inventory": "snapshot_date"}.get(source.name)
