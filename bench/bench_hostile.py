"""Peak memory and time of `sfe ingest` on the malformed-file corpus (issue 12).

    uv run --frozen python bench/bench_hostile.py

The inbox holds the corpus of tests/ingestion/test_corpus.py (37 damaged or odd files and a
control) plus the hostile files of tests/ingestion/test_hostile_inbox.py: a workbook with a
cell at XFD1048576 (declared), the same cell undeclared (only the reader's memory cap stops
calamine), a 120 MB zip bomb posing as xlsx, an .xls declaring four billion rows, a CSV that
never closes a quote, `_name.csv`, `~$lock.xlsx`, a hidden file and a link out of the inbox.

`ingest_inbox` runs in ONE child process; it reports its own peak RSS (getrusage) and, sampled
every 10 ms from /proc, the largest reader worker and the largest sum of the ingest process and
its workers at one moment (ru_maxrss of a child is useless here: it counts the parent's pages
copied at fork). Results are appended to bench/results/hostile.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp" / "hostile"
sys.path.insert(0, str(ROOT))

CHILD = """
import json, os, resource, sys, threading, time
from pathlib import Path
sys.path.insert(0, {root!r})
from ingestion.pipeline import ingest_inbox
from sfe.config import load_settings


def tree(pid):
    try:
        kids = open(f"/proc/{{pid}}/task/{{pid}}/children").read().split()
    except OSError:
        kids = []
    return [pid] + [p for k in kids for p in tree(int(k))]


def rss_kb(pid):
    try:
        return next(int(l.split()[1]) for l in open(f"/proc/{{pid}}/status") if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


peak = {{"sum": 0, "worker": 0}}
stop = threading.Event()


def sample():
    while not stop.wait(0.01):
        pids = tree(os.getpid())
        sizes = [rss_kb(p) for p in pids]
        peak["sum"] = max(peak["sum"], sum(sizes))
        peak["worker"] = max([peak["worker"], *sizes[1:]])


settings = load_settings(env={{}}, data_dir=Path(sys.argv[2]))
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t = time.perf_counter()
report = ingest_inbox(settings, Path(sys.argv[1]))
seconds = time.perf_counter() - t
stop.set()
sampler.join()
print(json.dumps({{"seconds": seconds, "totals": report.totals(), "exit_code": report.exit_code,
    "ingest_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "worker_peak_kb": peak["worker"], "sum_peak_kb": peak["sum"],
    "rejected": {{f.path: f.reasons[0][:120] for f in report.files if f.status == "rejected"}}}}))
"""


def build_inbox(inbox: Path) -> int:
    from tests.ingestion import test_corpus as corpus_mod
    from tests.ingestion import test_hostile_inbox as hostile

    files: dict[str, bytes] = dict(corpus_mod.corpus())
    files.update({
        "flow/H01/far_cell.xlsx": hostile._workbook(),
        "flow/H02/hidden_far_cell.xlsx": hostile._undeclared_far_cell(),
        "flow/H03/bomb.xlsx": hostile._zip_bomb(),
        "flow/H04/huge.xls": hostile._xls_claiming_rows(0xFFFF_FFF0),
        "flow/H05/open_quote.csv": (hostile.GOOD_CSV + '2026-03-06,"协和,x,y,z,1,盒,1\n'
                                    + hostile.GOOD + "\n").encode(),
        "flow/H06/_draft.csv": hostile.GOOD_CSV.encode(),
        "flow/H06/~$lock.xlsx": b"lock",
        "flow/H06/.hidden.csv": hostile.GOOD_CSV.encode(),
    })
    for rel, data in files.items():
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    secret = inbox.parent / "outside.env"
    secret.write_text(hostile.SECRET + "\n", encoding="utf-8")
    os.symlink(secret, inbox / "flow/H06/linked.csv")
    return len(files) + 1


def main() -> None:
    shutil.rmtree(TMP, ignore_errors=True)
    inbox = TMP / "inbox"
    inbox.mkdir(parents=True)
    n = build_inbox(inbox)
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), str(inbox),
                          str(TMP / "data")], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    total_mb = max(result["sum_peak_kb"], result["ingest_peak_kb"]) / 1024
    lines = [
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        f"- inbox: {n} entries (malformed corpus + hostile files)",
        f"- ingest: {result['seconds']:.1f} s, exit code {result['exit_code']}, "
        f"totals {json.dumps(result['totals'], ensure_ascii=False)}",
        f"- peak RSS: ingest process {result['ingest_peak_kb'] / 1024:.0f} MB, largest reader "
        f"worker {result['worker_peak_kb'] / 1024:.0f} MB, ingest + workers at one moment "
        f"{result['sum_peak_kb'] / 1024:.0f} MB → peak {total_mb:.0f} MB "
        f"(limit checked: < 1024 MB → {'ok' if total_mb < 1024 else 'OVER'})",
        "- hostile files rejected:",
        *(f"  - `{p}`: {r}" for p, r in sorted(result["rejected"].items()) if "/H0" in p),
    ]
    text = "\n".join(lines) + "\n"
    path = RESULTS / "hostile.md"
    if not path.exists():
        path.write_text("# `sfe ingest` on hostile and malformed files (bench/bench_hostile.py)\n",
                        encoding="utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
