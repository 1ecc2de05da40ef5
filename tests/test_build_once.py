"""build_once: two xdist workers asking for one heavy fixture get it built once."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tests.build_once import LOG, once_in, shared_dir


def _slow_build(directory: Path) -> dict[str, str]:
    (directory / "warehouse.duckdb").write_text("built")
    time.sleep(0.5)  # long enough that the second process asks while the first still builds
    return {"path": str(directory / "warehouse.duckdb")}


def _ask(root: Path, queue) -> None:
    queue.put(once_in(root, _slow_build))


def test_two_processes_asking_at_once_build_one_and_share_its_result(tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_ask, args=(tmp_path, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len((tmp_path / LOG).read_text().splitlines()) == 1
    assert results == [{"path": str(tmp_path / "build" / "warehouse.duckdb")}] * 2


def test_a_failed_build_is_tried_again_by_the_next_caller(tmp_path: Path):
    def broken(directory: Path) -> str:
        (directory / "half.duckdb").write_text("half")
        raise RuntimeError("dbt failed")

    def second(directory: Path) -> list[str]:
        return sorted(p.name for p in directory.iterdir())  # nothing of the failed attempt

    with pytest.raises(RuntimeError, match="dbt failed"):
        once_in(tmp_path, broken)
    assert once_in(tmp_path, second) == []
    assert once_in(tmp_path, lambda d: "not built again") == []


def test_workers_of_one_run_share_the_directory_and_a_serial_run_keeps_its_own(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert shared_dir(tmp_path_factory, "dbt") == base.parent / "once-dbt"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert shared_dir(tmp_path_factory, "dbt") == base / "once-dbt"
