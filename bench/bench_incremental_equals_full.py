"""Every mart of an incremental `sfe run` against a full rebuild (`--force`) of the same warehouse.

    uv run --frozen python bench/bench_incremental_equals_full.py --seed 1
    uv run --frozen python bench/bench_incremental_equals_full.py --seed 2

A generated inbox (default 600 customers, 15 months) loses its last month and its `_更正`
re-sends (corrections that replace part of an older month) and is run; then they arrive and
`sfe run` builds incrementally (it must not fall back to every month). Its warehouse is copied,
the copy's marts kept, and `sfe build --force` rebuilds the working one from raw. Every table of
`marts` is compared row for row (`bench_build.compare`: doubles within 1e-9 relative, since
sums over the same rows in another order differ in the last bits). Appends to
bench/results/incremental-equals-full.md; exits 1 when a mart differs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_build import RESULTS, compare, last_month_files  # noqa: E402
from generator import generate  # noqa: E402
from orchestration.build import build_step  # noqa: E402
from orchestration.pipeline import run_pipeline  # noqa: E402
from sfe.config import Settings, load_settings  # noqa: E402
from sfe.console import Console  # noqa: E402


def _move(paths: list[Path], source: Path, target: Path) -> None:
    for path in paths:
        moved = target / path.relative_to(source)
        moved.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, moved)


def _run(settings: Settings, inbox: Path) -> dict:
    report = run_pipeline(settings, inbox, Console(quiet=True)).to_dict()
    build = next(s["detail"] for s in report["steps"] if s["name"] == "build")
    return {"gate_status": report["gate_status"], "kpi_changed_months":
            build.get("kpi_changed_months"), "rebuilt_all_months": build.get("rebuilt_all_months")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--months", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=RESULTS / "tmp" / "incremental")
    args = parser.parse_args()
    root = args.workdir / f"seed{args.seed}"
    shutil.rmtree(root, ignore_errors=True)
    inbox, held = root / "inbox", root / "held"
    generate(inbox, seed=args.seed, customers=args.customers, months=args.months,
             console=Console(quiet=True))
    late = sorted({*last_month_files(inbox), *(p for p in inbox.rglob("*更正*") if p.is_file())})
    _move(late, inbox, held)
    settings = load_settings(env={}, data_dir=root / "data", inbox_dir=inbox,
                             cache_dir=root / "cache")
    # the generated months end before today: the last one's flow is late, not a failure
    settings = replace(settings, thresholds=replace(settings.thresholds, min_flow_completeness=0.0))
    history = _run(settings, inbox)
    _move([p for p in held.rglob("*") if p.is_file()], held, inbox)
    incremental = _run(settings, inbox)
    kept = root / "incremental.duckdb"
    shutil.copy2(settings.working_db, kept)
    full = build_step(settings, force=True)
    lines = compare(kept, settings.working_db)
    different = [line for line in lines if line.endswith("DIFFERENT")]
    identical = sum(line.endswith("identical") for line in lines)
    summary = (f"seed {args.seed}: {len(lines)} marts, {identical} identical, "
               f"{len(lines) - identical - len(different)} equal within 1e-9, "
               f"{len(different)} different")
    doc = [f"\n## seed {args.seed}, {args.customers} customers, {args.months} months — "
           f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
           f"Held back and then added: {len(late)} files (the last month, and the re-sends "
           f"{', '.join(p.name for p in late if '更正' in p.name) or 'none'}). History run: "
           f"gates {history['gate_status']}. Incremental run: gates "
           f"{incremental['gate_status']}, KPI months {incremental['kpi_changed_months']}, "
           f"rebuilt all months: {incremental['rebuilt_all_months']}. `--force` build: exit "
           f"{full.exit_code}.\n", f"**{summary}**\n", "```text",
           "mart                                     incremental      full  verdict", *lines,
           "```"]
    with (RESULTS / "incremental-equals-full.md").open("a", encoding="utf-8") as out:
        out.write("\n".join(doc) + "\n")
    print(summary)
    shutil.rmtree(root, ignore_errors=True)
    ok = not different and full.exit_code == 0 and incremental["rebuilt_all_months"] is False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
