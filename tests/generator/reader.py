"""A light, independent reader for generated distributor files (tests only): decode, find the
header row, return data rows as strings. Deliberately simpler than the real ingestion."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from generator import reference as ref
from generator.profiles import PRODUCT_GROUPS

BUYER_HEADERS = set(ref.FLOW_HEADERS["buyer_name"]) | {ref.FLOW_HEADERS_EN["buyer_name"]}
PRODUCT_HEADERS = set(ref.FLOW_HEADERS["product_name"]) | set(ref.INVENTORY_HEADERS["product_name"]) | {"Product"}
FOOTER_PREFIXES = ("合计", "Total", "制表人", "注：")
SUB_HEADERS = {"编码", "名称", "地址", "规格", "盒"}


def decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable")


def read_rows(path: Path) -> list[list[str]]:
    if path.suffix in (".xlsx", ".xls"):
        df = pl.read_excel(path, has_header=False, infer_schema_length=0)
        return [["" if v is None else str(v) for v in row] for row in df.iter_rows()]
    text = decode(path.read_bytes())
    sep = "\t" if path.suffix == ".txt" else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=sep)]


def _sub_header(row: list[str]) -> bool:
    """The lower row of a two-row header: only sub-header words (编码/名称/地址/规格/盒)."""
    cells = {c.strip() for c in row} - {""}
    return bool(cells) and cells <= SUB_HEADERS


def combine_header(upper: list[str], lower: list[str]) -> list[str]:
    """One name per column from a group row over a sub-header row, spelled the way a one-row
    header would be: 产品+名称 → 产品名称, 客户+名称 → 客户, 客户+编码 → 客户编码, 规格 → 规格,
    数量 over 盒 → 数量(盒)."""
    out, group = [], ""
    for u, lo in zip(upper, lower + [""] * (len(upper) - len(lower))):
        u, lo = u.strip(), lo.strip()
        group = u or group
        if not lo:
            out.append(u)
        elif lo == "盒":  # the unit under the quantity: kept as the header's unit hint
            out.append(f"{u}({lo})")
        elif lo == "名称":
            out.append(group + "名称" if group in PRODUCT_GROUPS else group)
        elif lo == "编码":
            out.append("客户编码")
        else:
            out.append(lo)
    return out


def table(path: Path, header_names: set[str]) -> tuple[list[str], list[list[str]]]:
    """(header, data rows) — rows between the header row (or two-row header) and the footer."""
    rows = read_rows(path)
    for i, row in enumerate(rows):
        two_row = i + 1 < len(rows) and _sub_header(rows[i + 1])
        header = combine_header(row, rows[i + 1]) if two_row else [c.strip() for c in row]
        if any(cell in header_names for cell in header):
            data = [r + [""] * (len(header) - len(r)) for r in rows[i + 1 + two_row:]
                    if r and not str(r[0]).startswith(FOOTER_PREFIXES) and any(c.strip() for c in r)]
            return header, data
    raise ValueError(f"{path}: no header row")


def column(header: list[str], names: set[str] | list[str]) -> int | None:
    """The first column whose header (without a bracketed unit hint) is one of `names`."""
    for i, h in enumerate(header):
        if h in names or re.sub(r"\(.*\)$", "", h) in names:
            return i
    return None


def raw_unit(header: list[str], row: list[str], unit_i: int | None, qty_i: int | None) -> str:
    """The unit a reader sees: the unit column, else the unit glued to the quantity (20盒),
    else the unit written under/after the quantity header (数量(盒)); '' when none."""
    if unit_i is not None:
        return row[unit_i].strip()
    if qty_i is None:
        return ""
    glued = re.match(r"^-?[\d,.]+\s*(\D+)$", row[qty_i].strip())
    if glued:
        return glued.group(1)
    hint = re.search(r"\((.+)\)$", header[qty_i])
    return hint.group(1) if hint else ""


def parse_number(text: str) -> float:
    """1,234 · -5 · 20盒 (a quantity typed with its unit)."""
    return float(re.sub(r"[盒件箱支片粒]$", "", text.replace(",", "").strip()))


def parse_date(text: str) -> date:
    t = text.strip()
    if re.fullmatch(r"\d{5}(\.0)?", t):
        return date(1899, 12, 30) + timedelta(days=int(float(t)))
    if re.fullmatch(r"\d{8}", t):
        return datetime.strptime(t, "%Y%m%d").date()
    m = re.fullmatch(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?( .*)?", t)
    if not m:
        raise ValueError(f"bad date {text!r}")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
