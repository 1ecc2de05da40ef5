"""From a grid of text cells and its recognised header to typed rows and quarantined rows.

Rows below the header are sorted into: skipped (blank rows, total rows 合计/小计/总计, repeated
header rows: not data, not counted in rows_read), quarantined (a value that cannot be read, a
required value missing, a pandera check failed; kept with their original cells as JSON by
original header) and loaded. Everything is a polars expression over whole columns.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ingestion import spool, values
from ingestion.headers import HeaderMatch, normalise_header
from ingestion.precheck import may_fail
from ingestion.readers import DAMAGE, ROW, Grid
from ingestion.sources import Field, Source

Parser = Callable[[pl.Expr], pl.Expr]
POS = "_pos"
KIND = "_kind"
EXPECTED = {
    "date": "a date such as 2026-03-05, 2026/3/5, 20260305, 2026年3月5日 or an Excel date",
    "timestamp": "a date and time such as 2026-03-05 14:30:00",
    "number": "a number such as 1234.5 or 1,234.50",
    "int": "a whole number",
    "bool": "1/0, 是/否 or true/false",
    "month": "a month such as 2026-03",
    "unit": "盒/box, 支/片/粒/瓶/袋 (min unit) or 件/箱 (case); add other units to the mapping",
}
TOTAL_CELLS = 4  # a total row's label sits in one of the first cells
QUARANTINE_SCHEMA = {"source_row": pl.Int32, "sheet": pl.String, "reason": pl.String,
                     "column_name": pl.String, "raw_values": pl.String}


@dataclass
class FileContext:
    """What the loader knows about a file besides its cells."""

    distributor_code: str | None = None
    snapshot_date: dt.date | None = None  # masters; inventory when the file has no date column
    date_format: str | None = None
    fixed_unit: str | None = None  # the mapping's unit for files without a unit column
    product_keys: tuple[str, ...] = ()  # product master names; empty: no product check


@dataclass
class Parsed:
    loaded: pl.DataFrame  # source_row, sheet, then the source's fields in table order
    quarantined: pl.DataFrame  # QUARANTINE_SCHEMA
    skipped: dict[str, int] = field(default_factory=dict)  # blank/total/header rows
    # set in the reader worker: large loaded rows are pickled as a file there (ingestion/spool.py)
    spool: str | None = field(default=None, compare=False, repr=False)

    @property
    def rows_read(self) -> int:
        return self.loaded.height + self.quarantined.height

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        """Pickled as Arrow IPC (how the reader worker hands parsed rows back): 2.6x faster
        than polars' own pickling for 100 k flow rows. With `spool` set, large loaded rows go
        as a file in that folder and only its name is pickled."""
        quarantined = spool.ipc_bytes(self.quarantined)
        if self.spool and self.loaded.estimated_size() >= spool.SPOOL_FROM_BYTES:
            path = spool.write_spooled(self.loaded, self.spool)
            if path is not None:
                return _parsed_from_spool, (path, quarantined, self.skipped)
        return _parsed_from_ipc, (spool.ipc_bytes(self.loaded), quarantined, self.skipped)


def _parsed_from_ipc(loaded: bytes, quarantined: bytes, skipped: dict[str, int]) -> Parsed:
    return Parsed(spool.read_ipc_bytes(loaded), spool.read_ipc_bytes(quarantined), skipped)


def _parsed_from_spool(loaded: str, quarantined: bytes, skipped: dict[str, int]) -> Parsed:
    return Parsed(spool.read_spooled(loaded), spool.read_ipc_bytes(quarantined), skipped)


def parse_grid(grid: Grid, header: HeaderMatch, source: Source, ctx: FileContext) -> Parsed:
    body = grid.frame.slice(header.position + 1).with_row_index(POS)
    body = body.with_columns(_row_kind(body, header, source).alias(KIND))
    skipped = _skip_counts(body)
    data = body.filter(pl.col(KIND) == "data").drop(KIND)
    plan = _Plan(source, header, ctx)
    data = plan.with_parsed(data)
    typed = data.select(POS, ROW, *plan.values(), *plan.first_error(data, grid))
    parse_failed = typed.filter(pl.col("reason").is_not_null()).select(POS, "reason", "column_name")
    good = typed.filter(pl.col("reason").is_null()).drop("reason", "column_name")
    fails = _schema_failures(source, good)
    schema_failed = good.with_row_index("_idx").join(fails, on="_idx", how="inner").select(
        POS, "reason", pl.col("column_name").replace(plan.originals_by_field()))
    loaded = good.join(schema_failed.select(POS), on=POS, how="anti").select(
        pl.col(ROW).cast(pl.Int32).alias("source_row"),
        pl.lit(grid.sheet, pl.String).alias("sheet"),
        *[pl.col(f.name) for f in source.fields])
    rejected = pl.concat([parse_failed, schema_failed])
    return Parsed(loaded, _quarantine_rows(data, rejected, header, grid.sheet), skipped)


def _schema_failures(source: Source, good: pl.DataFrame) -> pl.DataFrame:
    """pandera's failures, asked only when a row may fail one of its checks (most files: none)."""
    if not may_fail(source, good):
        return pl.DataFrame(schema={"_idx": pl.UInt32, "reason": pl.String,
                                    "column_name": pl.String})
    from ingestion.schemas import schema_failures  # pandera and pandas: ~2 s of imports that
    # a file with nothing to quarantine never needs
    return schema_failures(source.key, good)


def _cells(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("c")]


def _row_kind(body: pl.DataFrame, header: HeaderMatch, source: Source) -> pl.Series:
    """blank | total | header | note | data, per row.

    A total row says 合计/小计/总计/total in one of its first cells (or a mapped text column)
    and has no date where the source needs one. Where the source needs a date, a row whose
    date cell holds four digits is not blank (that cell is filled), not a total and not a note
    (both need `undated`): only a repeated header can make it no data. So the costly part
    (regexes on the first cells, every cell's length) runs on the undated rows only, usually
    a handful, and their kinds are put back at their row positions.
    """
    date_col = _date_column(header, source)
    if date_col is None:
        return body.select(_full_kind(body, header, source, None).alias(KIND)).to_series()
    undated = ~pl.col(date_col).str.contains(r"\d{4}").fill_null(False)
    flags = body.select(undated.alias("undated"), _again(body, header).alias("again"))
    if flags["again"].any():
        kinds = flags.select(pl.when(pl.col("again")).then(pl.lit("header"))
                             .otherwise(pl.lit("data"))).to_series()
    else:  # the usual file: a constant column is cheaper than a when/then over it
        kinds = pl.repeat("data", body.height, dtype=pl.String, eager=True)
    where = flags["undated"].arg_true()
    if where.len():
        rest = body[where].select(_full_kind(body, header, source, undated)).to_series()
        kinds = kinds.scatter(where, rest)
    return kinds


def _date_column(header: HeaderMatch, source: Source) -> str | None:
    """The cell column of the source's required date, None when it has none (or none mapped)."""
    date_field = next((f.name for f in source.fields if f.kind == "date" and f.required
                       and f.name in header.columns), None)
    return header.columns[date_field] if date_field else None


def _again(body: pl.DataFrame, header: HeaderMatch) -> pl.Expr:
    """A repeated header row (either row of a two-row header, as on each printed page)."""
    repeats = [(pl.col(col) == header.originals[col]).fill_null(False)
               for col in header.columns.values()]
    again = pl.sum_horizontal(repeats) >= min(2, len(repeats))
    for written in header.written:  # either row of a two-row header, repeated on a new page
        same = [(pl.col(col) == text).fill_null(False) for col, text in written.items()
                if col in body.columns]
        if len(same) >= 2:
            again = again | (pl.sum_horizontal(same) >= max(2, (len(same) + 1) // 2))
    return again


def _full_kind(body: pl.DataFrame, header: HeaderMatch, source: Source,
               undated: pl.Expr | None) -> pl.Expr:
    """Every rule of `_row_kind` on every row; `undated` None: no date needed (all undated)."""
    cells = _cells(body)
    blank = pl.all_horizontal([pl.col(c).is_null() for c in cells]) if cells else pl.lit(True)
    texts = {header.columns[f.name] for f in source.fields
             if f.kind == "text" and f.required and f.name in header.columns}
    looked_at = list(dict.fromkeys([*cells[:TOTAL_CELLS], *sorted(texts)]))
    total = pl.any_horizontal([pl.col(c).str.contains(values.TOTAL_PATTERN).fill_null(False)
                               for c in looked_at])
    if undated is None:
        undated = pl.lit(True)
    filled = pl.sum_horizontal([pl.col(c).is_not_null() for c in cells])
    noted = pl.any_horizontal([pl.col(c).str.contains(values.NOTE_PATTERN).fill_null(False)
                               for c in cells[:TOTAL_CELLS]])
    short = pl.max_horizontal([pl.col(c).str.len_bytes() for c in cells]).fill_null(0) <= 300
    note = (noted | ((filled == 1) & pl.lit(len(cells) >= 3))) & undated & short
    return (pl.when(blank).then(pl.lit("blank")).when(_again(body, header)).then(pl.lit("header"))
            .when(total & undated).then(pl.lit("total")).when(note).then(pl.lit("note"))
            .otherwise(pl.lit("data")))


def _skip_counts(body: pl.DataFrame) -> dict[str, int]:
    # in the order the kinds first occur: the file's notes (its registry reason) come out the
    # same on every read
    counts = body.filter(pl.col(KIND) != "data").group_by(KIND, maintain_order=True).len()
    return dict(zip(counts[KIND].to_list(), counts["len"].to_list(), strict=True))


def _unit_text(text: str | None) -> str | None:
    """Canonical unit of a unit written in a header or a mapping ("盒", "Box"), else None."""
    if not text:
        return None
    key = unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")
    return values.UNIT_LOOKUP.get(key, key if key in values.UNITS else None)


class _Plan:
    """Expressions turning the raw cells of one source into typed columns and error reasons."""

    def __init__(self, source: Source, header: HeaderMatch, ctx: FileContext) -> None:
        self.source, self.header, self.ctx = source, header, ctx
        hint = header.unit_hints.get("quantity")
        written = ctx.fixed_unit or (hint if _unit_text(hint) else None)
        self.default_raw_unit = written
        self.default_unit = _unit_text(written) or "box"
        self.columns_added: set[str] = set()

    def raw(self, name: str) -> pl.Expr:
        col = self.header.columns.get(name)
        return pl.col(col) if col else pl.lit(None, pl.String)

    def originals_by_field(self) -> dict[str, str]:
        return {f: self.header.originals[c] for f, c in self.header.columns.items()}

    def _parser(self, f: Field) -> Parser:
        if f.kind == "date" and self.ctx.date_format:
            return lambda e: values.parse_date(e, self.ctx.date_format)
        if f.kind == "date":
            return values.parse_date  # itself: `values.quick_parse` knows it
        if f.name == "quantity":
            return values.parse_quantity
        return {
            "timestamp": values.parse_timestamp, "number": values.parse_number,
            "int": values.parse_int, "bool": values.parse_bool, "month": values.parse_month,
            "unit": values.normalise_unit, "doc_type": values.is_return,
        }[f.kind]

    def with_parsed(self, data: pl.DataFrame) -> pl.DataFrame:
        """Add `__p_<field>`: every typed column parsed once (large frames: `parse_cells`, a
        quick cast first, the full parser on what it leaves), plus `__p_known_product` when the
        product master is known."""
        parsers = {f"__p_{f.name}": (self.header.columns[f.name], self._parser(f))
                   for f in self.source.fields
                   if f.kind != "text" and f.name in self.header.columns}
        quantity = self.header.columns.get("quantity")
        if quantity and "unit" in {f.name for f in self.source.fields}:
            parsers["__p_quantity_unit"] = (quantity, values.quantity_unit)
        product = self.header.columns.get("product_name")
        if self.ctx.product_keys and product and self.source.per_distributor:
            keys = list(self.ctx.product_keys)
            parsers["__p_known_product"] = (
                product, lambda e: values.product_text(e).str.contains_any(keys))
        if data.height < SMALL_FRAME:
            data = data.with_columns([parse(pl.col(col)).alias(out)
                                      for out, (col, parse) in parsers.items()])
        else:  # the filter of skipped rows leaves columns in pieces, which every later step
            data = data.rechunk()  # pays for (the joins of distinct values used to join them)
            data = data.with_columns([parse_cells(data[col], parse).alias(out)
                                      for out, (col, parse) in parsers.items()])
        self.columns_added = set(data.columns)
        return data

    def _unknown_product(self) -> tuple[pl.Expr, str] | None:
        if "__p_known_product" not in self.columns_added:
            return None
        col = self.header.columns["product_name"]
        shown = self.header.originals[col]
        return pl.when(pl.col(col).is_not_null() & ~pl.col("__p_known_product")).then(pl.format(
            "unknown product '{}' in column '" + shown + "': it names no generic or brand name "
            "of the product master; add it to master/products or correct the name",
            pl.col(col))), shown

    def _parsed(self, f: Field) -> pl.Expr:
        if f.kind == "text":
            return self.raw(f.name)
        if f.name in self.header.columns:
            return pl.col(f"__p_{f.name}")
        return pl.lit(None, dtype=_NULL_TYPES.get(f.kind, pl.String))

    def _is_return(self) -> pl.Expr:
        negative = pl.lit(False)
        for name in ("quantity", "amount"):
            if name in self.header.columns:
                negative = negative | (pl.col(f"__p_{name}") < 0).fill_null(False)
        if "doc_type" in self.header.columns:
            return pl.col("__p_doc_type").fill_null(False) | negative
        return negative

    def value(self, f: Field) -> pl.Expr:
        name = f.name
        per_dist = self.source.per_distributor
        if name == "distributor_code" and per_dist:
            return pl.lit(self.ctx.distributor_code, pl.String)
        if name == "snapshot_date" and (self.source.name == "master" or "snapshot_date"
                                        not in self.header.columns):
            return pl.lit(self.ctx.snapshot_date, pl.Date)
        if name == "unit":
            return pl.when(self.raw("unit").is_null()).then(pl.coalesce(
                values.normalise_unit(self._glued_unit()), pl.lit(self.default_unit))
            ).otherwise(self._parsed(f))
        if name == "raw_unit":
            return pl.coalesce(self.raw("unit"), self._glued_unit(),
                               pl.lit(self.default_raw_unit, pl.String))
        if name == "doc_type":
            return pl.when(self._is_return()).then(pl.lit("return")).otherwise(pl.lit("sale"))
        if name in {"quantity", "amount"} and self.source.name == "flow":
            parsed = self._parsed(f)
            return pl.when(self._is_return()).then(-parsed.abs()).otherwise(parsed)
        return self._parsed(f)

    def _glued_unit(self) -> pl.Expr:
        """The unit typed into the quantity cell (20盒), NULL when none or no quantity column."""
        if "quantity" not in self.header.columns or "__p_quantity_unit" not in self.columns_added:
            return pl.lit(None, pl.String)
        return pl.col("__p_quantity_unit")

    def _unit_conflict(self) -> tuple[pl.Expr, str] | None:
        """20盒 in the quantity cell but 支 in the unit column: which one is meant is a guess."""
        unit_col = self.header.columns.get("unit")
        if unit_col is None or "__p_quantity_unit" not in self.columns_added:
            return None
        glued = values.normalise_unit(self._glued_unit())
        shown = self.header.originals[self.header.columns["quantity"]]
        clash = glued.is_not_null() & pl.col("__p_unit").is_not_null() & (glued != pl.col("__p_unit"))
        return pl.when(clash).then(pl.format(
            "quantity '{}' in column '" + shown + "' names another unit than column '"
            + self.header.originals[unit_col] + "' ('{}'); correct one of them",
            pl.col(self.header.columns["quantity"]), pl.col(unit_col))), shown

    def values(self) -> list[pl.Expr]:
        return [self.value(f).alias(f.name) for f in self.source.fields]

    def _field_error(self, f: Field) -> tuple[pl.Expr, str] | None:
        col = self.header.columns.get(f.name)
        if col is None:
            return None
        shown = self.header.originals[col]
        raw = pl.col(col)
        if f.required:
            missing = pl.when(raw.is_null()).then(pl.lit(
                f"missing required {f.name} (column '{shown}' is empty)"))
        else:
            missing = pl.lit(None, pl.String)
        if f.kind in ("text", "doc_type"):
            return missing, shown
        parsed = self._parsed(f)
        bad = pl.when(raw.is_not_null() & parsed.is_null()).then(
            pl.format(f"cannot read {f.name} from column '{shown}': '{{}}' is not "
                      f"{EXPECTED[f.kind]}", raw))
        return pl.coalesce(missing, bad), shown

    def first_error(self, data: pl.DataFrame, grid: Grid) -> list[pl.Expr]:
        checks: list[tuple[pl.Expr, str | None]] = []
        beyond = _cells(data)[self.header.width:]
        if grid.encoding is not None and beyond:  # text files: values past the header shift
            extra = pl.any_horizontal([pl.col(c).is_not_null() for c in beyond])
            checks.append((pl.when(extra).then(pl.lit(
                f"row has more fields than the header's {self.header.width}: a value probably "
                "holds an unquoted delimiter; quote it or fix the row")), None))
        if grid.damaged:
            has_bad = pl.any_horizontal([pl.col(c).str.contains(DAMAGE).fill_null(False)
                                         for c in _cells(data)])
            checks.append((pl.when(has_bad).then(pl.lit(
                f"row holds damaged bytes (not valid {grid.encoding}, or control characters); "
                "ask the sender to re-save the file as UTF-8")), None))
        for f in self.source.fields:
            err = self._field_error(f)
            if err is not None:
                checks.append(err)
        for extra in (self._unit_conflict(), self._unknown_product()):
            if extra is not None:
                checks.append(extra)
        if not checks:
            return [pl.lit(None, pl.String).alias("reason"),
                    pl.lit(None, pl.String).alias("column_name")]
        reason = pl.coalesce([e for e, _ in checks])
        column = pl.coalesce([pl.when(e.is_not_null()).then(pl.lit(c, pl.String))
                              for e, c in checks])
        return [reason.alias("reason"), column.alias("column_name")]


_NULL_TYPES = {"date": pl.Date, "timestamp": pl.Datetime("us"), "number": pl.Float64,
               "int": pl.Int32, "bool": pl.Boolean}
SMALL_FRAME = 200  # below this, parse columns directly in one pass (a join costs more)
DISTINCT_SHARE = 0.5  # parse on distinct values when they are at most this share of the rows


def parse_cells(cells: pl.Series, parser: Parser) -> pl.Series:
    """parser(cells). Numbers and dates: a cheap first try on every cell (`values.quick_parse`:
    a float cast, an ISO strptime; no unique, no join), the full parser only on the filled
    cells that try does not settle. NULL cells stay NULL, as every parser leaves them."""
    quick = values.quick_parse(cells, parser)
    if quick is None:
        return _by_distinct(cells, parser)
    parsed, final = quick  # `final` is NULL where the cell is
    if final.null_count() == cells.null_count() and final.all(ignore_nulls=True):
        return parsed  # the usual column: every filled cell settled
    slow = (cells.is_not_null() & ~final.fill_null(False)).arg_true()
    return parsed.scatter(slow, _by_distinct(cells.gather(slow), parser))


def _by_distinct(cells: pl.Series, parser: Parser) -> pl.Series:
    """parser(cells) computed once per distinct value (dates, units, doc types and most
    quantities repeat a lot) and joined back; direct when values are mostly distinct."""
    frame, col = cells.to_frame(), pl.col(cells.name)
    distinct = frame.select(col.unique()).drop_nulls()
    if distinct.height > DISTINCT_SHARE * max(frame.height, 1):
        return frame.select(parser(col)).to_series()
    table = distinct.with_columns(parser(col).alias("_parsed"))
    return frame.join(table, on=cells.name, how="left", maintain_order="left")["_parsed"]


def _quarantine_rows(data: pl.DataFrame, rejected: pl.DataFrame, header: HeaderMatch,
                     sheet: str | None) -> pl.DataFrame:
    if rejected.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    rows = data.join(rejected, on=POS, how="inner").sort(POS)
    named = [pl.col(c).alias(header.originals.get(c, f"column_{int(c[1:]) + 1}"))
             for c in _cells(data)]
    return rows.select(
        pl.col(ROW).cast(pl.Int32).alias("source_row"),
        pl.lit(sheet, pl.String).alias("sheet"),
        pl.col("reason"), pl.col("column_name"),
        pl.struct(named).struct.json_encode().alias("raw_values"))


def header_unit(name: str | None) -> str | None:
    """Canonical unit written in brackets of a header cell, e.g. 数量(盒) → box."""
    return _unit_text(normalise_header(name)[1])
