"""Code run in separate processes by test_publish_concurrency: readers and a killable publisher.

Every snapshot carries a marker: run-N's snapshot has marts.marker and marts.marker_copy filled
with N (MARKER_ROWS rows each) and publish_info.run_id = 'run-N'; a reader that ever sees two
different Ns in one connection has seen a mix of snapshots.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

MARKER_ROWS = 2000


def set_marker_sql(n: int) -> str:
    return (f"create or replace table marts.marker as select {n} as v from range({MARKER_ROWS});"
            f"create or replace table marts.marker_copy as "
            f"select {n} as v, range as i from range({MARKER_ROWS});")


def read_snapshot(settings) -> tuple[str, int]:
    """Open the published snapshot once and check it is one whole snapshot: (snapshot_id, N)."""
    from quality.published import open_published

    con = open_published(settings)
    try:
        info = con.execute("select snapshot_id, run_id from audit.publish_info").fetchall()
        count, low, high = con.execute(
            "select count(*), min(v), max(v) from marts.marker").fetchone()
        count2, low2, high2 = con.execute(
            "select count(*), min(v), max(v) from marts.marker_copy").fetchone()
        # the stamp dbt's scorecard view reads (tests/dbt/test_build.py checks that view)
        status = con.execute("select distinct gate_status from audit.publish_info").fetchall()
    finally:
        con.close()
    if len(info) != 1:
        raise AssertionError(f"publish_info has {len(info)} rows")
    snapshot_id, run_id = info[0]
    n = int(run_id.split("-")[1])
    if not (count == count2 == MARKER_ROWS and low == high == low2 == high2 == n):
        raise AssertionError(f"mixed snapshot: run {run_id}, marker {count} rows {low}..{high}, "
                             f"copy {count2} rows {low2}..{high2}")
    if status != [("passed",)]:
        raise AssertionError(f"publish stamp gate_status {status}")
    return snapshot_id, n


def read_loop(data_dir: str, stop, results, seconds: float = 300.0,
              max_reads: int = 100_000) -> None:
    """Read the published snapshot until `stop` is set; report (reads, errors, snapshot ids).

    Puts 'ready' on `results` after the first read, so the test publishes only once every
    reader is running.
    """
    from sfe.config import load_settings

    settings = load_settings(env={}, data_dir=Path(data_dir))
    deadline = time.monotonic() + seconds
    reads, errors, seen = 0, [], set()
    while not stop.is_set() and time.monotonic() < deadline and reads < max_reads:
        try:
            snapshot_id, _ = read_snapshot(settings)
            seen.add(snapshot_id)
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            errors.append(f"{type(exc).__name__}: {exc}")
        reads += 1
        if reads == 1:
            results.put("ready")
    results.put((reads, errors, sorted(seen)))


def killable_publish(data_dir: str, kill_at: str, ready=None) -> None:
    """Publish, SIGKILLing ourselves at the named step; kill_at='loop' publishes forever."""
    import quality.publish as pub
    from sfe.config import load_settings

    settings = load_settings(env={}, data_dir=Path(data_dir))

    def step(name: str) -> None:
        if name == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    pub._step = step
    if ready is not None:
        ready.set()
    else:
        print("ready", flush=True)
    if kill_at == "loop":
        while True:
            pub.publish(settings)
    pub.publish(settings)


if __name__ == "__main__":
    killable_publish(sys.argv[1], sys.argv[2])
