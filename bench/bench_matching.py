"""Benchmark and quality report for customer matching (issue 5).

    uv run --frozen python bench/bench_matching.py                 # throughput, 60,000 names
    uv run --frozen python bench/bench_matching.py --names 100000
    uv run --frozen python bench/bench_matching.py --quality       # + precision/recall, seeds 1, 2
    uv run --frozen python bench/bench_matching.py --quality --write bench/results/matching.md

Throughput: a customer master from the generator's world (3,000 customers by default) and N
distinct raw buyer names made with the generator's own naming noise (aliases, department
suffixes, place prefixes, typos, full-width, stray spaces), spread over the distributors of each
customer's province, loaded as `raw.flow__lines`; then one `run_matching` (read, normalise, block,
score, sticky/steward, write the tables). Target: ≥ 50,000 distinct raw names per minute on the
2-core machine. Wall time depends on what else runs on the machine, so CPU time is shown too.

Quality: `sfe generate` at its defaults (2,000 customers, 24 months) → `ingest_inbox` →
`run_matching`, scored against `_truth/` with `matching.evaluate` (about 4 min per seed, mostly
ingestion); plus the real hospital alias set of tests/data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.economy import month_starts  # noqa: E402
from generator.variants import customer_variants, full_width, stray_spaces, typo  # noqa: E402
from generator.world import build_world  # noqa: E402
from matching.evaluate import evaluate_products, evaluate_warehouse  # noqa: E402
from matching.pipeline import run_matching  # noqa: E402
from sfe.config import Settings, load_settings  # noqa: E402
from sfe.warehouse import connect  # noqa: E402

TARGET_PER_MINUTE = 50_000


def synthetic_names(n_names: int, n_customers: int, seed: int) -> tuple[object, list[tuple[str, str, str]]]:
    """(world, [(distributor_code, buyer_code, raw_name)]) with n_names distinct (distributor, name)."""
    world = build_world(seed, n_customers, month_starts(3), "华康制药")
    rng = random.Random(seed)
    by_province: dict[str, list[str]] = {}
    for d in world.distributors:
        by_province.setdefault(d.province, []).append(d.code)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str]] = []
    attempts = 0
    while len(out) < n_names and attempts < n_names * 20:
        attempts += 1
        c = world.customers[rng.randrange(len(world.customers))]
        name = rng.choice(customer_variants(c, 0.8, rng))
        if rng.random() < 0.5:  # more of the generator's own noise, so names stay distinct
            name = rng.choice([full_width, lambda t: stray_spaces(t, rng), lambda t: typo(t, rng)])(name)
        key = (rng.choice(by_province[c.province]), name.strip())
        if key[1] and key not in seen:
            seen.add(key)
            out.append((key[0], "", key[1]))
    return world, out


def load_synthetic(settings: Settings, world, names: list[tuple[str, str, str]]) -> None:
    snap = date(2026, 10, 31)
    cust = pl.DataFrame([(snap, 1, i + 2, None, c.crm_id, c.name, c.ctype, c.level, c.province, c.city,
                          c.district, c.address, c.beds, c.potential) for i, c in enumerate(world.customers)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "crm_customer_id", "name",
                                "customer_type", "level", "province", "city", "district", "address",
                                "beds", "potential"], orient="row")
    dist = pl.DataFrame([(snap, 2, i + 2, None, d.code, d.name, d.tier, d.province, d.city,
                          d.flow_required, "|".join(d.aliases)) for i, d in enumerate(world.distributors)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "distributor_code", "name",
                                "tier", "province", "city", "flow_required", "aliases"], orient="row")
    prod = pl.DataFrame([(snap, 3, i + 2, None, p.product_id, p.generic, p.brand, p.spec, p.dosage_form,
                          p.pack_size, p.case_size, p.list_price, p.is_own) for i, p in enumerate(world.products)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "product_id", "generic_name",
                                "brand_name", "spec", "dosage_form", "pack_size", "case_size", "list_price",
                                "is_own"], orient="row")
    flow = pl.DataFrame([(4, i + 2, None, d, snap, None, name, None, "阿托伐他汀钙片", "20mg*14片", None, 1.0,
                          "box") for i, (d, _, name) in enumerate(names)],
                        schema=["file_id", "source_row", "sheet", "distributor_code", "sale_date", "buyer_code",
                                "buyer_name", "buyer_address", "product_name", "spec", "manufacturer",
                                "quantity", "unit"], orient="row")
    with connect(settings) as con:
        for table, frame in {"master__customers": cust, "master__distributors": dist,
                             "master__products": prod, "flow__lines": flow}.items():
            con.register("_frame", frame.to_arrow())
            con.execute(f"create or replace table raw.{table} as select * from _frame")
            con.unregister("_frame")


def throughput(n_names: int, n_customers: int, seed: int) -> dict[str, object]:
    world, names = synthetic_names(n_names, n_customers, seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, data_dir=Path(tmp))
        load_synthetic(settings, world, names)
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        report = run_matching(settings)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    distinct_strings = len({n for _, _, n in names})
    return {"names": len(names), "distinct_strings": distinct_strings, "customers": len(world.customers),
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "per_minute_wall": int(len(names) / wall * 60), "per_minute_cpu": int(len(names) / cpu * 60),
            "status": report.customer_status,
            "load_avg": round(max(load_before, os.getloadavg()[0]), 1), "cores": os.cpu_count()}


def quality(seed: int, customers: int = 2000, months: int = 24) -> dict[str, object]:
    from generator.core import generate
    from ingestion.pipeline import ingest_inbox

    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        generate(inbox, seed=seed, customers=customers, months=months)
        settings = load_settings(env={}, data_dir=Path(tmp) / "data")
        ingest_inbox(settings, inbox)
        sweep = threshold_sweep(settings, inbox / "_truth" / "customer_truth.csv")
        report = run_matching(settings)
        cq = evaluate_warehouse(settings.working_db, inbox / "_truth" / "customer_truth.csv")
        pq = evaluate_products(settings.working_db, inbox / "_truth" / "product_truth.csv")
    return {"seed": seed, "customers": cq.to_dict(), "products": pq.to_dict(),
            "review_queue": report.review_queue_size, "seconds": round(report.seconds, 1),
            "sweep": sweep}


SWEEP = (0.80, 0.85, 0.90, 0.95, 0.99)


def threshold_sweep(settings: Settings, truth: Path) -> list[dict[str, object]]:
    """Precision/recall at several auto thresholds, each from a clean slate (no sticky codes)."""
    out = []
    for auto in SWEEP:
        tuned = replace(settings, thresholds=replace(settings.thresholds, match_auto_score=auto))
        with connect(tuned) as con:
            con.execute("drop table if exists matching.sticky_keys")
        (tuned.stewardship_dir / "sticky_keys.csv").unlink(missing_ok=True)
        run_matching(tuned)
        q = evaluate_warehouse(tuned.working_db, truth)
        out.append({"auto": auto, "precision": q.precision, "recall": q.recall, "review": q.review})
    with connect(settings) as con:
        con.execute("drop table if exists matching.sticky_keys")
    (settings.stewardship_dir / "sticky_keys.csv").unlink(missing_ok=True)
    return out


def real_aliases() -> dict[str, dict[str, float]]:
    from tests.matching.test_real_aliases import _measure

    return {"with alias table": _measure(True), "rules only": _measure(False)}


def render(tp: dict[str, object], seeds: list[dict[str, object]], real: dict[str, dict]) -> str:
    lines = ["# Matching benchmark", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
             "`uv run --frozen python bench/bench_matching.py --quality`.", "",
             "## Throughput (target ≥ 50,000 distinct raw names per minute, 2 cores)", "",
             "| names | distinct strings | master customers | wall s | CPU s | names/min (wall) | names/min (CPU) |",
             "|---|---|---|---|---|---|---|",
             f"| {tp['names']:,} | {tp['distinct_strings']:,} | {tp['customers']:,} | {tp['wall_s']} | "
             f"{tp['cpu_s']} | {tp['per_minute_wall']:,} | {tp['per_minute_cpu']:,} |", "",
             f"Outcome mix: {tp['status']}. Load average while measuring: {tp['load_avg']} on "
             f"{tp['cores']} cores (other engineers' jobs share the machine): wall time is what this "
             "run got, CPU time is what matching costs.", ""]
    if seeds:
        lines += ["## Precision / recall on generated data (`sfe generate` defaults: 2,000 customers, "
                  "24 months; generate → ingest → match, default thresholds)", "",
                  "| seed | raw names | matchable | ambiguous | auto | precision | recall | strict recall | "
                  "ambiguous auto-matched | review queue | unmatched | buyer-kind errors | "
                  "products precision | products recall | products in review |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in seeds:
            c, p = s["customers"], s["products"]
            lines.append(f"| {s['seed']}{' (tuned)' if s['seed'] == 1 else ' (unseen)'} | {c['rows']} | "
                         f"{c['matchable']} | {c['ambiguous']} | {c['auto']} | {c['precision']:.4f} | "
                         f"{c['recall']:.4f} | {c['strict_recall']:.4f} | {c['ambiguous_auto']} | "
                         f"{c['review']} | {c['unmatched']} | {c['buyer_kind_errors']} | "
                         f"{p['precision']:.4f} | {p['recall']:.4f} | {p['review']} |")
        lines.append("")
        lines += ["Auto threshold sweep (`match_auto_score`; margin 0.05 and `match_review_score` "
                  "0.60 fixed), precision / recall / review queue:", "",
                  "| seed | " + " | ".join(f"{a:.2f}" for a in SWEEP) + " |",
                  "|---|" + "---|" * len(SWEEP)]
        for s in seeds:
            cells = [f"{r['precision']:.3f} / {r['recall']:.3f} / {r['review']}" for r in s["sweep"]]
            lines.append(f"| {s['seed']} | " + " | ".join(cells) + " |")
        lines.append("")
    if real:
        lines += ["## Real hospital aliases (tests/data/real_hospital_aliases.csv)", "",
                  "| run | names | auto | correct | review | precision | recall |", "|---|---|---|---|---|---|---|"]
        for name, r in real.items():
            lines.append(f"| {name} | {r['names']} | {r['auto']} | {r['correct']} | {r['review']} | "
                         f"{r['precision']:.4f} | {r['recall']:.4f} |")
        lines.append("")
    lines += NOTES
    return "\n".join(lines)


NOTES = [
    "## Reading these figures", "",
    "- *Matchable* = the truth names exactly one CRM customer for the raw name and no other "
    "customer the seller reaches could be written that way (`ambiguous_with` in "
    "`_truth/customer_truth.csv`, decided by the generator from its own naming rules: "
    "generator/ambiguity.py). *Recall* = correct auto matches of matchable names ÷ matchable "
    "names (the issue's \"truly matchable\"); *strict recall* also counts the ambiguous names.",
    "- *Ambiguous* names: 市四院 from a province-wide seller, a chain shop name in two cities the "
    "seller serves, a community centre name two districts share (no address sent), and the "
    "generator's twin pharmacies (`XY药店` whose trade alias `XY大药房` reads as `X市Y大药房`). "
    "They go to review; an auto match on one still counts for precision (right only if it is "
    "the true customer).",
    "- What else stays in review among matchable names is twin pharmacies written `X市Y药房` "
    "(the 大药房 twin's alias): the normaliser treats 大药房/药房/药店 as one word, so both "
    "twins tie; a steward's confirm/remap clears each one for good (decisions and sticky codes).",
    "- The real-alias run *with* the table is not a generalisation test (the table holds these "
    "abbreviations); the *rules only* row is: the normaliser and scorer alone auto-match two "
    "thirds of real abbreviations and put none on the wrong hospital.",
    "- Thresholds: 0.80–0.90 give identical results on both seeds (the margin rule and the "
    "geography/ordinal/type conflicts do the precision work); 0.95+ only moves names to review. "
    "The default 0.90 / 0.60 is kept.",
    "",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=60_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quality", action="store_true", help="also precision/recall on seeds 1 and 2")
    parser.add_argument("--write", type=Path, default=None, help="write the markdown report here")
    args = parser.parse_args(argv)
    tp = throughput(args.names, args.customers, args.seed)
    print(tp, flush=True)
    seeds = [quality(s) for s in (1, 2)] if args.quality else []
    for s in seeds:
        print({k: v for k, v in s.items()}, flush=True)
    real = real_aliases() if args.quality else {}
    text = render(tp, seeds, real)
    if args.write:
        args.write.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if tp["per_minute_cpu"] >= TARGET_PER_MINUTE else 1


if __name__ == "__main__":
    sys.exit(main())
