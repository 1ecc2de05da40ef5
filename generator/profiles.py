"""Each distributor's own file habits: format, encoding, headers, title rows, date style, units,
how returns look, naming of buyers and products, when files arrive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from generator import reference as ref
from generator.rand import py_rng

DATE_STYLES = ["iso", "slash", "compact", "cn", "iso_time"]


@dataclass
class Profile:
    code: str
    fmt: str  # csv | txt | xlsx | xls
    encoding: str  # utf-8 | utf-8-sig | gbk | gb18030 (text formats)
    fields: list[str]  # canonical flow fields, in column order
    headers: dict[str, str]  # canonical field -> header text
    inv_fields: list[str]
    inv_headers: dict[str, str]
    title_rows: int  # 0-3 rows above the header
    total_row: bool
    footer_note: bool
    date_style: str  # see DATE_STYLES; xlsx may also use 'serial' or 'excel'
    thousands: bool
    unit_policy: str  # box | min_injectables | min_all | case_bulk
    box_word: str
    case_word: str
    return_style: str  # negative | doctype_positive | doctype_negative
    doc_words: tuple[str, str]
    code_prefix: str  # '' = no buyer codes
    noise: float  # 0..1 how messy buyer names are
    product_style: str
    spec_style: int
    cadence: str  # monthly | weekly | quarterly
    arrival_day: int  # typical day of the following month files arrive
    late_prone: bool
    name_style: int
    pad_commas: bool
    switch_month: int | None = None  # from this month index on, the files look like `after`
    after: Profile | None = None
    # two-row header (group row over sub-header row), one cell per field; None = one header row
    header2: tuple[tuple[str | None, ...], tuple[str | None, ...]] | None = None
    glued_units: bool = False  # no unit column: the quantity cell carries its unit (20盒)

    def at(self, month_index: int) -> Profile:
        """The profile in force for a month: distributors sometimes change ERP mid-period."""
        if self.after is not None and self.switch_month is not None and month_index >= self.switch_month:
            return self.after
        return self

    @property
    def english(self) -> bool:
        return self.headers.get("quantity") == "Qty"


def _fields(rng: random.Random, doc_type: bool) -> list[str]:
    fields = ["sale_date"]
    if rng.random() < 0.4:
        fields.append("buyer_code")
    fields.append("buyer_name")
    if rng.random() < 0.25:
        fields.append("buyer_address")
    fields += ["product_name", "spec"]
    if rng.random() < 0.5:
        fields.append("manufacturer")
    fields.append("batch_no")
    if rng.random() < 0.6:
        fields.append("expiry_date")
    fields.append("quantity")
    if rng.random() < 0.85:
        fields.append("unit")
    if rng.random() < 0.75:
        fields.append("unit_price")
    if rng.random() < 0.8:
        fields.append("amount")
    if doc_type:
        fields.insert(1, "doc_type")
    return fields


def build_profile(seed: int, code: str, index: int, bulk: bool) -> Profile:
    rng = py_rng(seed, f"profile:{code}")
    english = index % 13 == 5
    fmt = rng.choices(["xlsx", "csv", "xls", "txt"], weights=(40, 35, 12, 13))[0]
    if bulk and fmt in ("xlsx", "xls"):
        fmt = rng.choice(["csv", "txt"])
    return_style = rng.choices(["negative", "doctype_positive", "doctype_negative"], weights=(5, 3, 2))[0]
    fields = _fields(rng, return_style != "negative")
    if "unit" not in fields:
        unit_policy = "box"
    else:
        unit_policy = rng.choices(["box", "min_injectables", "min_all", "case_bulk"], weights=(5, 3, 1, 2))[0]
    headers = {f: (ref.FLOW_HEADERS_EN[f] if english else rng.choice(ref.FLOW_HEADERS[f])) for f in fields}
    inv_fields = ["snapshot_date", "product_name", "spec"]
    inv_fields += ["batch_no"] if rng.random() < 0.6 else []
    inv_fields += ["expiry_date"] if "batch_no" in inv_fields and rng.random() < 0.5 else []
    inv_fields += ["quantity"] + (["unit"] if "unit" in fields else [])
    inv_headers = {f: (ref.INVENTORY_HEADERS_EN[f] if english else rng.choice(ref.INVENTORY_HEADERS[f]))
                   for f in inv_fields}
    date_style = rng.choice(DATE_STYLES)
    if fmt == "xlsx" and rng.random() < 0.5:
        date_style = rng.choice(["serial", "excel"])
    return Profile(
        code=code, fmt=fmt,
        encoding=rng.choices(["utf-8", "utf-8-sig", "gbk", "gb18030"], weights=(2, 2, 5, 1))[0],
        fields=fields, headers=headers, inv_fields=inv_fields, inv_headers=inv_headers,
        title_rows=rng.choice([0, 0, 1, 2, 3, 3]), total_row=rng.random() < 0.5,
        footer_note=rng.random() < 0.2, date_style=date_style, thousands=rng.random() < 0.35,
        unit_policy=unit_policy, box_word="BOX" if english else "盒",
        case_word=rng.choice(["件", "件", "箱"]), return_style=return_style,
        doc_words=rng.choice(ref.DOC_TYPE_WORDS),
        code_prefix=rng.choice(["KH", "C", "0", "CUS", "K-"]) if "buyer_code" in fields else "",
        noise=rng.choice([0.1, 0.3, 0.5, 0.8]),
        product_style=rng.choices(["generic", "brand_generic", "brand", "generic_spec", "abbrev"],
                                  weights=(5, 2, 1, 2, 1))[0],
        spec_style=rng.randrange(6),
        cadence="weekly" if index % 11 == 3 else "quarterly" if index % 21 == 8 else "monthly",
        arrival_day=rng.randint(3, 12), late_prone=rng.random() < 0.15,
        name_style=rng.randrange(4), pad_commas=rng.random() < 0.5)


def new_erp(prof: Profile, seed: int, switch_month: int, bulk: bool) -> Profile:
    """The same distributor after an ERP change: new file format, headers, titles, date style.

    Buyer naming, products, units and how returns look stay the same (the people did not change).
    """
    rng = py_rng(seed, f"profile-switch:{prof.code}")
    formats = [f for f in (("csv", "txt") if bulk else ("xlsx", "csv", "xls", "txt")) if f != prof.fmt]
    fmt = rng.choice(formats)
    headers = {f: rng.choice([h for h in ref.FLOW_HEADERS[f] if h != prof.headers[f]] or ref.FLOW_HEADERS[f])
               for f in prof.fields} if not prof.english else prof.headers
    after = replace(prof, fmt=fmt, headers=headers, encoding=rng.choice(["utf-8-sig", "gbk", "utf-8"]),
                    title_rows=rng.choice([0, 1, 2]), total_row=not prof.total_row,
                    date_style=rng.choice([d for d in DATE_STYLES if d != prof.date_style]),
                    thousands=not prof.thousands, name_style=(prof.name_style + 1) % 4,
                    switch_month=None, after=None)
    return replace(prof, switch_month=switch_month, after=after)


# Two-row headers the ingestion rule reads: group label + sub-header joined is a synonym
# (客户+编码 → 客户编码, 产品+规格 → 产品规格), or 数量 over a unit word (→ 数量(盒)).
BUYER_GROUPS = ["客户", "购货单位", "收货单位"]
BUYER_SUBS = {"buyer_code": "编码", "buyer_name": "名称", "buyer_address": "地址"}
PRODUCT_GROUPS = ["产品", "商品", "药品"]
PRODUCT_SUBS = {"product_name": "名称", "spec": "规格"}


def _two_row_header(prof: Profile, rng: random.Random
                    ) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """Group row over sub-header row: 客户 over 编码/名称/地址 (when there are two or more buyer
    columns), 产品 over 名称/规格, 数量 over 盒 (only without a unit column), the other columns
    merged down over both rows (label in the upper row, empty below)."""
    buyer_label, product_label = rng.choice(BUYER_GROUPS), rng.choice(PRODUCT_GROUPS)
    buyer_group = sum(f in prof.fields for f in BUYER_SUBS) >= 2
    unit_under_qty = "unit" not in prof.fields and not prof.glued_units and rng.random() < 0.5
    upper: list[str | None] = []
    lower: list[str | None] = []
    for f in prof.fields:
        if buyer_group and f in BUYER_SUBS:  # buyer fields are adjacent; the first gets the label
            upper.append(None if any(lo in BUYER_SUBS.values() for lo in lower) else buyer_label)
            lower.append(BUYER_SUBS[f])
        elif f in PRODUCT_SUBS:
            upper.append(product_label if f == "product_name" else None)
            lower.append(PRODUCT_SUBS[f])
        elif f == "quantity" and unit_under_qty:
            upper.append(prof.headers[f])
            lower.append(prof.box_word)
        else:
            upper.append(prof.headers[f])
            lower.append(None)
    return tuple(upper), tuple(lower)


def add_layouts(prof: Profile, seed: int) -> Profile:
    """The rarer layouts, drawn from their own stream so every other choice stays as it was:
    a two-row header (~12 % of Chinese-header distributors) and quantities with the unit glued
    on (~85 % of those without a unit column: ~12 % of all, as only ~15 % have none). English
    headers get neither. An ERP change keeps both habits; the two-row header is rebuilt from
    the new headers."""
    if prof.english:
        return prof
    rng = py_rng(seed, f"layout2:{prof.code}")
    two_row = rng.random() < 0.12
    glued = "unit" not in prof.fields and rng.random() < 0.85
    if not (two_row or glued):
        return prof

    def apply(p: Profile) -> Profile:
        p = replace(p, glued_units=glued)
        return replace(p, header2=_two_row_header(p, rng)) if two_row else p

    before = apply(prof)
    return replace(before, after=apply(prof.after)) if prof.after is not None else before
