"""Benchmark `sfe generate`: wall seconds and peak memory per scale, written to
bench/results/generate.md.

    uv run --frozen python bench/bench_generate.py                 # demo, default and 10M rows
    uv run --frozen python bench/bench_generate.py --only rows --rows 1000000

Each scale runs in its own child process so its peak RSS (os.wait4 rusage) is its own.
Output goes to bench/results/tmp/ (git-ignored) and is deleted afterwards unless --keep.
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp"

CHILD = """
import json, sys
from pathlib import Path
from generator import generate
kw = json.loads(sys.argv[1])
r = generate(Path(kw.pop("out")), **kw)
print(json.dumps(r.to_dict(), ensure_ascii=False))
"""


def run_case(name: str, kwargs: dict) -> dict:
    out = TMP / name
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps({"out": str(out), **kwargs})],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"benchmark case {name} failed (status {status})")
    report = json.loads(stdout.strip().splitlines()[-1])
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    return {"case": name, "args": kwargs, "flow_rows": report["flow_rows"],
            "flow_files": report["files_per_source"]["flow"], "seconds": round(seconds, 1),
            "generate_seconds": report["seconds"], "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1), "output_mb": round(size_mb, 1)}


def write_markdown(results: list[dict], path: Path) -> None:
    lines = ["# `sfe generate` benchmark", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()} (machine shared with other jobs; "
             "wall time includes waiting for CPU, cpu s does not).", "",
             "| case | args | flow rows | flow files | wall s | cpu s | peak RSS MB | output MB |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        args = " ".join(f"{k}={v}" for k, v in r["args"].items())
        lines.append(f"| {r['case']} | {args} | {r['flow_rows']:,} | {r['flow_files']} | {r['seconds']} | "
                     f"{r['cpu_seconds']} | {r['peak_rss_mb']} | {r['output_mb']} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--only", choices=["demo", "default", "rows"], nargs="*", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    parser.add_argument("--out", type=Path, default=RESULTS / "generate.md")
    args = parser.parse_args(argv)
    cases = {"demo": {"customers": 600, "months": 15}, "default": {"customers": 2000, "months": 24},
             "rows": {"customers": 2000, "months": 24, "rows": args.rows}}
    results = []
    for name in args.only or list(cases):
        print(f"running {name} {cases[name]} ...", file=sys.stderr, flush=True)
        res = run_case(name, cases[name])
        print(json.dumps(res), file=sys.stderr, flush=True)
        results.append(res)
        if not args.keep:
            shutil.rmtree(TMP / name, ignore_errors=True)
    write_markdown(results, args.out)
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
