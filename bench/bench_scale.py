"""Scale benchmark (issue 14): the whole `sfe run` per stage against DuckDB's read_csv floor,
a second run with nothing new, and one new month on top of 12 against 36 months of history.

    uv run --frozen python bench/bench_scale.py --size 1000000               # 12 and 36 months
    uv run --frozen python bench/bench_scale.py --size 10000000 --months 12  # the issue's scale
    uv run --frozen python bench/bench_scale.py --size 1000000 --plain       # plain UTF-8 CSV

`--size` is the flow rows of 12 months; every case has size/12 rows per month, so 36 months
hold 3 × size rows (10 M → 30 M). Per case (`--months` N):

1. datasets (built once under --data, default ../sfe-bench-data beside the repository; reused when present): `sfe
   generate` for N + 1 months; the last month's flow, stock, sell-in and call files are held
   back as "the new month"; every flow file is also written as a plain UTF-8 CSV (header and
   data rows, read with the ingestion's own reader: not timed) for the floor and for --plain;
2. in ONE child process: the floor (below), the old per-file floor, then `sfe run` on the N months (seconds per stage: ingest, build, check, publish), a second `sfe
   run` with nothing new, then the held-back month copied in and `sfe run` again;
   (`min_flow_completeness` = 0 in the child: the held-back month is due by today's date, and
   its missing flow would otherwise block the first run's publish);
then, in a NEW process, `sfe run` once more with nothing new (the operator's no-op run:
   imports included, which the in-process no-op has done already);
3. peak RSS of the child's whole process tree (reader worker included; dbt runs in-process)
   sampled every 0.2 s by this process, per phase.

The floor is DuckDB's own read_csv of the same flow rows into a table: ONE statement over the
list of all plain copies (`FLOOR_SQL`), one transaction, DuckDB's threads. Its options:
- union_by_name = true: distributors name their columns differently (出库日期 / 销售日期 …); by
  position the files would be glued column onto unrelated column;
- all_varchar = true: every cell as text, so every row is read. Types sniffed on the first
  file's rows would not fit another distributor's columns, and ignore_errors then drops ~10 %
  of the rows (measured at 1 M: 907 k of 1,010 k) — a floor that reads fewer rows is not a
  floor. Text is also what the ingest starts from (it parses and checks each value itself);
- both the floor copies and the inbox are read once, untimed, before the floor: both sides
  parse from the page cache (a cold disk made the same floor take 21 s or 71 s at 10 M rows);
- delim, quote, escape given: the copies are written by this script (`write_csv`), so the
  dialect is known; sniffing it per file cost 4-5× the read itself over 572 small files
  (22 s against 80 s at 1 M rows) — that is DuckDB guessing, not reading.
The old floor (one `create table … as select * from read_csv(file, ignore_errors = true)` per
file: a table and a commit per file, so with 567 small files per-file table creation, not
reading, dominated it) is kept as `floor_per_file_s` for continuity with earlier results; every
ratio is against the one-statement floor.

Results: bench/results/scale-<size>.json (one entry per case and inbox kind, replaced when
measured again) and the table between the `scale` markers in docs/benchmarks.md. Figures on
this shared machine are noisy: the load average is kept with each, and the ratios to the floor
measured in the same process are what compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tree_rss import TreeSampler  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
MARK_START, MARK_END = "<!-- scale:start -->", "<!-- scale:end -->"
MONTHLY = ("flow", "inventory", "sellin", "calls")  # folders whose files carry a month
# The floor: ONE statement reading every plain flow copy into one table (see the docstring)
FLOOR_SQL = ("create table floor as select * from read_csv(?, header = true, "
             "union_by_name = true, all_varchar = true, delim = ',', quote = '\"', "
             "escape = '\"')")

CHILD = r"""
import json, sys, time
from pathlib import Path
import duckdb
from sfe.config import load_settings
from orchestration.pipeline import run_pipeline

inbox, data, floor_dir, new_dir = (Path(a) for a in sys.argv[1:5])
FLOOR_SQL = sys.argv[5]
from dataclasses import replace
data.mkdir(parents=True, exist_ok=True)
# a code cache of the case's own: its first run is a first run of this code, unit tests and all
# (transform/unit_test_passes.py; on an installation that ran this code before they are left out)
settings = load_settings(env={}, data_dir=data, inbox_dir=inbox, cache_dir=data / "code-cache")
# the held-back month is due by today's date: its missing flow must not block the first publish
settings = replace(settings, thresholds=replace(settings.thresholds, min_flow_completeness=0.0))
out = {}

def mark(name, t0):
    out.setdefault("phases", []).append([name, t0, time.time()])

files = sorted(str(p) for p in floor_dir.glob("*.csv"))
# both sides from the page cache: every floor copy and every inbox file read once first, so
# neither the floor nor the ingest is timed reading a cold disk (that swung the floor 21-71 s)
for path in [*files, *(p for p in inbox.rglob("*") if p.is_file())]:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass
t0 = time.time()
con = duckdb.connect(str(data / "floor.duckdb"))
con.execute("set enable_progress_bar = false")
con.execute(FLOOR_SQL, [files])
out["floor_rows"] = con.execute("select count(*) from floor").fetchone()[0]
con.close()
(data / "floor.duckdb").unlink()
mark("floor", t0)

t0 = time.time()  # the floor of earlier results, kept for continuity: a table per file
con = duckdb.connect(str(data / "floor.duckdb"))
con.execute("set enable_progress_bar = false")
rows = 0
for i, path in enumerate(files):
    con.execute(f"create table floor_{i} as select * from read_csv(?, header = true, "
                "ignore_errors = true)", [path])
    rows += con.execute(f"select count(*) from floor_{i}").fetchone()[0]
con.close()
(data / "floor.duckdb").unlink()
mark("floor_per_file", t0)
out["floor_per_file_rows"] = rows

def dbt_profile(since):  # where this run's dbt time went: per node type, the slowest nodes
    path = settings.dbt_target_dir / "target" / "run_results.json"
    if not path.is_file() or path.stat().st_mtime < since:
        return None  # dbt did not run
    results = json.loads(path.read_text(encoding="utf-8"))
    by_type = {}
    for r in results["results"]:
        kind = r["unique_id"].split(".")[0]
        by_type[kind] = round(by_type.get(kind, 0) + r["execution_time"], 2)
    top = sorted(results["results"], key=lambda r: -r["execution_time"])[:25]
    return {"elapsed": round(results["elapsed_time"], 2), "nodes": len(results["results"]),
            "by_type": by_type,
            "top": [[r["unique_id"].split(".", 2)[-1], round(r["execution_time"], 2)] for r in top]}

def run(name):
    t0 = time.time()
    report = run_pipeline(settings, inbox)
    mark(name, t0)
    d = report.to_dict()
    out.setdefault("dbt_profile", {})[name] = dbt_profile(t0)
    out[name] = {"status": d["status"], "gate_status": d["gate_status"],
                 "published": d["published_snapshot"],
                 "steps": {s["name"]: {"seconds": s["seconds"], "status": s["status"]}
                           for s in d["steps"]},
                 "ingest": next((s["detail"].get("totals") for s in d["steps"]
                                 if s["name"] == "ingest"), None),
                 "build": next(({k: s["detail"].get(k) for k in ("rebuilt_all_months",
                                 "kpi_changed_months", "up_to_date")} | {
                                 "matching_s": (s["detail"].get("matching") or {}).get("seconds")}
                                for s in d["steps"] if s["name"] == "build"), None)}

run("first_run")
run("noop_run")
for path in sorted(new_dir.rglob("*")):
    if path.is_file():
        target = inbox / path.relative_to(new_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        target.touch()  # arrives now: newer than everything already loaded
run("new_month")
print(json.dumps(out, default=str))
"""


# -- datasets ---------------------------------------------------------------------------------

def dataset(base: Path, size: int, months: int, seed: int, customers: int | None) -> Path:
    """generate N+1 months once; split off the last month; write the plain CSV copies."""
    root = base / (f"scale-{size}-{months}m-s{seed}" + (f"-c{customers}" if customers else ""))
    if (root / "ready").exists():
        return root
    full = root / "generated"
    if full.exists():
        shutil.rmtree(full)
    rows = size * (months + 1) // 12
    subprocess.run([sys.executable, "-m", "orchestration.cli", "--quiet", "generate", "--out", str(full),
                    "--seed", str(seed), "--months", str(months + 1), "--rows", str(rows),
                    *(["--customers", str(customers)] if customers else [])],
                   cwd=ROOT, check=True)
    last = _last_month(full)
    for kind in ("messy", "plain"):
        for part in ("history", "new"):
            shutil.rmtree(root / kind / part, ignore_errors=True)
    for path in sorted(full.rglob("*")):
        rel = path.relative_to(full)
        if not path.is_file() or rel.parts[0].startswith("_"):
            continue
        part = "new" if rel.parts[0] in MONTHLY and last in _months_in(rel.name) else "history"
        target = root / "messy" / part / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    write_plain(root)
    (root / "ready").write_text(json.dumps({"last_month": last, "rows": rows}))
    return root


def _months_in(name: str) -> set[str]:
    return {a + b for a, b in re.findall(r"(20\d\d)-?(\d\d)", name)}


def _last_month(inbox: Path) -> str:
    months = set()
    for path in (inbox / "flow").rglob("*"):
        months |= _months_in(path.name)
    return max(months)


def write_plain(root: Path) -> None:
    """Every flow file as plain UTF-8 CSV: its header row and the rows below it, as read."""
    from ingestion.discover import scan
    from ingestion.headers import header_lookup, load_mapping
    from ingestion.pipeline import _header, _read_grids
    from sfe.config import load_settings

    settings = load_settings(env={})
    for part in ("history", "new"):
        messy, plain = root / "messy" / part, root / "plain" / part
        shutil.copytree(messy, plain)
        floor = root / "floor" / part
        shutil.rmtree(floor, ignore_errors=True)
        floor.mkdir(parents=True)
        for n, item in enumerate(scan(messy).files):
            if item.source is None or item.source.name != "flow" or item.problem:
                continue
            text = _plain_text(settings, item, load_mapping, header_lookup, _header, _read_grids)
            if text is None:
                continue  # an unreadable file stays as it is (it is rejected in both cases)
            out = plain / item.rel
            out.unlink()
            out = out.with_suffix(".csv")
            out.write_text(text, encoding="utf-8")
            os.utime(out, (item.path.stat().st_atime, item.path.stat().st_mtime))
            (floor / f"{n:05d}.csv").write_text(text, encoding="utf-8")


def _plain_text(settings, item, load_mapping, header_lookup, header_of, read_grids) -> str | None:

    try:
        mapping = load_mapping(settings.mappings_dir, item.distributor_code, item.source)
        grids = read_grids(item, item.path.read_bytes(), mapping)
    except Exception:  # noqa: BLE001 - hostile or broken generated files: left as they are
        return None
    lookup = header_lookup(item.source, mapping)
    parts = []
    for grid in grids:
        header = header_of(grid, lookup, mapping)
        if header is None:
            return None
        cols = [c for c in grid.frame.columns if c.startswith("c")][:max(header.width, 1)]
        names = [header.originals.get(c) or f"column_{i}" for i, c in enumerate(cols)]
        body = grid.frame.slice(header.position + 1).select(cols)
        parts.append(body.rename(dict(zip(cols, names))))
    if len(parts) != 1:
        return None
    return parts[0].write_csv(quote_style="necessary")


# -- one case ---------------------------------------------------------------------------------

def run_case(root: Path, kind: str, work: Path) -> dict:
    if work.exists():
        shutil.rmtree(work)
    inbox = work / "inbox"
    shutil.copytree(root / kind / "history", inbox)
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(inbox), str(work / "data"),
                             str(root / "floor" / "history"), str(root / kind / "new"),
                             FLOOR_SQL],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    with TreeSampler(proc.pid, 0.2) as sampler:
        stdout = proc.stdout.read() if proc.stdout else ""
        status = proc.wait()
    if status != 0:
        raise SystemExit(f"benchmark child failed (status {status}); see its messages above")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["noop_fresh"] = noop_fresh(inbox, work / "data")
    phases = {name: {"seconds": round(end - start, 2),
                     "peak_tree_mb": round(sampler.peak_mb(start, end))}
              for name, start, end in out.pop("phases")}
    return {"kind": kind, "phases": phases, **out, "wall_seconds": round(time.time() - started, 1),
            "peak_tree_mb": round(sampler.peak_mb()), "load_average_end": os.getloadavg()[0]}


NOOP_CHILD = r"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
from orchestration.pipeline import run_pipeline
from sfe.config import load_settings
from sfe.console import Console
imported = time.time()
inbox, data = Path(sys.argv[1]), Path(sys.argv[2])
settings = load_settings(env={}, data_dir=data, inbox_dir=inbox, cache_dir=data / "code-cache")
settings = replace(settings, thresholds=replace(settings.thresholds, min_flow_completeness=0.0))
d = run_pipeline(settings, inbox, Console(quiet=True)).to_dict()
print(json.dumps({"imported_at": imported, "published": d["published_snapshot"],
                  "steps": {s["name"]: round(s["seconds"], 2) for s in d["steps"]}}))
"""


def noop_fresh(inbox: Path, data: Path) -> dict:
    """A second `sfe run` with nothing new as an operator starts it: a new process, so the
    imports count (the in-process no-op above has them done already)."""
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", NOOP_CHILD, str(inbox), str(data)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["seconds"] = round(time.time() - started, 2)
    out["import_s"] = round(out.pop("imported_at") - started, 2)
    return out


def summarise(size: int, months: int, case: dict) -> dict:
    floor = case["phases"]["floor"]["seconds"]
    per_file = case["phases"]["floor_per_file"]["seconds"]
    first = case["first_run"]["steps"]
    run_s = case["phases"]["first_run"]["seconds"]
    return {"size": size, "months": months, "kind": case["kind"],
            "flow_rows": (case["first_run"]["ingest"] or {}).get("rows_loaded"),
            "floor_rows": case["floor_rows"], "floor_s": floor, "floor_kind": "one read_csv",
            "floor_per_file_s": per_file, "floor_per_file_rows": case["floor_per_file_rows"],
            **{f"{k}_s": round(v["seconds"], 2) for k, v in first.items()},
            "run_s": run_s, "run_ratio": round(run_s / floor, 2),
            "ingest_ratio": round(first["ingest"]["seconds"] / floor, 2),
            "ingest_ratio_per_file_floor": round(first["ingest"]["seconds"] / per_file, 2),
            "noop_s": case["phases"]["noop_run"]["seconds"],
            "noop_steps": {k: round(v["seconds"], 2) for k, v in case["noop_run"]["steps"].items()},
            "noop_fresh_s": case["noop_fresh"]["seconds"],
            "noop_fresh_import_s": case["noop_fresh"]["import_s"],
            "noop_fresh_steps": case["noop_fresh"]["steps"],
            "new_month_s": case["phases"]["new_month"]["seconds"],
            "new_month_steps": {k: round(v["seconds"], 2)
                                for k, v in case["new_month"]["steps"].items()},
            "peak_tree_mb": case["peak_tree_mb"],
            "dbt_profile": case.get("dbt_profile"),
            "new_month_build": case["new_month"].get("build"),
            "peak_tree_mb_first_run": case["phases"]["first_run"]["peak_tree_mb"],
            # every phase's own peak: the floor's DuckDB (no memory limit set) is in the
            # child's overall peak too, and sfe's runs must be told apart from it
            "peak_tree_mb_by_phase": {k: v["peak_tree_mb"] for k, v in case["phases"].items()},
            "gates": case["first_run"]["gate_status"], "published": case["first_run"]["published"],
            "noop_published": case["noop_run"]["published"],
            "load_average_end": round(case["load_average_end"], 1),
            "measured_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"}


# -- output -----------------------------------------------------------------------------------

def save(size: int, rows: list[dict]) -> Path:
    path = RESULTS / f"scale-{size}.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"cases": []}
    keys = {(r["months"], r["kind"]) for r in rows}
    cases = [c for c in old["cases"] if (c["months"], c["kind"]) not in keys] + rows
    doc = {**old, "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                             f"{platform.python_version()}", "cases": cases}  # other keys kept
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def bar(value: float, top: float, width: int = 30) -> str:
    return "█" * max(1, round(width * value / top)) if top else ""


def markdown() -> str:
    cases = []
    for path in sorted(RESULTS.glob("scale-*.json")):
        cases += json.loads(path.read_text(encoding="utf-8"))["cases"]
    cases.sort(key=lambda c: (c["size"], c["kind"], c["months"]))
    lines = [MARK_START, "",
             "| size / 12 months | months | inbox | flow rows | floor s: one read_csv (per "
             "file) | ingest s (×floor) | "
             "build s | check s | publish s | `sfe run` s (×floor) | no-op run s: new process "
             "(in-process) | new month s "
             "| peak RSS MB (tree) | load |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        lines.append(
            f"| {c['size'] / 1e6:g} M | {c['months']}{_noted(c, cases)} | {c['kind']} | "
            f"{c['flow_rows'] or 0:,} | "
            f"{_floor(c)} | {c['ingest_s']:.1f} ({c['ingest_ratio']}{_old(c)}) | "
            f"{c.get('build_s', 0):.1f} | {c.get('check_s', 0):.1f} | {c.get('publish_s', 0):.1f} | "
            f"{c['run_s']:.1f} ({c['run_ratio']}{_old(c)}) | {_noop(c)} | "
            f"{c['new_month_s']:.1f} | "
            f"{c['peak_tree_mb']:,} | {c['load_average_end']} |")
    top = max((c["run_s"] for c in cases), default=0)
    lines += ["", "```text",
              "whole `sfe run` against the read_csv floor of the same files, seconds"]
    for c in cases:
        label = f"{c['size'] / 1e6:g}M {c['months']}m {c['kind']:<5}"
        lines.append(f"{label} run   {bar(c['run_s'], top):<30} {c['run_s']:.0f}")
        lines.append(f"{'':{len(label)}} floor {bar(c['floor_s'], top):<30} {c['floor_s']:.0f}")
    pairs = {(c["size"], c["kind"]): {} for c in cases}
    for c in cases:
        if "note" not in c:  # a case run differently compares with nothing
            pairs[(c["size"], c["kind"])][c["months"]] = c["new_month_s"]
    lines.append("```")
    for (size, kind), by_months in pairs.items():
        if 12 in by_months and 36 in by_months:
            lines.append(f"\nOne new month ({size / 12e6:.3g} M rows) on {kind} inboxes: "
                         f"{by_months[12]:.1f} s on top of 12 months, {by_months[36]:.1f} s on top "
                         f"of 36 → ratio {by_months[36] / by_months[12]:.2f} (target ≤ 1.2).")
    if any("floor_kind" not in c for c in cases):
        lines.append("\n† measured before the one-statement floor: the floor and the ratio are "
                     "against the per-file floor (a table per file), which overstated the floor.")
    for c in (c for c in cases if "note" in c):
        lines.append(f"\n{_noted(c, cases).strip()} {c['size'] / 1e6:g} M × {c['months']} months: "
                     f"{c['note']}.")
    lines += ["", MARK_END]
    return "\n".join(lines)


def _noted(case: dict, cases: list[dict]) -> str:
    """A mark (‡, ‡‡ …) for a case whose JSON carries a `note` (run on other code or terms)."""
    noted = [c for c in cases if "note" in c]
    return f" {'‡' * (noted.index(case) + 1)}" if case in noted else ""


def _floor(case: dict) -> str:
    """The one-statement floor and the per-file one; older results have only the per-file one."""
    if "floor_kind" not in case:
        return f"– ({case['floor_s']:.1f})"
    return f"{case['floor_s']:.1f} ({case['floor_per_file_s']:.1f})"


def _old(case: dict) -> str:
    return "" if "floor_kind" in case else " †"


def _noop(case: dict) -> str:
    """The no-op run in a new process, as an operator starts it, then the in-process one (older
    results have only the in-process figure)."""
    if "noop_fresh_s" not in case:
        return f"({case['noop_s']:.1f})"
    return f"{case['noop_fresh_s']:.1f} ({case['noop_s']:.1f})"


def write_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = markdown()
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="flow rows per 12 months")
    parser.add_argument("--months", type=int, nargs="+", default=[12, 36])
    parser.add_argument("--plain", action="store_true", help="the plain UTF-8 CSV inbox")
    parser.add_argument("--messy", action="store_true", help="the generator's inbox (default)")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "sfe-bench-data")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, help="generator's customers (default: its own)")
    parser.add_argument("--doc-only", action="store_true", help="rewrite docs from the JSON")
    args = parser.parse_args()
    if not args.doc_only:
        kinds = (["plain"] if args.plain else []) + (["messy"] if args.messy or not args.plain
                                                     else [])
        rows = []
        for months in args.months:
            root = dataset(args.data, args.size, months, args.seed, args.customers)
            for kind in kinds:
                case = run_case(root, kind, args.data / "scale-work")
                rows.append(summarise(args.size, months, case))
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
                save(args.size, rows)
        shutil.rmtree(args.data / "scale-work", ignore_errors=True)
    write_doc()


if __name__ == "__main__":
    main()
