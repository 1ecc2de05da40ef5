"""Benchmark `sfe build` (matching + dbt) on a generated inbox; results in bench/results/build.md.

    uv run --frozen python bench/bench_build.py                      # demo scale
    uv run --frozen python bench/bench_build.py --rows 10000000      # 10 M flow rows

Steps, all in this process: generate (unless the inbox exists), ingest, then the floor — DuckDB
copying `raw.flow__lines` into a table and aggregating it by distributor, product and month, the
least any warehouse build must do with every flow row — then a full `build`, then a second
`build` with nothing new (the incremental path). Peak memory is this process's max RSS.

    uv run --frozen python bench/bench_build.py --new-month --months 13 --customers 300
    uv run --frozen python bench/bench_build.py --new-month --months 37 --customers 300

`--new-month`: the inbox without its last month is ingested and built, then the last month's
files arrive: ingest and `build` of that one month (incremental: its KPI months only) against
a `--force` full build of the same warehouse. Run with 13 and 37 months (12 and 36 of history)
to see whether a month's cost depends on the history kept.

    uv run --frozen python bench/bench_build.py --gates-scale 66 --warehouse W.duckdb

    uv run --frozen python bench/bench_build.py --compare A.duckdb B.duckdb

`--compare`: every table of `marts` row for row in two warehouses (doubles within 1e-9
relative: sums in another order differ in the last bits, which a checksum rounded to 6
decimals can still split), for incremental == full checks.

`--gates-scale N`: a copy of a built warehouse W with its flow N times over (raw.flow__lines
and marts.fct_sell_out repeated with new file and line ids, the same months), then every
SQL and bounds gate of quality/gates.yml on it, each timed, against the floor on the same
copy: whether the gates that scan whole fact tables stay cheap at 10 M rows.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import shutil
import time
from datetime import datetime, UTC
from pathlib import Path

import duckdb

from generator import generate
from ingestion.pipeline import ingest_inbox
from orchestration.build import build_step as build  # matching, then dbt
from quality.gates import run_checks
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


def last_month_files(inbox: Path) -> list[Path]:
    """The inbox files of its last month (any naming: 202610, 2026-10, 20261031), not masters."""
    months = sorted(m.group(1) for p in (inbox / "calls").iterdir()
                    if (m := re.search(r"(\d{4}-\d{2})", p.name)))
    year, month = months[-1][:4], months[-1][5:7]
    pattern = re.compile(rf"{year}-?{month}(\d\d)?(?!\d)|{year}{month}01_{year}{month}\d\d")
    return [p for p in inbox.rglob("*") if p.is_file()
            and p.relative_to(inbox).parts[0] not in ("master", "_truth", "targets")
            and pattern.search(p.name)]


def floor(settings, warehouse: Path | None = None) -> tuple[int, float]:
    """Rows of raw flow and the seconds of the floor query over them (same process)."""
    with duckdb.connect(str(warehouse or settings.working_db)) as con:
        rows = con.execute("select count(*) from raw.flow__lines").fetchone()[0]
        _, floor_s = timed(lambda: con.execute(FLOOR_SQL))
        con.execute("drop table bench_floor")
    return rows, floor_s


def new_month(args: argparse.Namespace, settings, inbox: Path) -> list[str]:
    """History built, then one new month: ingest + incremental build vs a full build."""
    held = args.workdir / "held"
    if not held.exists():
        for path in last_month_files(inbox):
            target = held / path.relative_to(inbox)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    _, history_ingest_s = timed(lambda: ingest_inbox(settings, inbox))
    history, history_s = timed(lambda: build(settings))
    for path in [p for p in held.rglob("*") if p.is_file()]:
        target = inbox / path.relative_to(held)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    _, ingest_s = timed(lambda: ingest_inbox(settings, inbox))
    rows, floor_s = floor(settings)
    month, month_s = timed(lambda: build(settings))
    full, full_s = timed(lambda: build(settings, force=True))
    load = os.getloadavg()
    return [
        f"\n## new month on {args.months - 1} months of history, customers={args.customers} "
        f"— {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, 2 cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n",
        "| step | seconds | ratio to floor |", "|---|---:|---:|",
        f"| history: ingest / build (exit {history.exit_code}) | {history_ingest_s:.1f} / "
        f"{history_s:.1f} | |",
        f"| floor: DuckDB copy + monthly aggregate of raw flow ({rows:,} rows) | {floor_s:.2f} "
        "| 1 |",
        f"| new month: ingest | {ingest_s:.1f} | {ingest_s / floor_s:.0f} |",
        f"| new month: build (KPI months {', '.join(month.kpi_changed_months or ['all'])}; "
        f"exit {month.exit_code}) | {month_s:.1f} | {month_s / floor_s:.0f} |",
        f"| full build of the same warehouse (`--force`, exit {full.exit_code}) | {full_s:.1f} "
        f"| {full_s / floor_s:.0f} |",
        f"\nNew month's build / full build: {month_s / full_s:.2f}. "
        f"Peak memory (max RSS of the process): {peak_mb():.0f} MB.\n",
    ]


SCALE_SQL = """
create or replace table raw.flow__lines as
select * replace (file_id + copy.n * 1000000000 as file_id)
from raw.flow__lines cross join range({n}) as copy(n);
create or replace table marts.fct_sell_out as
select * replace (sell_out_line_id || '-x' || copy.n as sell_out_line_id)
from marts.fct_sell_out cross join range({n}) as copy(n)
"""


def gates_at_scale(args: argparse.Namespace) -> list[str]:
    """`sfe check`'s SQL and bounds gates on a warehouse whose flow is repeated
    `gates_scale` times (per-gate seconds as check records them)."""
    settings = load_settings(env={}, data_dir=args.workdir / "gates")
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    settings.ensure_dirs()
    shutil.copy(args.warehouse, settings.working_db)
    with duckdb.connect(str(settings.working_db)) as con:
        con.execute(SCALE_SQL.format(n=args.gates_scale))
        fact_rows = con.execute("select count(*) from marts.fct_sell_out").fetchone()[0]
    rows, floor_s = floor(settings)
    report, total_s = timed(lambda: run_checks(settings, select=["sql", "bounds"]))
    shutil.rmtree(settings.data_dir)
    load = os.getloadavg()
    lines = [
        f"\n## gates at {rows:,} raw flow rows ({fact_rows:,} in fct_sell_out; "
        f"{args.warehouse.name} x {args.gates_scale}) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, 2 cores, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}\n",
        "| step | seconds | ratio to floor |", "|---|---:|---:|",
        f"| floor: DuckDB copy + monthly aggregate of raw flow | {floor_s:.2f} | 1 |",
        f"| `sfe check` of every SQL and bounds gate ({len(report.results)}, with the snapshot "
        f"copy) | {total_s:.1f} | {total_s / floor_s:.1f} |",
    ]
    for result in sorted(report.results, key=lambda r: -r.seconds):
        lines.append(f"| gate {result.name} ({result.status}) | {result.seconds:.2f} | "
                     f"{result.seconds / floor_s:.1f} |")
    lines.append(f"\nPeak memory (max RSS of the process): {peak_mb():.0f} MB.\n")
    return lines


def _mart_rows(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        return {t: con.execute(f'select * from marts."{t}" order by all').fetchall()
                for t in tables}


def _same_row(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        if isinstance(x, float) and isinstance(y, float) else x == y for x, y in zip(a, b))


def compare(a: Path, b: Path) -> list[str]:
    """One line per mart table: rows in each, identical (floats within 1e-9) or not."""
    left, right = _mart_rows(a), _mart_rows(b)
    lines = []
    for table in sorted(left.keys() | right.keys()):
        x, y = left.get(table, []), right.get(table, [])
        same = len(x) == len(y) and all(_same_row(r, s) for r, s in zip(x, y))
        exact = x == y
        lines.append(f"{table:40s} {len(x):>9,} {len(y):>9,} "
                     f"{'identical' if exact else 'equal within 1e-9' if same else 'DIFFERENT'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--months", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=RESULTS / "tmp" / "build")
    parser.add_argument("--new-month", action="store_true",
                        help="build the history, then one new month (incremental vs full)")
    parser.add_argument("--gates-scale", type=int, default=None,
                        help="time the SQL gates on --warehouse with its flow N times over")
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--compare", type=Path, nargs=2, default=None)
    args = parser.parse_args()
    if args.compare:
        print("\n".join(compare(*args.compare)))
        return
    if args.gates_scale:
        write(gates_at_scale(args))
        return
    inbox, data = args.workdir / "inbox", args.workdir / "data"
    settings = load_settings(env={}, data_dir=data)
    if not inbox.exists():
        generate(inbox, seed=1, customers=args.customers, months=args.months, rows=args.rows)
    if args.new_month:
        write(new_month(args, settings, inbox))
        return
    _, ingest_s = timed(lambda: ingest_inbox(settings, inbox))
    rows, floor_s = floor(settings)
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
    write(lines)


def write(lines: list[str]) -> None:
    path = RESULTS / "build.md"
    if not path.exists():
        path.write_text("# `sfe build` benchmark\n\nWritten by `bench/bench_build.py`.\n",
                        encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
