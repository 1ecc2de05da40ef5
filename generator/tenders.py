"""Provincial tender results (招标/集采), one file per province, semi-clean: column names, date
styles and formats vary by province; some provinces list the purchasing hospitals.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from generator import reference as ref
from generator.delivery import FileRecord
from generator.rand import py_rng
from generator.variants import customer_variants
from generator.world import World
from generator.writers import set_arrival, write_text, xlsx_bytes

TenderRow = dict[str, object]


def _bids(world: World, generic: str, spec: str, ceiling: float, volume: bool, rng: random.Random
          ) -> list[tuple[str, str, float]]:
    makers = {p.manufacturer for p in world.products if p.generic == generic and not p.is_own}
    others = rng.sample(ref.COMPETITORS, rng.randint(2, 5))
    bidders = sorted(makers | set(others))
    if any(p.is_own and p.generic == generic for p in world.products) and rng.random() < 0.85:
        bidders.append(world.company)
    lo, hi = (0.15, 0.6) if volume else (0.7, 1.0)
    prices = {b: round(ceiling * rng.uniform(lo, hi), 2) for b in bidders}
    if rng.random() < 0.08:
        return [(b, "流标", prices[b]) for b in bidders]
    winners = set(sorted(bidders, key=lambda b: (prices[b], b))[: (3 if volume else 2)])
    return [(b, "中标" if b in winners else "未中标", prices[b]) for b in bidders]


def _tender_rows(world: World, province: str, months: list[date], rng: random.Random,
                 seed: int) -> list[TenderRow]:
    generics: dict[str, tuple[str, float]] = {}
    for p in world.products:
        if p.generic not in generics or p.is_own:
            generics[p.generic] = (p.spec, p.list_price)
    rows: list[TenderRow] = []
    tenders = [(batch, f"国家组织药品集中采购({batch})", date.fromisoformat(a), date.fromisoformat(r), True)
               for batch, a, r in ref.NATIONAL_BATCHES]
    y = months[0].year
    tenders.append(("", f"{y}年{province}药品集中挂网采购", date(y, 3, 10), date(y, 5, 20), False))
    tenders.append(("", f"{y + 1}年{province}省际联盟带量采购", date(y + 1, 4, 8), date(y + 1, 6, 30), True))
    for batch, name, announce, result, volume in tenders:
        trng = random.Random(f"{seed}:{name}") if batch else rng  # a national batch is the same everywhere
        chosen = trng.sample(sorted(generics), trng.randint(3, 6))
        for g in chosen:
            spec, ceiling = generics[g]
            for bidder, res, price in _bids(world, g, spec, ceiling, volume, trng):
                rows.append({"province": province, "tender_name": name, "batch": batch,
                             "announce_date": announce, "result_date": result, "generic_name": g,
                             "spec": spec, "bidder": bidder, "result": res, "bid_price": price,
                             "is_volume_based": int(volume), "hospital_name": ""})
    return rows


def _with_hospitals(rows: list[TenderRow], world: World, province: str, rng: random.Random,
                    truth: list[tuple]) -> list[TenderRow]:
    hospitals = [c for c in world.customers if c.province == province and c.ctype == "hospital"]
    if not hospitals:
        return rows
    out = []
    for r in rows:
        if not (r["result"] == "中标" and r["is_volume_based"] and not r["batch"]):
            out.append(r)
            continue
        for c in rng.sample(hospitals, min(len(hospitals), rng.randint(1, 3))):
            raw = customer_variants(c, 0.3, rng)[0]
            out.append({**r, "hospital_name": raw})
            truth.append(("tender", province, "", raw, c.crm_id, "terminal", ""))
    return out


def _fmt_date(d: date, style: int) -> str:
    return [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}年{d.month}月{d.day}日"][style]


def write_tenders(out: Path, world: World, months: list[date], seed: int, files: list[FileRecord]
                  ) -> list[tuple]:
    """Write one tender file per province; returns customer-truth rows for hospital names."""
    truth: list[tuple] = []
    folder = out / "tenders"
    folder.mkdir(parents=True, exist_ok=True)
    for k, (province, (pcode, _, pshort, _)) in enumerate(ref.GEO.items()):
        rng = py_rng(seed, f"tender:{province}")
        rows = _tender_rows(world, province, months, rng, seed)
        with_hosp = k % 3 == 1
        if with_hosp:
            rows = _with_hospitals(rows, world, province, rng, truth)
        headers = ref.TENDER_HEADERS[k % len(ref.TENDER_HEADERS)]
        fields = [f for f in headers if f != "hospital_name" or with_hosp]
        style = k % 3
        table = {headers[f]: [_cell(r[f], f, style) for r in rows] for f in fields}
        df = pl.DataFrame(table, schema={headers[f]: pl.Utf8 for f in fields})
        arrival = datetime.combine(min(date(2026, 11, 20), months[-1] + timedelta(days=40)), time(11, k))
        if k % 3 == 2:
            path = folder / f"{pshort}招标结果汇总.xlsx"
            body = [list(df.columns)] + [list(r) for r in df.iter_rows()]
            path.write_bytes(xlsx_bytes([[f"{province}药品招标采购结果公示"], *body]))
        else:
            path = folder / f"tender_{pcode}_{months[-1]:%Y%m}.csv"
            write_text(path, [], df, [], ",", "gbk" if k % 2 else "utf-8-sig", crlf=True, pad=False)
        set_arrival(path, arrival)
        files.append(FileRecord(str(path.relative_to(out)), "tenders", "loaded", df.height, 0,
                                "with hospital names" if with_hosp else "", arrival))
    return truth


def _cell(value: object, field: str, style: int) -> str:
    if isinstance(value, date):
        return _fmt_date(value, style)
    if field == "is_volume_based":
        return ["1", "是", "1"][style] if value else ["0", "否", "0"][style]
    if field == "bid_price":
        return f"{value:.2f}"
    return str(value)
