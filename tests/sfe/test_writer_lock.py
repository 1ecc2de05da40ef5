"""Writers take turns: a writing command waits for the one writing now (up to lock_wait_s), then
fails naming it. Each writer runs in its own process, as two commands or two DAG tasks would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from sfe.config import ConfigError, load_settings
from sfe.warehouse import WarehouseBusy, writer_lock, writer_lock_file

ROOT = Path(__file__).resolve().parents[2]

# A writer: takes the lock as `command`, says so, writes a row, holds on for `hold` seconds.
WRITER = """
import json, sys, time
from pathlib import Path
from sfe.config import load_settings
from sfe.warehouse import connect, writer_lock

data_dir, command, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
settings = load_settings(env={"SFE_LOCK_WAIT_S": "60"}, data_dir=Path(data_dir))
with writer_lock(settings, command):
    start = time.time()
    print("holding", flush=True)
    with connect(settings) as con:
        con.execute("create table if not exists audit.turns (command varchar)")
        con.execute("insert into audit.turns values (?)", [command])
    time.sleep(hold)
    end = time.time()
print(json.dumps({"command": command, "start": start, "end": end}), flush=True)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFE_")}
    return {**env, "PYTHONPATH": str(ROOT)}


def _writer(data_dir: Path, command: str, hold: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), command, str(hold)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def holding_lock(data_dir: Path, command: str) -> Iterator[int]:
    """Another process holds the writer lock as `command` (a writer that is slow to finish);
    yields its pid. Used by the pipeline and DAG tests too."""
    holder = _writer(data_dir, command, 60)
    try:
        _holding(holder)
        yield holder.pid
    finally:
        holder.kill()
        holder.communicate()


def _holding(proc: subprocess.Popen) -> None:
    """Block until the writer says it holds the lock."""
    line = proc.stdout.readline()
    assert line.strip() == "holding", (line, proc.stderr.read() if proc.poll() is not None else "")


def test_two_writers_started_at_once_both_write_one_after_the_other(tmp_path):
    data = tmp_path / "data"
    first, second = _writer(data, "sfe ingest", 1.5), _writer(data, "sfe build", 1.5)
    intervals = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        intervals.append(json.loads(out.splitlines()[-1]))
    intervals.sort(key=lambda i: i["start"])
    assert intervals[0]["end"] <= intervals[1]["start"]  # no overlap: one waited for the other
    con = duckdb.connect(str(data / "warehouse" / "working.duckdb"), read_only=True)
    turns = sorted(c for (c,) in con.execute("select command from audit.turns").fetchall())
    con.close()
    assert turns == ["sfe build", "sfe ingest"]


def test_a_writer_waiting_past_lock_wait_s_fails_naming_the_holder(tmp_path):
    data = tmp_path / "data"
    with holding_lock(data, "dag:sfe_warehouse") as pid:
        settings = load_settings(env={"SFE_LOCK_WAIT_S": "0.6"}, data_dir=data)
        start = time.monotonic()
        with pytest.raises(WarehouseBusy) as caught:
            with writer_lock(settings, "sfe publish"):
                pytest.fail("the lock was granted while another process held it")
        waited = time.monotonic() - start
    message = str(caught.value)
    assert f"'dag:sfe_warehouse' (pid {pid}," in message
    assert "'sfe publish' waited 0.6 s (lock_wait_s)" in message
    assert "SFE_LOCK_WAIT_S" in message
    assert 0.6 <= waited < 10  # it waited its time, not the holder's


def test_sfe_ingest_waiting_past_lock_wait_s_exits_1_naming_the_holder(tmp_path):
    data, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir()
    with holding_lock(data, "sfe run") as pid:
        done = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", str(inbox),
                               "--data-dir", str(data)],
                              env={**_env(), "SFE_LOCK_WAIT_S": "1"}, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sfe ingest: the working warehouse ")
    assert f"is being written by 'sfe run' (pid {pid}," in last
    assert "waiting for 'sfe run'" in done.stderr  # it said it was waiting before giving up
    assert "Traceback" not in done.stderr


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    data = tmp_path / "data"
    holder = _writer(data, "sfe build", 30)
    _holding(holder)
    holder.send_signal(signal.SIGKILL)  # no clean-up runs: the system drops the lock
    holder.communicate()
    settings = load_settings(env={"SFE_LOCK_WAIT_S": "0"}, data_dir=data)
    with writer_lock(settings, "sfe ingest"):
        holder_now = json.loads(writer_lock_file(settings).read_text())
        assert (holder_now["pid"], holder_now["command"]) == (os.getpid(), "sfe ingest")
    assert writer_lock_file(settings).read_text() == ""  # free: names no holder


def test_lock_wait_s_comes_from_the_file_and_environment_and_must_not_be_negative(tmp_path):
    cfg = tmp_path / "sfe.toml"
    cfg.write_text("lock_wait_s = 45\n", encoding="utf-8")
    assert load_settings(cfg, env={}).lock_wait_s == 45.0
    assert load_settings(cfg, env={"SFE_LOCK_WAIT_S": "7.5"}).lock_wait_s == 7.5
    assert load_settings(env={}).lock_wait_s == 300.0
    negative = load_settings(env={"SFE_LOCK_WAIT_S": "-1"}, data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="lock_wait_s = -1.0 must be 0 or more"):
        with writer_lock(negative, "sfe run"):
            pass
