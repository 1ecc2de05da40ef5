"""Benchmark `sfe ingest` on a large flow inbox against DuckDB's own read_csv (the floor).

    uv run --frozen python bench/bench_ingest.py --rows 2000000
    uv run --frozen python bench/bench_ingest.py --rows 10000000 --files 200

Writes a flow inbox of messy distributor CSVs (title rows above the header, a 合计 total row,
Chinese headers, mixed date styles, thousands separators, 盒/支/件 units, returns), half of the
files in GB18030 and half in UTF-8 with BOM, then in ONE child process:

1. `ingest_inbox` into a fresh warehouse (timed; peak RSS taken right after it);
2. the floor: DuckDB `read_csv` of the same files (skipping the title rows, header on, types
   sniffed), each file into a table (one multi-file read_csv over all of them was 100x slower
   in DuckDB 2.0 here, sniffing every file), with the GB18030 files handed to DuckDB as UTF-8 copies made
   beforehand (DuckDB has no GB18030 decoder without an extension; the copies are not timed).

Results go to bench/results/ingest.md (appended as a new section); scratch files under
bench/results/tmp/ (git-ignored) are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, UTC
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp" / "ingest"
HEADER = ["销售日期", "客户编码", "客户名称", "产品名称", "规格", "生产批号", "有效期至", "数量", "单位",
          "单价", "金额", "单据类型"]
TITLE = ["某某医药有限公司 华康制药产品销售流向", "制表日期：2026年11月2日"]
PRODUCTS = [("阿托伐他汀钙片", "20mg*14片", 52.8), ("瑞舒伐他汀钙片", "10mg*28片", 68.5),
            ("苯磺酸氨氯地平片", "5mg*28片", 33.6), ("缬沙坦胶囊", "80mg*14粒", 29.9),
            ("硫酸氢氯吡格雷片", "75mg*7片", 45.2), ("依折麦布片", "10mg*10片", 86.0)]

CHILD = """
import json, resource, sys, time
from pathlib import Path
import duckdb
sys.path.insert(0, {root!r})
from ingestion.pipeline import ingest_inbox
from sfe.config import load_settings

inbox, data, floor_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
settings = load_settings(env={{}}, data_dir=data)
t = time.perf_counter()
report = ingest_inbox(settings, inbox)
ingest_s = time.perf_counter() - t
peak_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
files = sorted(str(p) for p in floor_dir.glob("*.csv"))
con = duckdb.connect(str(data / "floor.duckdb"))
con.execute("set enable_progress_bar = false")
t = time.perf_counter()
floor_rows = 0
for i, path in enumerate(files):  # one read_csv per file: DuckDB's multi-file read sniffs badly
    con.execute(f"create table floor_{{i}} as select * from read_csv(?, skip=2, header=true)", [path])
    floor_rows += con.execute(f"select count(*) from floor_{{i}}").fetchall()[0][0]
con.close()
floor_s = time.perf_counter() - t
totals = report.totals()
print(json.dumps({{"ingest_seconds": ingest_s, "floor_seconds": floor_s, "floor_rows": floor_rows,
                  "peak_rss_kb_ingest": peak_ingest,
                  "peak_rss_kb_total": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "totals": totals}}))
"""


def _file_frame(rng: np.random.Generator, rows: int, month: int, index: int) -> pl.DataFrame:
    day = rng.integers(1, 29, rows)
    product = rng.integers(0, len(PRODUCTS), rows)
    qty = rng.integers(1, 400, rows)
    returns = rng.random(rows) < 0.02
    price = np.array([p[2] for p in PRODUCTS])[product]
    style = rng.integers(0, 4, rows)
    frame = pl.DataFrame({"day": day, "product": product, "qty": qty, "ret": returns,
                          "price": price, "style": style, "cust": rng.integers(0, 3000, rows)})
    date = pl.format("2026-{}-{}", pl.lit(f"{month:02d}"), pl.col("day").cast(pl.String).str.zfill(2))
    date = (pl.when(pl.col("style") == 0).then(date)
            .when(pl.col("style") == 1).then(pl.format("2026/{}/{}", pl.lit(month), pl.col("day")))
            .when(pl.col("style") == 2).then(date.str.replace_all("-", ""))
            .otherwise(pl.format("2026年{}月{}日", pl.lit(month), pl.col("day"))))
    cents = (pl.col("qty") * pl.col("price") * 100).round(0).cast(pl.Int64)
    rest = (cents % 100_000).cast(pl.String).str.zfill(5)
    plain = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    names = pl.Series([p[0] for p in PRODUCTS])
    specs = pl.Series([p[1] for p in PRODUCTS])
    return frame.select(
        date.alias("销售日期"), pl.format("K{}", pl.col("cust")).alias("客户编码"),
        pl.format("客户医院{}", pl.col("cust")).alias("客户名称"),
        pl.col("product").map_batches(lambda s: names.gather(s), return_dtype=pl.String).alias("产品名称"),
        pl.col("product").map_batches(lambda s: specs.gather(s), return_dtype=pl.String).alias("规格"),
        pl.format("B{}{}", pl.lit(index), pl.col("day")).alias("生产批号"),
        pl.lit("2028-06-30").alias("有效期至"),
        pl.col("qty").cast(pl.String).alias("数量"),
        pl.when(pl.col("style") == 3).then(pl.lit("支")).otherwise(pl.lit("盒")).alias("单位"),
        pl.col("price").cast(pl.String).alias("单价"),
        pl.when(cents >= 100_000).then(
            pl.format("{},{}.{}", cents // 100_000, rest.str.slice(0, 3), rest.str.slice(3, 2))
        ).otherwise(plain).alias("金额"),
        pl.when(pl.col("ret")).then(pl.lit("销售退回")).otherwise(pl.lit("销售")).alias("单据类型"))


def write_inbox(rows: int, files: int, inbox: Path, floor_dir: Path, seed: int = 7) -> int:
    """Flow CSVs of about `rows` rows in `files` files; returns the rows written."""
    rng = np.random.default_rng(seed)
    per_file = max(1, rows // files)
    written = 0
    for i in range(files):
        distributor, month = f"D{i // 6:03d}", i % 6 + 5
        frame = _file_frame(rng, per_file, month, i)
        body = frame.write_csv(quote_style="necessary")
        text = "\n".join(TITLE) + "\n" + body + f"合计,,,,,,,{frame.height},,,,\n"
        out = inbox / "flow" / distributor / f"流向_2026{month:02d}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(text.encode("gb18030") if i % 2 else b"\xef\xbb\xbf" + text.encode())
        (floor_dir / f"{i:05d}.csv").write_text(text.rsplit("合计", 1)[0], encoding="utf-8")
        written += frame.height
    return written


def run(rows: int, files: int, keep: bool) -> dict:
    if TMP.exists():
        shutil.rmtree(TMP)
    inbox, data, floor_dir = TMP / "inbox", TMP / "data", TMP / "floor"
    floor_dir.mkdir(parents=True)
    t = time.perf_counter()
    written = write_inbox(rows, files, inbox, floor_dir)
    write_s = time.perf_counter() - t
    size_mb = sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 1e6
    child = CHILD.format(root=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", child, str(inbox), str(data), str(floor_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"benchmark child failed (status {status})")
    result = json.loads(stdout.strip().splitlines()[-1])
    if not keep:
        shutil.rmtree(TMP)
    totals = result["totals"]
    return {"rows": written, "files": files, "inbox_mb": round(size_mb, 1),
            "write_seconds": round(write_s, 1),
            "ingest_seconds": round(result["ingest_seconds"], 1),
            "floor_seconds": round(result["floor_seconds"], 1),
            "ratio": round(result["ingest_seconds"] / result["floor_seconds"], 2),
            "rows_loaded": totals["rows_loaded"], "rows_quarantined": totals["rows_quarantined"],
            "floor_rows": result["floor_rows"],
            "peak_rss_mb_ingest": round(result["peak_rss_kb_ingest"] / 1024, 1),
            "peak_rss_mb_process": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "rows_per_second": round(written / result["ingest_seconds"])}


def write_markdown(r: dict, path: Path, note: str) -> None:
    load = os.getloadavg()[0]
    section = [
        f"## {r['rows']:,} rows in {r['files']} files ({r['inbox_mb']} MB), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f} at the "
        "end (shared with other work). " + note,
        "",
        "| measure | value |", "|---|---|",
        f"| rows written | {r['rows']:,} |",
        f"| rows loaded / quarantined | {r['rows_loaded']:,} / {r['rows_quarantined']:,} |",
        f"| `sfe ingest` seconds | {r['ingest_seconds']} |",
        f"| DuckDB read_csv floor seconds ({r['floor_rows']:,} rows) | {r['floor_seconds']} |",
        f"| ratio ingest / floor (target ≤ 2) | **{r['ratio']}** |",
        f"| ingest rows per second | {r['rows_per_second']:,} |",
        f"| peak RSS after ingest (target ≤ 4096 MB) | {r['peak_rss_mb_ingest']} MB |",
        f"| peak RSS of the whole process | {r['peak_rss_mb_process']} MB |",
        f"| CPU seconds (ingest + floor) | {r['cpu_seconds']} |",
        "",
    ]
    header = ["# `sfe ingest` benchmark", "",
              "Produced by `bench/bench_ingest.py` (see its docstring for what is measured). "
              "Newest section last.", ""]
    old = path.read_text(encoding="utf-8").splitlines() if path.exists() else header
    path.write_text("\n".join([*old, *section]) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=0, help="default: one per 50,000 rows")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--note", default="")
    parser.add_argument("--no-write", action="store_true", help="print, do not update ingest.md")
    args = parser.parse_args()
    files = args.files or max(2, args.rows // 50_000)
    result = run(args.rows, files, args.keep)
    print(json.dumps(result, ensure_ascii=False))
    if not args.no_write:
        write_markdown(result, RESULTS / "ingest.md", args.note)


if __name__ == "__main__":
    main()
