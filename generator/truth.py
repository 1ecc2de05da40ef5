"""_truth/: what the loader, the matcher and the KPIs should find (docs/contracts.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from generator.ambiguity import AmbiguityIndex
from generator.delivery import FileRecord, FlowOutput
from generator.economy import KIND_CUSTOMER, KIND_DISTRIBUTOR, Economy
from generator.profiles import Profile
from generator.world import World
from generator.writers import set_arrival, write_csv_rows

TRUTH_WRITTEN_AT = datetime(2026, 11, 23, 8, 0)


def customer_truth(world: World, flow: FlowOutput, tender_rows: list[tuple],
                   profiles: dict[str, Profile]) -> list[tuple]:
    """One row per raw buyer name; the last column lists the other customers it could name."""
    index = AmbiguityIndex(world.cities, world.customers)
    crm_index = {c.crm_id: i for i, c in enumerate(world.customers)}
    rows = set()
    for source, province, code, raw, crm, kind, bdist in tender_rows:
        cities = {c.city for c in world.cities if c.province == province}
        others = index.others(raw, crm_index[crm], cities, same_district=False) if crm else []
        rows.add((source, province, code, raw, crm, kind, bdist, "|".join(others)))
    for code, used in flow.names_used.items():
        book = flow.books[code]
        key_of_row = np.repeat(book.keys, book.count)
        reach = _cities_sold_to(world, book.keys)
        with_address = _sends_addresses(profiles[code])
        for r in sorted(used):
            kind, idx = divmod(int(key_of_row[r]), 10_000_000)
            crm, bkind, bdist, others = "", "terminal", "", []
            if kind == KIND_CUSTOMER:
                crm = world.customers[idx].crm_id
                others = index.others(book.names[r], idx, reach, with_address)
            elif kind == KIND_DISTRIBUTOR:
                bkind, bdist = "distributor", world.distributors[idx].code
            rows.add(("flow", code, book.codes[r], book.names[r], crm, bkind, bdist,
                      "|".join(others)))
    return sorted(rows)


def _cities_sold_to(world: World, keys: np.ndarray) -> set[str]:
    kinds, idx = np.divmod(keys, 10_000_000)
    return {world.customers[int(i)].city for i in idx[kinds == KIND_CUSTOMER]}


def _sends_addresses(prof: Profile) -> bool:
    """Any of the seller's file layouts carries the buyer address (it tells same names apart)."""
    versions = [prof] + ([prof.after] if prof.after is not None else [])
    return any("buyer_address" in v.fields for v in versions)


def product_truth(world: World, flow: FlowOutput, profiles: dict[str, Profile]) -> list[list]:
    by_id = {p.product_id: p for p in world.products}
    out = []
    for code in sorted(flow.products_used):
        prof = profiles[code]
        for raw_product, raw_spec, raw_unit, pid in sorted(flow.products_used[code]):
            factor = ""
            if pid:
                p = by_id[pid]
                if raw_unit == p.min_unit and raw_unit not in (prof.box_word,):
                    factor = f"{1 / p.pack_size:.10g}"
                elif raw_unit == prof.case_word:
                    factor = str(p.case_size)
                else:
                    factor = "1"
            out.append([code, raw_product, raw_spec, raw_unit, pid, factor])
    return out


def inventory_truth(world: World, econ: Economy) -> list[list]:
    rows = []
    for di, d in enumerate(world.distributors):
        for pi, p in enumerate(world.products):
            if not p.is_own:
                continue
            for mi, m in enumerate(econ.months):
                vals = (econ.opening[di, pi, mi], econ.purchases[di, pi, mi], econ.sales[di, pi, mi],
                        econ.closing[di, pi, mi])
                if any(vals):
                    rows.append([f"{m:%Y-%m}", d.code, p.product_id, *(int(v) for v in vals)])
    return rows


def sell_out_truth(world: World, econ: Economy, flow: FlowOutput) -> pl.DataFrame:
    c = econ.cells
    ids = np.array([x.crm_id for x in world.customers] + [""])
    dcodes = np.array([d.code for d in world.distributors])
    cust_ids = ids[np.where(c.kind == KIND_CUSTOMER, c.buyer, len(ids) - 1)]
    buyer = np.where(c.kind == KIND_DISTRIBUTOR, dcodes[np.where(c.kind == KIND_DISTRIBUTOR, c.buyer, 0)],
                     cust_ids)
    months = np.array([f"{m:%Y-%m}" for m in econ.months])
    df = pl.DataFrame({
        "month": months[c.month], "distributor_code": dcodes[c.dist], "crm_customer_id": buyer,
        "buyer_kind": np.where(c.kind == KIND_DISTRIBUTOR, "distributor", "terminal"),
        "product_id": np.array([p.product_id for p in world.products])[c.prod],
        "qty_boxes": c.qty, "amount": flow.cell_amount, "in_files": flow.cell_in_files.astype(np.int8)})
    return (df.group_by(["month", "distributor_code", "crm_customer_id", "buyer_kind", "product_id"])
            .agg(pl.col("qty_boxes").sum(), pl.col("amount").sum().round(2), pl.col("in_files").max())
            .sort(["month", "distributor_code", "crm_customer_id", "product_id"]))


def write_truth(out: Path, world: World, econ: Economy, flow: FlowOutput, profiles: dict[str, Profile],
                tender_rows: list[tuple], files: list[FileRecord], variances: list[tuple]) -> dict[str, int]:
    folder = out / "_truth"
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    counts["customer_truth"] = write_csv_rows(
        folder / "customer_truth.csv",
        ["source", "distributor_code", "buyer_code", "raw_name", "crm_customer_id", "buyer_kind",
         "buyer_distributor_code", "ambiguous_with"],
        customer_truth(world, flow, tender_rows, profiles))
    counts["product_truth"] = write_csv_rows(
        folder / "product_truth.csv",
        ["distributor_code", "raw_product", "raw_spec", "raw_unit", "product_id", "box_factor"],
        product_truth(world, flow, profiles))
    counts["inventory_truth"] = write_csv_rows(
        folder / "inventory_truth.csv",
        ["month", "distributor_code", "product_id", "opening_boxes", "purchase_boxes", "sales_boxes",
         "closing_boxes"], inventory_truth(world, econ))
    sot = sell_out_truth(world, econ, flow)
    sot.write_csv(folder / "sell_out_truth.csv", float_precision=2)
    counts["sell_out_truth"] = sot.height
    counts["files"] = write_csv_rows(
        folder / "files.csv", ["path", "kind", "expected_status", "rows", "quarantined_rows", "note"],
        [[f.path, f.kind, f.expected_status, f.rows, f.quarantined_rows, f.note]
         for f in sorted(files, key=lambda f: f.path)])
    anomalies = list(flow.anomalies)
    anomalies += [("inventory_variance", code, pid, month, f"true closing {t} boxes, reported {r} boxes")
                  for code, pid, month, t, r in variances]
    anomalies += [("overstock", code, "", "", "distributor keeps 2.5-3.5 months of stock")
                  for code in econ.overstocked]
    anomalies += [("no_flow_required", d.code, "", "", "flow_required=0: sends no flow or stock files")
                  for d in world.distributors if not d.flow_required]
    counts["anomalies"] = write_csv_rows(folder / "anomalies.csv",
                                         ["kind", "distributor_code", "product_id", "month", "details"],
                                         sorted(anomalies))
    for path in folder.iterdir():
        set_arrival(path, TRUTH_WRITTEN_AT)
    return counts
