"""Issue 17, end to end on a tiny generated inbox: two `sfe run` started at once both go through,
one after the other; SIGTERM to a later `sfe run` mid-build records it in audit.runs as stopped
at 'build' and leaves the published snapshot as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("SFE_E2E") == "0",
                                 reason="generates an inbox and builds it; SFE_E2E=0 skips it")]


def _sfe(folder: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFE_")}
    return subprocess.Popen([sys.executable, "-m", "orchestration.cli", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _runs(db: Path) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("""select run_id, status, started_at, finished_at, published_snapshot,
                                    steps::varchar as steps
                             from audit.runs order by started_at""")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


def _published(folder: Path) -> tuple[int, str]:
    """current.duckdb: which file it is (publish hard-links a snapshot there) and its bytes."""
    current = folder / "data" / "published" / "current.duckdb"
    return current.stat().st_ino, hashlib.sha256(current.read_bytes()).hexdigest()


def _stop_when(proc: subprocess.Popen, marker: str, lines: list[str]) -> threading.Event:
    """Drain stderr into `lines`; SIGTERM the process once `marker` is printed."""
    seen = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if marker in line and not seen.is_set():
                seen.set()
                proc.send_signal(signal.SIGTERM)
    threading.Thread(target=read, daemon=True).start()
    return seen


def test_two_runs_at_once_take_turns_and_a_stopped_run_is_recorded_as_stopped(tmp_path):
    # a company's own bar: the tiny generated inbox has few distributors, several late
    (tmp_path / "sfe.toml").write_text('data_dir = "data"\n[thresholds]\n'
                                       "min_flow_completeness = 0.3\n", encoding="utf-8")
    gen = _sfe(tmp_path, "generate", "--out", "inbox", "--customers", "60", "--months", "3",
               "--quiet")
    assert gen.wait(timeout=300) == 0, gen.communicate()
    shutil.move(tmp_path / "inbox" / "calls", tmp_path / "calls-later")  # for the third run

    first, second = _sfe(tmp_path, "run", "inbox", "--quiet"), _sfe(tmp_path, "run", "inbox",
                                                                     "--quiet")
    for proc in (first, second):
        out, err = proc.communicate(timeout=1500)
        # 1: published, but the generator's rejected and partial files need a person
        assert proc.returncode in (0, 1), out[-2000:] + err[-2000:]
        # the one that waited finds the other's load: it publishes again or, the published
        # snapshot already being the checked state of this data, says there is nothing new
        assert "PUBLISHED " in out or "NOTHING NEW" in out, out[-2000:] + err[-2000:]
    db = tmp_path / "data" / "warehouse" / "working.duckdb"
    earlier, later = _runs(db)
    assert earlier["finished_at"] <= later["started_at"]  # one waited for the other
    assert earlier["status"] in ("ok", "needs_attention") and earlier["published_snapshot"]
    assert later["status"] in ("ok", "needs_attention")
    before = _published(tmp_path)
    snapshots = tmp_path / "data" / "published" / "snapshots"
    newest = later["published_snapshot"] or earlier["published_snapshot"]
    if not (snapshots / f"{newest}.duckdb").exists():  # 'nothing new' names no new snapshot
        newest = earlier["published_snapshot"]
    snapshot = snapshots / f"{newest}.duckdb"
    assert before[0] == snapshot.stat().st_ino

    shutil.move(tmp_path / "calls-later", tmp_path / "inbox" / "calls")  # new files: dbt runs
    third, lines = _sfe(tmp_path, "run", "inbox"), []
    seen = _stop_when(third, "==> build", lines)
    third.wait(timeout=900)
    assert seen.is_set(), "".join(lines)[-3000:]
    assert third.returncode == 128 + signal.SIGTERM, "".join(lines)[-3000:]
    assert "stopped (SIGTERM); the warehouse keeps its last good state" in "".join(lines)

    stopped = _runs(db)[-1]
    assert stopped["run_id"] not in (earlier["run_id"], later["run_id"])
    assert (stopped["status"], stopped["published_snapshot"]) == ("stopped", None)
    steps = [(s["name"], s["status"], s["error"]) for s in json.loads(stopped["steps"])]
    assert steps[-1] == ("build", "stopped", "stopped by SIGTERM")
    assert [name for name, *_ in steps] == ["ingest", "build"]  # check, publish never ran
    assert _published(tmp_path) == before  # readers keep the last good snapshot
