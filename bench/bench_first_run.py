"""A first `sfe run` on a new data dir, with and without dbt's unit tests: on a code cache that
never saw this code (cold: they run) and on one a small real build just filled (warm: left out,
transform/unit_test_passes.py), with DuckDB's read_csv floor of the same flow files in the same
process. Uses bench_scale.py's dataset (build it first):

    uv run --frozen python bench/bench_scale.py --size 10000000 --months 12
    uv run --frozen python bench/bench_first_run.py --size 10000000

Writes bench/results/first-run-<size>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_scale import FLOOR_SQL, RESULTS  # noqa: E402
from generator import generate  # noqa: E402
from orchestration.pipeline import run_pipeline  # noqa: E402
from sfe.config import Settings, load_settings  # noqa: E402
from sfe.console import Console  # noqa: E402


def _settings(data: Path, inbox: Path, cache: Path) -> Settings:
    settings = load_settings(env={}, data_dir=data, inbox_dir=inbox, cache_dir=cache)
    # the bench's datasets end before today: their last month's flow is "late", not a failure
    return replace(settings, thresholds=replace(settings.thresholds, min_flow_completeness=0.0))


def _run(name: str, data: Path, inbox: Path, cache: Path) -> dict:
    started = time.time()
    report = run_pipeline(_settings(data, inbox, cache), inbox, Console(quiet=True)).to_dict()
    build = next(s["detail"] for s in report["steps"] if s["name"] == "build")
    out = {"name": name, "seconds": round(time.time() - started, 1),
           "gate_status": report["gate_status"],
           "steps": {s["name"]: round(s["seconds"], 1) for s in report["steps"]},
           "tests": build.get("tests"), "unit_tests": build.get("unit_tests")}
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def _floor(files: list[str], work: Path) -> tuple[float, int]:
    started = time.time()
    con = duckdb.connect(str(work / "floor.duckdb"))
    con.execute("set enable_progress_bar = false")
    con.execute(FLOOR_SQL, [files])
    rows = con.execute("select count(*) from floor").fetchone()[0]
    con.close()
    (work / "floor.duckdb").unlink()
    return time.time() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "sfe-bench-data")
    args = parser.parse_args()
    root = args.data / f"scale-{args.size}-{args.months}m-s1"
    if not (root / "messy" / "history").is_dir():
        raise SystemExit(f"no dataset at {root}; run bench/bench_scale.py --size {args.size} "
                         f"--months {args.months} first")
    work = args.data / "first-run-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    installation = work / "installation-cache"
    tiny = work / "tiny-inbox"  # a real build on this code fills the installation's cache
    generate(tiny, seed=3, customers=30, months=2, console=Console(quiet=True))
    warm_up = _run("small build on this code", work / "tiny", tiny, installation)
    inboxes = {name: work / name / "inbox" for name in ("cold", "warm")}
    for inbox in inboxes.values():
        shutil.copytree(root / "messy" / "history", inbox)
    files = sorted(str(p) for p in (root / "floor" / "history").glob("*.csv"))
    for path in [*files, *(p for i in inboxes.values() for p in i.rglob("*") if p.is_file())]:
        with open(path, "rb") as handle:  # both sides from the page cache, as bench_scale
            while handle.read(1 << 24):
                pass
    floor_s, rows = _floor(files, work)
    cold = _run("first run, code new here", work / "cold" / "data", inboxes["cold"],
                work / "cold" / "cache")
    warm = _run("first run, code run here before", work / "warm" / "data", inboxes["warm"],
                installation)
    result = {"size": args.size, "months": args.months, "floor_s": round(floor_s, 1),
              "floor_rows": rows, "warm_up": warm_up, "cold": cold, "warm": warm,
              "cold_ratio": round(cold["seconds"] / floor_s, 2),
              "warm_ratio": round(warm["seconds"] / floor_s, 2),
              "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"}
    path = RESULTS / f"first-run-{args.size}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("floor_s", "cold_ratio", "warm_ratio")}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
