"""Helpers for ingestion tests: an inbox under tmp_path, small files written by each test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ingestion.pipeline import ingest_inbox
from ingestion.report import IngestReport
from sfe.config import Settings

FLOW_HEADER = "销售日期,客户名称,产品名称,规格,批号,数量,单位,金额"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def put(inbox: Path) -> Callable[..., Path]:
    """Write a file into the inbox: text (with an encoding) or bytes; optional mtime offset."""
    clock = {"t": time.time() - 10_000}

    def _put(rel: str, content: str | bytes, encoding: str = "utf-8", age: float | None = None
             ) -> Path:
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        clock["t"] += 60  # files written later are newer, as they would arrive
        stamp = clock["t"] if age is None else time.time() - age
        os.utime(path, (stamp, stamp))
        return path

    return _put


@pytest.fixture
def ingest(settings: Settings, inbox: Path) -> Callable[[], IngestReport]:
    return lambda: ingest_inbox(settings, inbox)


@pytest.fixture
def query(settings: Settings) -> Callable[..., list[tuple]]:
    def _query(sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(settings.working_db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    return _query


def flow_csv(rows: list[str], header: str = FLOW_HEADER, title: str | None = None) -> str:
    lines = ([title] if title else []) + [header, *rows]
    return "\n".join(lines) + "\n"


def by_path(report: IngestReport) -> dict[str, dict]:
    return {f["path"]: f for f in report.to_dict()["files"]}  # type: ignore[index]


def assert_conserved(report: IngestReport) -> None:
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined, f


def kill_child_at_marker(script: str, inbox: Path, data_dir: Path, marker: Path,
                         reached: str) -> subprocess.Popen:
    """`script` (an ingest in a child process, given inbox, data dir and marker) run until it
    writes `marker`, then SIGKILLed there; the test fails if it never gets there (`reached`)."""
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", script, str(inbox), str(data_dir),
                              str(marker)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        deadline = time.time() + 120
        while not marker.exists() and child.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the child never {reached}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    return child
