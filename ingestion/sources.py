"""What each inbox source holds: its raw table, canonical fields, their kinds and which are required.

This is the single description the readers, the parser, the pandera schemas and the DDL agree
on. Field order is the column order of the raw table (after file_id, source_row, sheet).
Kinds: text (original text, trimmed), date, timestamp, number (DOUBLE), int, bool (1/0, 是/否,
true/false), month (YYYY-MM), unit (box/min_unit/case) and doc_type (sale/return).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"
    required: bool = False  # header must be found and the cell must hold a value


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
_SNAP = F("snapshot_date", "date")  # set from the file name or mtime, never read from a column

MASTER = {
    "customers": (F("crm_customer_id", required=True), F("name", required=True), F("customer_type"),
                  F("level"), F("province"), F("city"), F("district"), F("address"),
                  F("beds", "int"), F("potential", "number")),
    "hcps": (F("hcp_id", required=True), F("crm_customer_id"), F("name", required=True),
             F("department"), F("title"), F("grade")),
    "products": (F("product_id", required=True), F("generic_name", required=True), F("brand_name"),
                 F("spec"), F("dosage_form"), F("pack_size", "int"), F("case_size", "int"),
                 F("list_price", "number"), F("is_own", "bool"), F("product_line")),
    "distributors": (F("distributor_code", required=True), F("name", required=True), F("tier", "int"),
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

FLOW = Source("flow", "raw.flow__lines", (
    F("distributor_code"), F("sale_date", "date", required=True), F("buyer_code"),
    F("buyer_name", required=True), F("buyer_address"), F("product_name", required=True),
    F("spec"), F("manufacturer"), F("batch_no"), F("expiry_date", "date"),
    F("quantity", "number", required=True), F("unit", "unit"), F("raw_unit"),
    F("unit_price", "number"), F("amount", "number"), F("doc_type", "doc_type"),
), fixed_columns=False, per_distributor=True)

INVENTORY = Source("inventory", "raw.inventory__lines", (
    F("distributor_code"), F("snapshot_date", "date", required=True),
    F("product_name", required=True), F("spec"), F("batch_no"), F("expiry_date", "date"),
    F("quantity", "number", required=True), F("unit", "unit"), F("raw_unit"),
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
