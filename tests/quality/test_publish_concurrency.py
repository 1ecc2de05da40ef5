"""Readers never see half a snapshot or a mix, even while publishing runs or is killed."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from quality.gates import run_checks
from quality.publish import publish
from quality.published import published_status
from tests.quality import publish_workers
from tests.quality.conftest import TODAY, execute

CHEAP = ["future_dates", "kpi_rates_out_of_bounds"]
ROOT = Path(__file__).resolve().parents[2]


def publish_marker(settings, n: int) -> str:
    execute(settings, publish_workers.set_marker_sql(n))
    run_checks(settings, select=CHEAP, today=TODAY, run_id=f"run-{n}")
    report = publish(settings)
    assert report.outcome == "published", report.reason
    return report.snapshot_id


def test_readers_in_other_processes_see_old_or_new_never_a_mix(warehouse) -> None:
    settings = replace(warehouse, snapshots_kept=2)  # pruning happens under the readers too
    publish_marker(settings, 0)
    ctx = multiprocessing.get_context("spawn")
    read_seconds = 8.0
    with ctx.Pool(2) as pool:
        pending = pool.starmap_async(publish_workers.read_loop,
                                     [(str(settings.data_dir), read_seconds, 400)] * 2)
        published = []
        n = 0
        start = time.monotonic()
        while not pending.ready() and time.monotonic() - start < read_seconds + 5:
            n += 1
            published.append(publish_marker(settings, n))
        results = pending.get(timeout=60)
    print(f"{len(published)} publishes; reads per reader {[r[0] for r in results]}")
    reads = sum(r[0] for r in results)
    errors = [e for r in results for e in r[1]]
    seen = {s for r in results for s in r[2]}
    assert errors == []
    assert reads >= 10
    assert len(published) >= 3
    assert len(seen) >= 2, "readers should have overlapped several publishes"
    assert publish_workers.read_snapshot(settings)[1] == n


def _killed_publish(settings, kill_at: str, after: float | None = None) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.quality.publish_workers", str(settings.data_dir), kill_at],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if after is not None:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(after)
        proc.kill()
    proc.communicate(timeout=60)
    return proc.returncode


def _assert_valid_published(settings) -> str:
    """current.duckdb opens, holds exactly one whole snapshot, and status.json parses."""
    snapshot_id, n = publish_workers.read_snapshot(settings)
    assert n == 1
    doc = json.loads((settings.published_dir / "status.json").read_text(encoding="utf-8"))
    assert doc["current"]["snapshot_id"]  # status.json is never half written
    return snapshot_id


STEPS = ["locked", "checkpointed", "copied", "stamped", "snapshot_final", "linked", "switched",
         "done"]


def test_publish_killed_at_any_step_leaves_a_valid_snapshot(warehouse) -> None:
    first = publish_marker(warehouse, 1)
    seen = [first]
    for step in STEPS:
        code = _killed_publish(warehouse, step)
        assert code == -9, f"publish was not killed at {step}"
        current = _assert_valid_published(warehouse)
        # killed before the switch: the old snapshot; from the switch on: the new one
        assert (current == seen[-1]) == (STEPS.index(step) < STEPS.index("switched")), step
        seen.append(current)
        status = published_status(warehouse)
        assert status["published"] and status["snapshot_id"] == current
    # the next publish cleans up after the killed ones and works
    report = publish(warehouse)
    assert report.outcome == "published"
    leftovers = [p.name for p in warehouse.published_dir.rglob(".*")]
    assert leftovers == []
    assert publish_workers.read_snapshot(warehouse) == (report.snapshot_id, 1)


def test_publish_killed_at_random_moments_leaves_a_valid_snapshot(warehouse) -> None:
    publish_marker(warehouse, 1)
    rng = random.Random(7)
    for _ in range(3):
        code = _killed_publish(warehouse, "loop", after=rng.uniform(0.05, 0.8))
        assert code == -9
        snapshot_id, n = publish_workers.read_snapshot(warehouse)
        assert n == 1
    assert publish(warehouse).outcome == "published"
