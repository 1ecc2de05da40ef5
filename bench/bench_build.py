"""Benchmark `sfe build` (matching + dbt) on a generated inbox; results in bench/results/build.md.

    uv run --frozen python bench/bench_build.py                      # demo scale
    uv run --frozen python bench/bench_build.py --rows 10000000      # 10 M flow rows

Steps, all in this process: generate (unless the inbox exists), ingest, then the floor — DuckDB
copying `raw.flow__lines` into a table and aggregating it by distributor, product and month, the
least any warehouse build must do with every flow row — then a full `build`, then a second
`build` with nothing new (the incremental path). Peak memory is this process's max RSS.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from datetime import datetime, UTC
from pathlib import Path

import duckdb

from generator import generate
from ingestion.pipeline import ingest_inbox
from orchestration.build import build_step as build  # matching, then dbt
from sfe.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

FLOOR_SQL = """
create or replace table bench_floor as
select distributor_code, product_name, date_trunc('month', sale_date) as month,
       sum(quantity) as quantity, count(*) as lines
from raw.flow__lines group by all
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(func) -> tuple[object, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--months", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=RESULTS / "tmp" / "build")
    args = parser.parse_args()
    inbox, data = args.workdir / "inbox", args.workdir / "data"
    settings = load_settings(env={}, data_dir=data)
    if not inbox.exists():
        generate(inbox, seed=1, customers=args.customers, months=args.months, rows=args.rows)
    _, ingest_s = timed(lambda: ingest_inbox(settings, inbox))
    with duckdb.connect(str(settings.working_db)) as con:
        rows = con.execute("select count(*) from raw.flow__lines").fetchone()[0]
        _, floor_s = timed(lambda: con.execute(FLOOR_SQL))
        con.execute("drop table bench_floor")
    full, full_s = timed(lambda: build(settings))
    again, again_s = timed(lambda: build(settings))
    forced, forced_s = timed(lambda: build(settings, force=True))
    models = sum(full.to_dict().get("models", {}).values())
    case = f"rows={args.rows}" if args.rows else f"customers={args.customers} months={args.months}"
    lines = [
        f"\n## {case} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"2 cores\n",
        "| step | seconds | ratio to floor |", "|---|---:|---:|",
        f"| ingest ({rows:,} flow rows loaded) | {ingest_s:.1f} | |",
        f"| floor: DuckDB copy + monthly aggregate of raw flow | {floor_s:.2f} | 1 |",
        f"| full build (matching + dbt, {models} models, exit "
        f"{full.exit_code}) | {full_s:.1f} | {full_s / floor_s:.0f} |",
        f"| second build, nothing new ({'up to date: dbt skipped' if again.up_to_date else 'dbt ran'}"
        f", exit {again.exit_code}) | {again_s:.1f} | {again_s / floor_s:.0f} |",
        f"| third build, nothing new, `--force` (dbt incremental, exit {forced.exit_code}) | "
        f"{forced_s:.1f} | {forced_s / floor_s:.0f} |",
        f"\nPeak memory (max RSS of the process): {peak_mb():.0f} MB.\n",
    ]
    path = RESULTS / "build.md"
    if not path.exists():
        path.write_text("# `sfe build` benchmark\n\nWritten by `bench/bench_build.py`.\n",
                        encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
