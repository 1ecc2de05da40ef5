"""Column recognition: the synonym table, per-distributor mappings and header-row detection.

A header cell is normalised (full-width → half-width, lower case, no spaces or punctuation, the
text in brackets removed and kept as a unit hint: "数量（盒）" → "数量" + unit "盒"), then looked up
in the distributor's mapping file first, then in `synonyms.yaml`. The header row is the row among
the first `SCAN_ROWS` whose cells name the most canonical fields; rows above it are titles/notes.
A two-row header (a group row with merged cells over a sub-header row) is read as one row when
that reading names clearly more fields than the best single row (`_pair_match`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

from ingestion.sources import FLOW, INVENTORY, TENDERS, Source
from ingestion.values import UNIT_LOOKUP

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")
SCAN_ROWS = 40
MIN_SCORE = 2
_BRACKETS = re.compile(r"[(\[{【（〔<《](.*?)[)\]}】）〕>》]")
_PUNCT = re.compile(r"[\s_\-.:：/\\*#'\"、,，;；]+")
# A sub-header is words; a number or a date in the lower row means it is the first data row.
_DATA_CELL = re.compile(r"^[-+(（]?[\d,.，]+[)）]?$|\d{4}\s*[-/年.]\s*\d")
_MONEY = {"元", "万元", "rmb", "cny", "¥", "人民币"}  # 金额 over 元: a unit of money, not a field


class MappingError(Exception):
    """A mapping YAML file is malformed; the message names the file and the key."""


def normalise_header(text: str | None) -> tuple[str, str | None]:
    """Lookup key of a header cell, plus the unit hint found in brackets ("数量(盒)" → 盒)."""
    if text is None:
        return "", None
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    hints = [m.strip() for m in _BRACKETS.findall(s) if m.strip()]
    s = _BRACKETS.sub("", s)
    return _PUNCT.sub("", s), (hints[-1] if hints else None)


@lru_cache(maxsize=4)
def _synonym_doc(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=32)
def synonyms_for(source: Source, path: Path = SYNONYMS_FILE) -> dict[str, str]:
    """normalised header → canonical field, for one source (canonical names always included).

    A master entity reads its own section first (`master.customers:`), then the generic one
    (`master:`); the first field a name is listed under wins. Names under fields the source
    does not have are ignored.
    """
    table: dict[str, str] = {}
    known = {f.name for f in source.fields}
    for f in source.fields:
        table[normalise_header(f.name)[0]] = f.name
    doc = _synonym_doc(path)
    sections = ([f"{source.name}.{source.entity}"] if source.entity else []) + [source.name]
    for section in sections:
        for name, names in (doc.get(section) or {}).items():
            if name not in known:
                continue
            for alias in names or []:
                table.setdefault(normalise_header(str(alias))[0], name)
    return table


@dataclass(frozen=True)
class Mapping:
    """Per-distributor column mapping (mappings/<distributor_code>.yaml), edited by sales ops."""

    distributor_code: str
    columns: dict[str, str] = field(default_factory=dict)  # normalised header → field
    unit: str | None = None  # fixed unit when the file has no unit column
    date_format: str | None = None  # strptime format tried before the built-in styles
    sheet: str | None = None
    header_row: int | None = None  # 1-based row of the header (Excel row / text line)
    encoding: str | None = None
    delimiter: str | None = None
    path: Path | None = None


ANY_FIELD = {f.name for s in (FLOW, INVENTORY, TENDERS) for f in s.fields} | {"ignore"}
_MAPPING_KEYS = {"distributor_code", "name", "columns", "unit", "date_format", "sheet",
                 "header_row", "encoding", "delimiter", "notes"}


def load_mapping(mappings_dir: Path, distributor_code: str | None, source: Source) -> Mapping:
    """The distributor's mapping, or an empty one when there is no file."""
    if not distributor_code:
        return Mapping("")
    path = mappings_dir / f"{distributor_code}.yaml"
    if not path.is_file():
        return Mapping(distributor_code)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML ({exc}); fix the file") from exc
    unknown = set(doc) - _MAPPING_KEYS
    if unknown:
        raise MappingError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(_MAPPING_KEYS)}")
    known = {f.name for f in source.fields}
    columns: dict[str, str] = {}
    if not isinstance(doc.get("columns") or {}, dict):
        raise MappingError(f"{path}: 'columns' must map header text to a field name")
    for header, target in (doc.get("columns") or {}).items():
        if target not in ANY_FIELD:
            raise MappingError(f"{path}: column '{header}' maps to unknown field '{target}'; "
                               f"use one of {sorted(ANY_FIELD)}")
        if target not in known and target != "ignore":
            continue  # a mapping may hold columns of the other per-distributor source
        columns[normalise_header(str(header))[0]] = target
    return Mapping(distributor_code, columns, doc.get("unit"), doc.get("date_format"),
                   doc.get("sheet"), doc.get("header_row"), doc.get("encoding"),
                   doc.get("delimiter"), path)


@dataclass
class HeaderMatch:
    position: int  # 0-based index of the header row within the grid frame
    columns: dict[str, str]  # canonical field → grid column (c3)
    originals: dict[str, str]  # grid column → header text as written (unique)
    unit_hints: dict[str, str]  # canonical field → unit written in its header brackets
    notes: list[str]
    width: int = 0  # cells up to the last non-empty header cell
    rows: int = 1  # header rows; `position` is the last of them (data starts below it)
    # each row of a two-row header as written ({grid column: text}), so a copy of it further
    # down (a printed export repeats its header on every page) is skipped, not quarantined
    written: tuple[dict[str, str], ...] = ()

    @property
    def score(self) -> int:
        return len(self.columns)


def _match_row(cells: list[str | None], lookup: dict[str, str]) -> HeaderMatch:
    columns: dict[str, str] = {}
    hints: dict[str, str] = {}
    notes: list[str] = []
    for i, cell in enumerate(cells):
        key, hint = normalise_header(cell)
        target = lookup.get(key)
        if target is None or target == "ignore":
            continue
        if target in columns:
            notes.append(f"column '{cell}' (column {i + 1}) repeats field {target}; "
                         f"the first one (column {int(columns[target][1:]) + 1}) is used")
            continue
        columns[target] = f"c{i}"
        if hint:
            hints[target] = hint
    width = max((i + 1 for i, c in enumerate(cells) if c not in (None, "")), default=0)
    return HeaderMatch(0, columns, _originals(cells), hints, notes, width)


def _originals(cells: list[str | None]) -> dict[str, str]:
    seen: dict[str, int] = {}
    out: dict[str, str] = {}
    for i, cell in enumerate(cells):
        name = (cell or f"column_{i + 1}").strip()
        seen[name] = seen.get(name, 0) + 1
        out[f"c{i}"] = name if seen[name] == 1 else f"{name}_{seen[name]}"
    return out


def find_header(frame: pl.DataFrame, lookup: dict[str, str], header_row: int | None = None,
                row_col: str = "_row") -> HeaderMatch | None:
    """The best-scoring header row among the first rows (or the row the mapping names); a pair
    of rows read as one header when that is clearly better (`_pair_match`)."""
    cols = [c for c in frame.columns if c.startswith("c")]
    head = frame.head(SCAN_ROWS)
    if header_row is not None:
        head = head.filter(pl.col(row_col) == header_row)
    rows = [list(row) for row in head.select(cols).iter_rows()]
    singles = [_match_row(row, lookup) for row in rows]
    if not singles:
        return None
    top = max(range(len(singles)), key=lambda i: singles[i].score)  # first of the best
    best = singles[top]
    best.position = top if header_row is None else _position(frame, header_row, row_col)
    if header_row is None:  # a mapping's header_row names one row: read exactly that row
        pair = _pair_match(rows, singles, best, lookup)
        if pair is not None:
            numbers = head[row_col].to_list()
            pair.notes.append(f"header read from two rows ({numbers[pair.position - 1]} and "
                              f"{numbers[pair.position]}): group cells over sub-headers")
            best = pair
    return best if best.score >= MIN_SCORE else None


def _pair_match(rows: list[list[str | None]], singles: list[HeaderMatch], best: HeaderMatch,
                lookup: dict[str, str]) -> HeaderMatch | None:
    """The best reading of two adjacent rows as one header, if it beats the best single row.

    Only pairs holding a best-scoring row are tried: a two-row header always has one row that
    already looks like the header (the group row), so titles and data blocks stay out.
    """
    chosen: HeaderMatch | None = None
    for p in range(len(rows) - 1):
        if best.score not in (singles[p].score, singles[p + 1].score):
            continue
        texts = _pair_texts(rows[p], rows[p + 1], lookup)
        if texts is None:
            continue
        match = _match_row(texts, lookup)
        if _beats(match, best) and (chosen is None or _rank(match) > _rank(chosen)):
            match.position, match.rows = p + 1, 2
            match.written = (_written(rows[p]), _written(rows[p + 1]))
            chosen = match
    return chosen


def _written(cells: list[str | None]) -> dict[str, str]:
    return {f"c{i}": cell for i, cell in enumerate(cells) if cell}


def _rank(match: HeaderMatch) -> tuple[int, int]:
    return match.score, len(match.unit_hints)


def _beats(pair: HeaderMatch, single: HeaderMatch) -> bool:
    """Clearly better: no field named twice, every field of the single row still found, and
    more fields (or as many with a unit written under the quantity)."""
    return (not pair.notes and set(single.columns) <= set(pair.columns)
            and _rank(pair) > _rank(single))


def _pair_texts(upper: list[str | None], lower: list[str | None],
               lookup: dict[str, str]) -> list[str | None] | None:
    """One header text per column from a group row over a sub-header row; None when the lower
    row holds a number or a date (it is then the first data row, not a sub-header)."""
    if any(cell and _DATA_CELL.search(cell) for cell in lower):
        return None
    groups = _group_labels(upper, lower)
    return [_combined(u, lo, lookup) for u, lo in zip(groups, lower, strict=True)]


def _group_labels(upper: list[str | None], lower: list[str | None]) -> list[str | None]:
    """The upper label over each column. A horizontal merge reads as the label followed by empty
    cells (xlsx/xls merged areas, and CSV saves of them), so the label is carried right over
    the empty cells, but only while there are sub-headers below: a group has sub-headers,
    a vertically merged column (label above an empty cell) is not a group."""
    out: list[str | None] = []
    carry: str | None = None
    for u, lo in zip(upper, lower, strict=True):
        if u:
            carry = u if lo else None
            out.append(u)
        else:
            carry = carry if lo else None
            out.append(carry)
    return out


def _combined(upper: str | None, lower: str | None, lookup: dict[str, str]) -> str | None:
    """客户+编码 → 客户编码; 产品+规格 → 规格 when only the sub-header names a field; 数量 over
    盒 → 数量(盒) (the unit hint, as in `数量（盒）`); else the two texts joined, as written."""
    if not lower or not upper:
        return upper or lower
    joined = f"{upper}{lower}"
    if normalise_header(joined)[0] in lookup:
        return joined
    if normalise_header(upper)[0] in lookup:  # the group names a field: the sub-header refines it
        if normalise_header(lower)[0] in lookup:
            return lower
        if _is_unit(lower):
            return f"{upper}({lower})"
    return joined


def _is_unit(text: str) -> bool:
    key, hint = normalise_header(text)
    word = key or (hint or "")
    return word in UNIT_LOOKUP or word in _MONEY


def _position(frame: pl.DataFrame, header_row: int, row_col: str) -> int:
    return int(frame.with_row_index("_pos").filter(pl.col(row_col) == header_row)["_pos"][0])


def header_lookup(source: Source, mapping: Mapping) -> dict[str, str]:
    lookup = dict(synonyms_for(source))
    lookup.update(mapping.columns)
    return lookup


def fixed_header(names: list[str], lookup: dict[str, str]) -> HeaderMatch:
    """Header of a parquet/jsonl file: the column names themselves."""
    return _match_row(list(names), lookup)
