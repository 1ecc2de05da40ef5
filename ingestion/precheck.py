"""A one-pass pre-check of parsed rows against the checks of their pandera schema
(ingestion/schemas.py), without importing pandera (2-5 s and ~300 MB of address space in the
reader worker, for the few files that have a row to quarantine)."""

from __future__ import annotations

import polars as pl

from ingestion.sources import KINDS, Field, Source


def may_fail(source: Source, frame: pl.DataFrame) -> bool:
    """Whether any row could fail the source's schema: the same checks as `field_checks` and
    nullability, as ONE polars pass. pandera costs ~8 ms a frame in its own bookkeeping (a third
    of parsing a 2,000-row file), and almost every frame passes; a frame flagged here is still
    judged by pandera, so this only has to flag at least what pandera fails (it may flag more:
    NaN, a column missing)."""
    if any(f.name not in frame.columns for f in source.fields):
        return True
    flags = [_may_fail(f) for f in source.fields]
    flags = [e for e in flags if e is not None]
    if not flags:
        return False
    return bool(frame.select(pl.any_horizontal(flags).any()).item())


def _may_fail(f: Field) -> pl.Expr | None:
    col, kind, parts = pl.col(f.name), KINDS[f.kind], []
    if not f.nullable:
        parts.append(col.is_null())
    if f.checked and kind.dtype is float:
        parts.append(col.is_nan())  # NaN compares greater than any bound in polars
    if f.checked and (bounds := f.sane_range) is not None:
        parts.append((col < bounds[0]) | (col > bounds[1]))
    if f.checked and kind.allowed:
        parts.append(~col.is_in(list(kind.allowed)))
    if f.checked and kind.pattern:
        parts.append(~col.str.contains(kind.pattern if kind.pattern.startswith("^")
                                       else f"^{kind.pattern}"))
    return pl.any_horizontal([p.fill_null(False) for p in parts]) if parts else None
