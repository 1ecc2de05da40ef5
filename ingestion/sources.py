"""What each inbox source holds: its raw table, canonical fields, their kinds and which are required.

This is the single description the readers and the parser follow and from which the pandera
schemas (ingestion/schemas.py) and the raw DDL (ingestion/ddl.py) are generated at import: a
field added here is a raw column and a checked column at once. Field order is the column order
of the raw table (after file_id, source_row, sheet).
Kinds: text (original text, trimmed), date, timestamp, number (DOUBLE), int, bool (1/0, 是/否,
true/false), month (YYYY-MM), unit (box/min_unit/case) and doc_type (sale/return). A kind gives
the SQL type, the parsed polars type and the default sane range (KINDS below).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Sane ranges: a parsed value outside them is a misread cell (quarantined), not a business fact.
LOW_DATE, HIGH_DATE = dt.date(1990, 1, 1), dt.date(2100, 12, 31)
LOW_TS, HIGH_TS = dt.datetime(1990, 1, 1), dt.datetime(2100, 12, 31)
ABSURD = 1e12
Bounds = tuple[object, object]


@dataclass(frozen=True)
class Kind:
    sql: str  # raw table column type
    dtype: type  # the type pandera checks the parsed column against (its polars engine maps it)
    bounds: Bounds | None = None  # default sane range (inclusive)
    allowed: tuple[str, ...] = ()  # the only values a parsed cell may hold
    pattern: str | None = None  # the text a parsed cell must match


KINDS: dict[str, Kind] = {
    "text": Kind("VARCHAR", str),
    "date": Kind("DATE", dt.date, (LOW_DATE, HIGH_DATE)),
    "timestamp": Kind("TIMESTAMP", dt.datetime, (LOW_TS, HIGH_TS)),
    "number": Kind("DOUBLE", float, (-ABSURD, ABSURD)),
    "int": Kind("INTEGER", int),
    "bool": Kind("BOOLEAN", bool),
    "month": Kind("VARCHAR", str, pattern=r"^\d{4}-\d{2}$"),
    "unit": Kind("VARCHAR", str, allowed=("box", "min_unit", "case")),
    "doc_type": Kind("VARCHAR", str, allowed=("sale", "return")),
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"
    required: bool = False  # header must be found and the cell must hold a value
    filled: bool = False  # never empty once parsed: the loader sets it (folder, default unit)
    bounds: Bounds | None = None  # sane range of this field when not the kind's
    checked: bool = True  # False: set by the loader from the file name, no value check

    @property
    def nullable(self) -> bool:
        return not (self.required or self.filled)

    @property
    def sane_range(self) -> Bounds | None:
        if not self.checked:
            return None
        return self.bounds or KINDS[self.kind].bounds


@dataclass(frozen=True)
class Source:
    name: str  # registry `source`: master|flow|inventory|sellin|calls|activities|tenders|targets
    table: str  # raw table, schema-qualified
    fields: tuple[Field, ...]
    entity: str | None = None  # master entity (customers, hcps, ...)
    fixed_columns: bool = True  # system extract: header names are the canonical names
    per_distributor: bool = False  # flow/inventory: files sit in <source>/<distributor_code>/

    @property
    def key(self) -> str:
        return f"{self.name}:{self.entity}" if self.entity else self.name

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


F = Field
_SNAP = F("snapshot_date", "date", checked=False)  # set from the file name or mtime, not a cell
_EXPIRY = F("expiry_date", "date", bounds=(dt.date(1950, 1, 1), HIGH_DATE))  # old stock exists
_UNIT = F("unit", "unit", filled=True)  # the header's, the mapping's or box when none is written
_SIZE = (1, 100_000)

MASTER = {
    "customers": (F("crm_customer_id", required=True), F("name", required=True), F("customer_type"),
                  F("level"), F("province"), F("city"), F("district"), F("address"),
                  F("beds", "int", bounds=(0, 100_000)), F("potential", "number")),
    "hcps": (F("hcp_id", required=True), F("crm_customer_id"), F("name", required=True),
             F("department"), F("title"), F("grade")),
    "products": (F("product_id", required=True), F("generic_name", required=True), F("brand_name"),
                 F("spec"), F("dosage_form"), F("pack_size", "int", bounds=_SIZE),
                 F("case_size", "int", bounds=_SIZE),
                 F("list_price", "number"), F("is_own", "bool"), F("product_line")),
    "distributors": (F("distributor_code", required=True), F("name", required=True),
                     F("tier", "int", bounds=(1, 9)),
                     F("province"), F("city"), F("flow_required", "bool"), F("aliases"),
                     F("region_id")),
    "territories": (F("territory_id", required=True), F("parent_id"), F("level"),
                    F("name", required=True)),
    "customer_alignment": (F("crm_customer_id", required=True), F("territory_id", required=True),
                           F("product_line"), F("valid_from", "date", required=True),
                           F("valid_to", "date")),
    "rep_assignments": (F("rep_id", required=True), F("rep_name"), F("territory_id", required=True),
                        F("valid_from", "date", required=True), F("valid_to", "date")),
}

_FOLDER_CODE = F("distributor_code", filled=True)  # the <source>/<distributor_code>/ folder

FLOW = Source("flow", "raw.flow__lines", (
    _FOLDER_CODE, F("sale_date", "date", required=True), F("buyer_code"),
    F("buyer_name", required=True), F("buyer_address"), F("product_name", required=True),
    F("spec"), F("manufacturer"), F("batch_no"), _EXPIRY,
    F("quantity", "number", required=True), _UNIT, F("raw_unit"),
    F("unit_price", "number"), F("amount", "number"),
    F("doc_type", "doc_type", filled=True),  # sale unless a return marker or negative numbers
), fixed_columns=False, per_distributor=True)

INVENTORY = Source("inventory", "raw.inventory__lines", (
    _FOLDER_CODE, F("snapshot_date", "date", required=True),
    F("product_name", required=True), F("spec"), F("batch_no"), _EXPIRY,
    F("quantity", "number", required=True), _UNIT, F("raw_unit"),
), fixed_columns=False, per_distributor=True)

SYSTEM = (
    Source("sellin", "raw.sellin__shipments", (
        F("invoice_no", required=True), F("line_no", "int"), F("ship_date", "date", required=True),
        F("distributor_code", required=True), F("product_id", required=True),
        F("quantity_boxes", "number", required=True), F("amount", "number"))),
    Source("calls", "raw.crm__calls", (
        F("call_id", required=True), F("rep_id", required=True), F("hcp_id"), F("crm_customer_id"),
        F("call_datetime", "timestamp", required=True), F("channel"), F("products"),
        F("report_submitted_at", "timestamp"), F("objective_met", "bool"), F("next_step"))),
    Source("activities", "raw.marketing__activities", (
        F("activity_id", required=True), F("activity_type"), F("crm_customer_id"), F("product_id"),
        F("start_date", "date", required=True), F("end_date", "date"), F("cost", "number"),
        F("territory_id"))),
    Source("targets", "raw.plan__targets", (
        F("month", "month", required=True), F("territory_id", required=True),
        F("product_id", required=True), F("target_amount", "number"), F("target_boxes", "number"))),
)

TENDERS = Source("tenders", "raw.tenders__results", (
    F("province", required=True), F("tender_name"), F("batch"), F("announce_date", "date"),
    F("result_date", "date"), F("generic_name", required=True), F("spec"), F("bidder"),
    F("result"), F("bid_price", "number"), F("is_volume_based", "bool"), F("hospital_name"),
), fixed_columns=False)

MASTERS = tuple(Source("master", f"raw.master__{entity}", (_SNAP, *fields), entity=entity)
                for entity, fields in MASTER.items())

ALL_SOURCES: tuple[Source, ...] = (*MASTERS, FLOW, INVENTORY, *SYSTEM, TENDERS)
BY_FOLDER: dict[str, Source] = {s.name: s for s in (FLOW, INVENTORY, *SYSTEM, TENDERS)}

def master_for(stem: str) -> Source | None:
    """The master entity a file name starts with (`customer_alignment_2026-10.csv`), longest first."""
    low = stem.lower()
    for source in sorted(MASTERS, key=lambda s: -len(s.entity or "")):
        if low.startswith(source.entity or "\0"):
            return source
    return None
