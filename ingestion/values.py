"""Cell parsing as polars expressions on whole columns: dates, numbers, flags, units, doc types.

Every parser takes an expression of raw text and returns the typed value, NULL when the text
cannot be read; the caller compares with the raw text to tell "empty" from "unparseable".
"""

from __future__ import annotations

import re

import datetime as dt
from collections.abc import Callable

import polars as pl

EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 20_000, 80_000  # Excel serials of 1954-10 .. 2119-01
UNITS = {
    "box": ("盒", "box", "boxes", "bx", "hz", "盒装", "小盒", "包装", "pk", "pack"),
    "min_unit": ("支", "片", "粒", "瓶", "袋", "贴", "丸", "枚", "剂", "min", "min_unit", "minunit",
                 "tablet", "tab", "tabs", "capsule", "cap", "caps", "vial", "amp", "ampoule",
                 "piece", "pcs", "pc", "bottle", "sachet", "ea"),
    "case": ("件", "箱", "大箱", "整件", "case", "cases", "ctn", "carton", "cs"),
}
UNIT_LOOKUP = {alias: unit for unit, aliases in UNITS.items() for alias in aliases}
RETURN_PATTERN = r"退|冲|负|(?i:return|refund|credit|rtn|cancel)"
# 自有/本品 and 竞品 are how a product master marks own and competitor products (is_own)
TRUE_TEXT = ("1", "true", "t", "yes", "y", "是", "有", "√", "1.0", "自有", "本品", "本公司")
FALSE_TEXT = ("0", "false", "f", "no", "n", "否", "无", "×", "0.0", "竞品", "竞争产品")
NOTE_PATTERN = (r"^(?:制表|审核|复核|注[:：]|备注|说明|打印|制单|负责人|联系人|联系电话|电话|数据来源|报送|填报|"
                r"(?i:note|remark|prepared|printed))")
TOTAL_PATTERN = r"^(?:本页|本月|总|共)?(?:合\s*计|小\s*计|总\s*计|共\s*计|累\s*计)|^(?i:grand\s*total|sub\s*total|total|sum)\b"


def _nfkc(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKC").str.strip_chars()


def parse_number(expr: pl.Expr) -> pl.Expr:
    """1,234.50 · １２３ · ¥1234 · 1234元 · (12) → -12 · 12- → -12 · 1.2e3."""
    s = _nfkc(expr).str.replace_all(r"[,\s¥$€£]|rmb|cny|元|人民币", "")
    neg = s.str.contains(r"^\(.*\)$") | s.str.ends_with("-")
    s = s.str.strip_chars("()").str.strip_suffix("-")
    value = s.cast(pl.Float64, strict=False)
    value = pl.when(value.is_finite()).then(value)
    return pl.when(neg).then(-value).otherwise(value)


# A rank written out (a distributor tier): 一级 / 1级 / 第二级 / 一级商业 / Tier 1 / T2 → the digit.
RANK_PATTERN = r"^(?:第\s*)?([1-9一二三四五])\s*级(?:商业公司|商业|经销商|分销商|配送商)?$|^(?i:tier|t)\s*([1-9])$"
CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}


# a quantity with its unit glued on, as clerks type it: 20盒 · 1,200 支 · 3件 · 12 boxes
_QTY_UNIT = (r"^(.*\d)\s*(" + "|".join(sorted((re.escape(a) for a in UNIT_LOOKUP), key=len,
                                                reverse=True)) + r")$")


def quantity_unit(expr: pl.Expr) -> pl.Expr:
    """The unit word written after a quantity ('盒' of '20盒'), as written; NULL when none."""
    return _nfkc(expr).str.to_lowercase().str.extract(_QTY_UNIT, 2)


def parse_quantity(expr: pl.Expr) -> pl.Expr:
    """A number (see parse_number), also when its unit is glued on: 20盒 → 20."""
    s = _nfkc(expr)
    glued = s.str.to_lowercase().str.extract(_QTY_UNIT, 1)
    return parse_number(pl.when(glued.is_not_null()).then(glued).otherwise(s))


def parse_int(expr: pl.Expr) -> pl.Expr:
    """An integer (thousands separators, full-width, 12.0), or a rank written out: 一级 → 1."""
    s = _nfkc(expr)
    rank = pl.coalesce(s.str.extract(RANK_PATTERN, 1), s.str.extract(RANK_PATTERN, 2))
    rank = rank.replace(CHINESE_DIGITS)
    value = parse_number(pl.when(rank.is_not_null()).then(rank).otherwise(s))
    return pl.when(value == value.round(0)).then(value).cast(pl.Int32, strict=False)


# Date shapes read by one strptime (`quick_parse`): ASCII digits only (\d is any script's digit)
# → what `_date_text` makes of such a cell, with the format `parse_date` then applies.
DATE_SHAPES: tuple[tuple[str, Callable[[pl.Series], pl.Series], str], ...] = (
    (r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$", lambda s: s, "%Y-%m-%d"),
    (r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$", lambda s: s.str.replace_all("/", "-", literal=True),
     "%Y-%m-%d"),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?$", lambda s: s.str.head(10),
     "%Y-%m-%d"),
    (r"^[0-9]{8}$", lambda s: s, "%Y%m%d"),
)


def _date_text(expr: pl.Expr) -> pl.Expr:
    """2026年3月5日 / 2026/3/5 / 2026.3.5 / 2026-03-05 00:00:00 → 2026-3-5 (time dropped)."""
    s = _nfkc(expr).str.replace(r"(?:[tT ]|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*$", "")
    return s.str.replace_all(r"\s+", "").str.replace(r"日$", "").str.replace_all(r"[年月/.]", "-")


def parse_date(expr: pl.Expr, fmt: str | None = None) -> pl.Expr:
    """All date styles of sources.md, Excel serials and YYYY-MM (first of month)."""
    s = _date_text(expr)
    attempts = []
    if fmt:
        attempts.append(_nfkc(expr).str.strptime(pl.Date, fmt, strict=False))
    attempts += [
        pl.when(s.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")).then(
            s.str.strptime(pl.Date, "%Y-%m-%d", strict=False)),
        pl.when(s.str.contains(r"^\d{8}$")).then(s.str.strptime(pl.Date, "%Y%m%d", strict=False)),
        pl.when(s.str.contains(r"^\d{4}-\d{1,2}-?$")).then(
            (s.str.strip_suffix("-") + "-1").str.strptime(pl.Date, "%Y-%m-%d", strict=False)),
        pl.when(s.str.contains(r"^\d{6}$")).then(
            (s + "01").str.strptime(pl.Date, "%Y%m%d", strict=False)),
        _excel_serial(_nfkc(expr)),
    ]
    return pl.coalesce(attempts)


def _excel_serial(s: pl.Expr) -> pl.Expr:
    number = s.cast(pl.Float64, strict=False)
    days = number.floor().cast(pl.Int64, strict=False)
    ok = s.str.contains(r"^\d{5}(?:\.\d+)?$") & number.is_between(SERIAL_MIN, SERIAL_MAX)
    return pl.when(ok).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days))


def quick_parse(cells: pl.Series, parser: Callable[[pl.Expr], pl.Expr]
                ) -> tuple[pl.Series, pl.Series] | None:
    """A cheap first try of `parser` on whole cells: (values, final), `final` True where the
    value is what `parser` gives (NULL for NULL cells); None when `parser` has no such try.
    Most cells of an amount or quantity column are plain floats, most dates one shape: the caller
    runs `parser` (regexes, NFKC) only on the filled cells not final.

    Numbers (`parse_number`, `parse_quantity`, `quantity_unit`): the cell cast as Float64,
    without its commas if some cell needs that (1,234.50). Where that is finite the cell is
    ASCII digits, sign, point, exponent and commas only (inf/nan are not finite: left to the
    parser). NFKC and the strip leave it as it is; `parse_number` removes the commas and
    finds no other character it removes (space ¥ $ € £ rmb cny 元 人民币), no brackets and no
    trailing '-', so it casts that very string and keeps it, finite. It ends in a digit, '.'
    or ',', never in a unit word, so `_QTY_UNIT` does not match: `quantity_unit` is NULL (no
    unit glued on) and `parse_quantity` is `parse_number` of it. (Checked against the full
    parsers on 200 k random strings of digits, signs, separators, spaces, units and
    currency signs.)

    Dates (`parse_date` without a mapping's format): the `DATE_SHAPES` entry of the column's
    first filled cell, final where a cell has that shape. NFKC and the strip change nothing
    (ASCII, no outer space); `_date_text` changes nothing but / → - and drops the time (the
    first 10 characters are left), as the entry does, so `parse_date`'s first attempt (or for
    8 digits its second) is the entry's strptime of that very string. Where that gives NULL
    (2026-02-30) no later attempt matches (8 or 6 digits, a month, a 5-digit serial), so NULL
    it is. (Checked against `parse_date` on 500 k random strings of digits, separators, 年月日,
    times and spaces.)
    """
    if cells.dtype != pl.String:
        return None
    if parser in (parse_number, parse_quantity, quantity_unit):
        value = cells.cast(pl.Float64, strict=False)
        if value.null_count() > cells.null_count():  # thousands separators, or not numbers
            value = cells.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
        if parser is quantity_unit:
            return pl.repeat(None, cells.len(), dtype=pl.String, eager=True), value.is_finite()
        return value, value.is_finite()
    if parser is parse_date:
        first = cells.drop_nulls().head(1).to_list()
        shape = next((sh for sh in DATE_SHAPES if first and re.fullmatch(sh[0][1:-1], first[0])),
                     None)
        if shape is None:
            return None
        pattern, text, fmt = shape
        return text(cells).str.strptime(pl.Date, fmt, strict=False), cells.str.contains(pattern)
    return None


def parse_timestamp(expr: pl.Expr) -> pl.Expr:
    """2026-03-05 14:30[:00], 2026/3/5 14:30, ISO with T, date only (midnight), Excel serial."""
    s = _nfkc(expr).str.replace_all(r"[年月/.]", "-").str.replace("日", " ").str.replace("T", " ")
    s = s.str.replace(r"(?:[+-]\d{2}:?\d{2}|Z)$", "").str.replace_all(r"\s+", " ").str.strip_chars()
    attempts = [s.str.strptime(pl.Datetime("us"), f, strict=False)
                for f in ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")]
    serial = s.cast(pl.Float64, strict=False)
    from_serial = pl.when(serial.is_between(SERIAL_MIN, SERIAL_MAX)).then(
        pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(microseconds=(serial * 86_400e6).round(0)
                                                        .cast(pl.Int64, strict=False)))
    date_only = parse_date(expr).cast(pl.Datetime("us"))
    return pl.coalesce([*attempts, from_serial, date_only])


def parse_bool(expr: pl.Expr) -> pl.Expr:
    s = _nfkc(expr).str.to_lowercase()
    return (pl.when(s.is_in(TRUE_TEXT)).then(True)
            .when(s.is_in(FALSE_TEXT)).then(False)
            .otherwise(None))


def parse_month(expr: pl.Expr) -> pl.Expr:
    """YYYY-MM from 2026-03, 2026/3, 202603, 2026年3月, 2026-03-01."""
    date = parse_date(expr)
    return date.dt.strftime("%Y-%m")


def normalise_unit(expr: pl.Expr) -> pl.Expr:
    """box | min_unit | case; NULL for a unit that is not recognised."""
    s = _nfkc(expr).str.to_lowercase().str.replace_all(r"[\s.]", "")
    return s.replace_strict(UNIT_LOOKUP, default=None, return_dtype=pl.String)


def is_return(expr: pl.Expr) -> pl.Expr:
    return _nfkc(expr).str.contains(RETURN_PATTERN).fill_null(False)


_SALT_PREFIX = r"^(?:注射用|盐酸|硫酸氢|硫酸|苯磺酸|甲磺酸|马来酸|酒石酸|枸橼酸|富马酸|琥珀酸|醋酸|磷酸)+"
_FORM_SUFFIX = (r"(?:缓释片|控释片|肠溶片|分散片|咀嚼片|泡腾片|薄膜衣片|片|软胶囊|肠溶胶囊|胶囊|颗粒|注射液|"
                r"滴丸|口服液|口服溶液|糖浆|丸|散|乳膏|软膏|贴剂|气雾剂|滴眼液)$")
_SALT_SUFFIX = r"(?:钙|钠|钾|镁|锌)$"


def product_keys(names: list[str]) -> list[str]:
    """Names a distributor's product text may contain: brands and molecule cores of generic names
    (注射用奥美拉唑钠 → 奥美拉唑, 瑞舒伐他汀钙片 → 瑞舒伐他汀), normalised like `product_text`."""
    import re
    import unicodedata

    keys: set[str] = set()
    for name in names:
        text = re.sub(r"\s", "", unicodedata.normalize("NFKC", name or "")).lower()
        core = re.sub(_SALT_SUFFIX, "", re.sub(_FORM_SUFFIX, "", re.sub(_SALT_PREFIX, "", text)))
        keys.update(k for k in (text, core) if len(k) >= 2)
    return sorted(keys)


def product_text(expr: pl.Expr) -> pl.Expr:
    return _nfkc(expr).str.replace_all(r"\s", "").str.to_lowercase()
