"""Benchmark the dashboards on a large published warehouse; results in bench/results/pages.md.

    uv run --frozen python bench/bench_pages.py --rows 3000000     # ~3 M flow rows
    uv run --frozen python bench/bench_pages.py --rows 10000000    # the issue's 10 M

Steps: generate + `sfe run` (ingest → build → check → publish) unless the workdir already holds
a published snapshot; then
1. first page after start: `sfe serve`'s server is started and Chromium opens the default page
   (the executive scorecard); the time from starting the process to the page settled, and
   from "server ready" to the page settled (skipped without Chromium);
2. server time per page: each page script run through Streamlit's AppTest in this process,
   `--runs` times cold (query cache cleared before every run: every query hits DuckDB) and
   `--runs` times warm (cache kept, as a second visitor sees it); p50 / p95 / max.
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import time
from datetime import datetime, UTC
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VIEWS = ROOT / "dashboards" / "views"
PAGES = ["scorecard", "kpi_explorer", "inventory", "loads", "match_review", "data_quality"]


def _published(settings, inbox: Path, args: argparse.Namespace) -> list[str]:
    from generator import generate
    from sfe.console import Console
    from orchestration.pipeline import run_pipeline

    if settings.published_db.exists():
        return ["(published snapshot reused from an earlier run of this script)"]
    lines = []
    if not inbox.exists():
        start = time.perf_counter()
        generate(inbox, seed=1, customers=args.customers, months=args.months, rows=args.rows)
        lines.append(f"generate: {time.perf_counter() - start:.0f} s")
    start = time.perf_counter()
    report = run_pipeline(settings, inbox, Console(quiet=True), command="run")
    lines.append(f"`sfe run` (ingest → build → check → publish): "
                 f"{time.perf_counter() - start:.0f} s, exit {report.exit_code}")
    if not settings.published_db.exists():
        raise SystemExit("the run published nothing (a gate failed?); see the run report:\n"
                         + "\n".join(lines))
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_page(settings) -> tuple[float, float] | None:
    """(seconds from process start, seconds from server ready) to the default page settled."""
    from dashboards.scorecard import find_chromium
    from dashboards.serve import start_server, wait_until_ready

    chromium = find_chromium()
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        port = _free_port()
        started = time.perf_counter()
        proc = start_server(settings, port)
        try:
            wait_until_ready(port, timeout=120, proc=proc)
            ready = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_role("heading", name="经营周报 Executive scorecard").wait_for(
                timeout=120_000)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')"
                " && document.querySelector('[data-testid=\"stMetric\"]')", timeout=120_000)
            done = time.perf_counter()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()
    return done - started, done - ready


FIRST_RUN = """
import time
t0 = time.perf_counter()
from streamlit import config
from streamlit.testing.v1 import AppTest
config.set_option("server.address", "127.0.0.1")
t1 = time.perf_counter()
at = AppTest.from_file({path!r}, default_timeout=120).run()
assert not at.exception, [e.value for e in at.exception]
print(f"{{time.perf_counter() - t0:.3f}} {{time.perf_counter() - t1:.3f}}")
"""


def first_run(settings) -> tuple[float, float]:
    """Server side of the first page in a fresh process: (seconds from the interpreter's start,
    seconds of the first script run alone — the page's own imports, connection and queries)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SFE_DATA_DIR": str(Path(settings.data_dir).resolve())}
    out = subprocess.run([sys.executable, "-c", FIRST_RUN.format(path=str(VIEWS / "scorecard.py"))],
                         env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    total, run = out.stdout.split()[-2:]
    return float(total), float(run)


def page_times(page: str, runs: int, cold: bool) -> list[float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = []
    for _ in range(runs):
        if cold:
            st.cache_data.clear()
        at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=120)
        start = time.perf_counter()
        at.run()
        out.append(time.perf_counter() - start)
        if at.exception:
            raise SystemExit(f"{page}: {[e.value for e in at.exception]}")
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 \
        else values[0]


def main() -> None:
    import os

    from streamlit import config

    from sfe.config import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=RESULTS / "tmp" / "pages")
    args = parser.parse_args()
    inbox, data = args.workdir / "inbox", args.workdir / "data"
    settings = load_settings(env={}, data_dir=data)
    setup = _published(settings, inbox, args)
    with duckdb.connect(str(settings.published_db), read_only=True) as con:
        rows = con.execute("select count(*) from marts.fct_sell_out").fetchone()[0]
        size = settings.published_db.stat().st_size / 2**20
    # as on a deployed server: modules compiled once (.pyc), not at every start; this workplace
    # sets PYTHONDONTWRITEBYTECODE, which makes each new process compile ~700 modules (~1.5 s)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compile_once = first_run(settings)
    fresh = first_run(settings)
    first = first_page(settings)
    os.environ["SFE_DATA_DIR"] = str(data)  # the pages read settings like `sfe serve` passes
    config.set_option("server.address", "127.0.0.1")  # as served by `sfe serve`
    table = ["| page | cold p50 | cold p95 | cold max | warm p95 |", "|---|---:|---:|---:|---:|"]
    for page in PAGES:
        cold = page_times(page, args.runs, cold=True)
        warm = page_times(page, args.runs, cold=False)
        table.append(f"| {page} | {statistics.median(cold):.2f} | {_p95(cold):.2f} | "
                     f"{max(cold):.2f} | {_p95(warm):.2f} |")
    case = f"rows={args.rows}" if args.rows else f"customers={args.customers} months={args.months}"
    lines = [
        f"\n## {case} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores\n",
        *[f"- {s}" for s in setup],
        f"- published snapshot: {size:,.0f} MB, {rows:,} rows in marts.fct_sell_out",
        ("- first page (scorecard, Chromium): "
         f"{first[0]:.1f} s from starting the server, {first[1]:.2f} s after it was ready"
         if first else "- first page: not measured (no Chromium)"),
        f"- first page, server side (scorecard script in a fresh process): {fresh[1]:.2f} s for "
        f"its first run, {fresh[0]:.2f} s counting Streamlit's own import (before any .pyc "
        f"existed: {compile_once[1]:.2f} s / {compile_once[0]:.2f} s)",
        f"\nServer time per page (AppTest script run, seconds, {args.runs} runs each):\n",
        *table,
    ]
    path = RESULTS / "pages.md"
    if not path.exists():
        path.write_text("# Dashboard pages benchmark\n\nWritten by `bench/bench_pages.py`.\n",
                        encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
