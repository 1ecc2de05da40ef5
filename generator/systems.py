"""Clean system extracts: CRM/MDM master snapshots, ERP sell-in, activities, targets (calls: calls.py).
Columns are exactly those of sources.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from generator.delivery import FileRecord
from generator.economy import KIND_CUSTOMER, Economy, month_end
from generator.calls import alignment_on
from generator import reference as ref
from generator.rand import py_rng
from generator.world import Distributor, World
from generator.writers import set_arrival, write_csv_rows



def _ds(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def _emit(out: Path, rel: str, kind: str, header: list[str], rows: list, arrival: datetime,
          files: list[FileRecord], note: str = "") -> None:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    n = write_csv_rows(path, header, rows)
    set_arrival(path, arrival)
    files.append(FileRecord(rel, kind, "loaded", n, 0, note, arrival))


def _given_region(d: Distributor) -> str:
    """A tier-1 house's master names its province's region; tier-2 leave it empty so the warehouse
    derives it from their sales (sources.md). No random draw: every other file stays the same."""
    return ref.GEO[d.province][1] if d.tier == 1 and d.province in ref.GEO else ""


def write_master(out: Path, world: World, months: list[date], files: list[FileRecord]) -> None:
    snap = month_end(months[-1])
    arrival = datetime.combine(snap + timedelta(days=1), time(6, 0))
    cust_header = ["crm_customer_id", "name", "customer_type", "level", "province", "city", "district",
                   "address", "beds", "potential"]
    cust_rows = [[c.crm_id, c.name, c.ctype, c.level, c.province, c.city, c.district, c.address,
                  "" if c.beds is None else c.beds, f"{c.potential:.0f}"] for c in world.customers]
    if len(months) >= 13:
        old = month_end(months[-13])
        n_old = int(len(cust_rows) * 0.97)
        old_rows = [list(r) for r in cust_rows[:n_old]]
        for r in old_rows[5:8]:
            r[1] = r[1].replace("医院", "医院(老院区)") if "医院" in r[1] else r[1] + "(原)"
        _emit(out, f"master/customers_{old.isoformat()}.csv", "master", cust_header, old_rows,
              datetime.combine(old + timedelta(days=1), time(6, 0)), files, "older snapshot (history)")
    tag = snap.isoformat()
    _emit(out, f"master/customers_{tag}.csv", "master", cust_header, cust_rows, arrival, files)
    _emit(out, f"master/hcps_{tag}.csv", "master",
          ["hcp_id", "crm_customer_id", "name", "department", "title", "grade"],
          [[h.hcp_id, h.crm_id, h.name, h.department, h.title, h.grade] for h in world.hcps], arrival, files)
    _emit(out, f"master/products_{tag}.csv", "master",
          ["product_id", "generic_name", "brand_name", "spec", "dosage_form", "pack_size", "case_size",
           "list_price", "is_own", "product_line"],
          [[p.product_id, p.generic, p.brand, p.spec, p.dosage_form, p.pack_size, p.case_size,
            f"{p.list_price:.2f}", int(p.is_own), p.product_line] for p in world.products],
          arrival, files)
    _emit(out, f"master/distributors_{tag}.csv", "master",
          ["distributor_code", "name", "tier", "province", "city", "flow_required", "aliases",
           "region_id"],
          [[d.code, d.name, d.tier, d.province, d.city, int(d.flow_required), "|".join(d.aliases),
            _given_region(d)] for d in world.distributors], arrival, files)
    _emit(out, f"master/territories_{tag}.csv", "master", ["territory_id", "parent_id", "level", "name"],
          [[t.territory_id, t.parent_id, t.level, t.name] for t in world.territories], arrival, files)
    _emit(out, f"master/customer_alignment_{tag}.csv", "master",
          ["crm_customer_id", "territory_id", "product_line", "valid_from", "valid_to"],
          [[c, t, pl, _ds(a), _ds(b)] for c, t, pl, a, b in world.alignment], arrival, files)
    _emit(out, f"master/rep_assignments_{tag}.csv", "master",
          ["rep_id", "rep_name", "territory_id", "valid_from", "valid_to"],
          [[r, n, t, _ds(a), _ds(b)] for r, n, t, a, b in world.reps], arrival, files)


def write_sellin(out: Path, econ: Economy, files: list[FileRecord]) -> None:
    by_month: dict[tuple[int, int], list] = defaultdict(list)
    for inv, ln, day, code, pid, q, amt in econ.sellin:
        by_month[(day.year, day.month)].append([inv, ln, day.isoformat(), code, pid, q, f"{amt:.2f}"])
    header = ["invoice_no", "line_no", "ship_date", "distributor_code", "product_id", "quantity_boxes", "amount"]
    for (y, m), rows in sorted(by_month.items()):
        arrival = datetime.combine(month_end(date(y, m, 1)) + timedelta(days=1), time(3, 0))
        _emit(out, f"sellin/sellin_{y}{m:02d}.csv", "sellin", header, rows, arrival, files)


def write_activities(out: Path, world: World, econ: Economy, files: list[FileRecord]) -> None:
    header = ["activity_id", "activity_type", "crm_customer_id", "product_id", "start_date", "end_date",
              "cost", "territory_id"]
    by_year: dict[int, list] = defaultdict(list)
    for a in econ.activities:
        c = world.customers[a.cust]
        terr = alignment_on(world, a.start).get(c.crm_id, "")
        by_year[a.start.year].append([a.activity_id, a.activity_type, c.crm_id,
                                      world.products[a.prod].product_id, a.start.isoformat(),
                                      a.end.isoformat(), f"{a.cost:.2f}", terr])
    last = month_end(econ.months[-1])
    for year, rows in sorted(by_year.items()):
        stamp = min(date(year, 12, 31), last) + timedelta(days=1)
        _emit(out, f"activities/activities_{year}.csv", "activities", header, rows,
              datetime.combine(stamp, time(5, 0)), files)


def write_targets(out: Path, world: World, econ: Economy, seed: int, files: list[FileRecord]) -> None:
    """Monthly targets per lowest-level territory and own product: last year's run-rate plus growth."""
    rng = py_rng(seed, "targets")
    c = econ.cells
    term = c.kind == KIND_CUSTOMER
    actual: dict[tuple[int, str, int], float] = defaultdict(float)
    align = [alignment_on(world, m.replace(day=15)) for m in econ.months]
    for mi, bi, pi, q in zip(c.month[term], c.buyer[term], c.prod[term], c.qty[term]):
        t = align[mi].get(world.customers[bi].crm_id)
        if t:
            actual[(int(mi), t, int(pi))] += float(q)
    terrs = [t.territory_id for t in world.territories if t.level == "territory"]
    own = [i for i, p in enumerate(world.products) if p.is_own]
    header = ["month", "territory_id", "product_id", "target_amount", "target_boxes"]
    by_year: dict[int, list] = defaultdict(list)
    for t in terrs:
        for pi in own:
            level = np.mean([actual.get((mi, t, pi), 0.0) for mi in range(len(econ.months))])
            stretch = rng.uniform(0.95, 1.25)
            for m in econ.months:
                boxes = max(10.0, round(level * stretch * (0.9 + 0.2 * rng.random()), -1))
                price = world.products[pi].list_price * 0.93
                by_year[m.year].append([f"{m:%Y-%m}", t, world.products[pi].product_id,
                                        f"{round(boxes * price, -2):.2f}", f"{boxes:.0f}"])
    for year, rows in sorted(by_year.items()):
        _emit(out, f"targets/targets_{year}.csv", "targets", header, rows,
              datetime(year - 1, 12, 20, 10, 0), files)
