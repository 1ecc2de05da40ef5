"""pandera schemas of the parsed rows of each source, checked on collected frames (lazy=True).

They run after parsing: a row that fails (a required value missing, a date outside any sane
range, a unit or doc type outside its set, an absurd number) goes to quarantine with the check
that failed. Business plausibility (future dates, spikes) is for the quality gates, not here.
Models are not `strict`: the frame also carries `_row`/`_pos` bookkeeping columns.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

LOW_DATE, HIGH_DATE = dt.date(1990, 1, 1), dt.date(2100, 12, 31)
LOW_TS, HIGH_TS = dt.datetime(1990, 1, 1), dt.datetime(2100, 12, 31)
ABSURD = 1e12


def _date(nullable: bool = True) -> object:
    return pa.Field(nullable=nullable, ge=LOW_DATE, le=HIGH_DATE)


def _amount(nullable: bool = True) -> object:
    return pa.Field(nullable=nullable, ge=-ABSURD, le=ABSURD)


def _text(nullable: bool = True) -> object:
    return pa.Field(nullable=nullable)


class _Base(pa.DataFrameModel):
    class Config:
        strict = False
        coerce = False


class FlowLines(_Base):
    distributor_code: str = _text(False)
    sale_date: dt.date = _date(False)
    buyer_name: str = _text(False)
    product_name: str = _text(False)
    expiry_date: dt.date = pa.Field(nullable=True, ge=dt.date(1950, 1, 1), le=HIGH_DATE)
    quantity: float = _amount(False)
    unit: str = pa.Field(isin=["box", "min_unit", "case"])
    unit_price: float = _amount()
    amount: float = _amount()
    doc_type: str = pa.Field(isin=["sale", "return"])


class InventoryLines(_Base):
    distributor_code: str = _text(False)
    snapshot_date: dt.date = _date(False)
    product_name: str = _text(False)
    expiry_date: dt.date = pa.Field(nullable=True, ge=dt.date(1950, 1, 1), le=HIGH_DATE)
    quantity: float = _amount(False)
    unit: str = pa.Field(isin=["box", "min_unit", "case"])


class SellinShipments(_Base):
    invoice_no: str = _text(False)
    ship_date: dt.date = _date(False)
    distributor_code: str = _text(False)
    product_id: str = _text(False)
    quantity_boxes: float = _amount(False)
    amount: float = _amount()


class CrmCalls(_Base):
    call_id: str = _text(False)
    rep_id: str = _text(False)
    call_datetime: dt.datetime = pa.Field(nullable=False, ge=LOW_TS, le=HIGH_TS)
    report_submitted_at: dt.datetime = pa.Field(nullable=True, ge=LOW_TS, le=HIGH_TS)


class MarketingActivities(_Base):
    activity_id: str = _text(False)
    start_date: dt.date = _date(False)
    end_date: dt.date = _date()
    cost: float = _amount()


class PlanTargets(_Base):
    month: str = pa.Field(nullable=False, str_matches=r"^\d{4}-\d{2}$")
    territory_id: str = _text(False)
    product_id: str = _text(False)
    target_amount: float = _amount()
    target_boxes: float = _amount()


class TenderResults(_Base):
    province: str = _text(False)
    generic_name: str = _text(False)
    announce_date: dt.date = _date()
    result_date: dt.date = _date()
    bid_price: float = _amount()


class MasterCustomers(_Base):
    crm_customer_id: str = _text(False)
    name: str = _text(False)
    beds: int = pa.Field(nullable=True, ge=0, le=100_000)
    potential: float = _amount()


class MasterHcps(_Base):
    hcp_id: str = _text(False)
    name: str = _text(False)


class MasterProducts(_Base):
    product_id: str = _text(False)
    generic_name: str = _text(False)
    pack_size: int = pa.Field(nullable=True, ge=1, le=100_000)
    case_size: int = pa.Field(nullable=True, ge=1, le=100_000)
    list_price: float = _amount()


class MasterDistributors(_Base):
    distributor_code: str = _text(False)
    name: str = _text(False)
    tier: int = pa.Field(nullable=True, ge=1, le=9)


class MasterTerritories(_Base):
    territory_id: str = _text(False)
    name: str = _text(False)


class MasterCustomerAlignment(_Base):
    crm_customer_id: str = _text(False)
    territory_id: str = _text(False)
    valid_from: dt.date = _date(False)
    valid_to: dt.date = _date()


class MasterRepAssignments(_Base):
    rep_id: str = _text(False)
    territory_id: str = _text(False)
    valid_from: dt.date = _date(False)
    valid_to: dt.date = _date()


SCHEMAS: dict[str, type[_Base]] = {
    "flow": FlowLines, "inventory": InventoryLines, "sellin": SellinShipments,
    "calls": CrmCalls, "activities": MarketingActivities, "targets": PlanTargets,
    "tenders": TenderResults, "master:customers": MasterCustomers, "master:hcps": MasterHcps,
    "master:products": MasterProducts, "master:distributors": MasterDistributors,
    "master:territories": MasterTerritories,
    "master:customer_alignment": MasterCustomerAlignment,
    "master:rep_assignments": MasterRepAssignments,
}


def schema_failures(key: str, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per failing row index: `_idx`, `reason`, `column_name` (first failure wins)."""
    empty = pl.DataFrame(schema={"_idx": pl.UInt32, "reason": pl.String, "column_name": pl.String})
    model = SCHEMAS.get(key)
    if model is None or frame.height == 0:
        return empty
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        return (cases.select(
            pl.col("index").cast(pl.UInt32).alias("_idx"),
            pl.format("failed check {} on column {} (value: {})", pl.col("check"),
                      pl.col("column"), pl.col("failure_case").cast(pl.String).fill_null("empty")
                      ).alias("reason"),
            pl.col("column").cast(pl.String).alias("column_name"))
            .unique("_idx", keep="first", maintain_order=True))
    return empty
