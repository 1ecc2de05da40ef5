"""SIGTERM / SIGINT stop `sfe` cleanly, children included; a second signal stops it at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sfe.signals import StopHandler, Stopped, descendants

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _start_serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFE_")}
    proc = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "serve", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"sfe serve did not come up: {proc.communicate()}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_sfe_serve_alone_leaves_no_process_on_the_port(tmp_path, sig):
    port = _free_port()
    proc = _start_serve(tmp_path, port)
    children = descendants(proc.pid)
    assert children, "streamlit should run as a child of sfe serve"
    os.kill(proc.pid, sig)  # to the sfe process only, as a scheduler or `kill` does
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err  # stopping is how a dashboard server ends
    assert "dashboards stopped" in out
    assert not _listening(port)
    assert not [pid for pid in children if _alive(pid)]


def test_first_signal_raises_stopped_second_kills_children_and_exits(tmp_path):
    # a child sfe-like process that ignores the first signal's clean-up by sleeping in finally
    script = (
        "import subprocess, sys, time\n"
        "from sfe.signals import StopHandler\n"
        "StopHandler().install()\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "try:\n"
        "    print(child.pid, flush=True)\n"
        "    time.sleep(300)\n"
        "except KeyboardInterrupt as exc:\n"
        "    print('stopping', type(exc).__name__, flush=True)\n"
        "    time.sleep(300)  # a slow clean-up: only a second signal ends it\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.stdout.readline().split() == ["stopping", "Stopped"]
    assert _alive(child)
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM and time.monotonic() - started < 5
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def test_handlers_are_restored_and_stopped_names_its_signal():
    before = signal.getsignal(signal.SIGTERM)
    handler = StopHandler()
    previous = handler.install()
    with pytest.raises(Stopped, match="SIGTERM") as caught:
        handler.handle(signal.SIGTERM, None)
    assert caught.value.signum == signal.SIGTERM and isinstance(caught.value, KeyboardInterrupt)
    handler.restore(previous)
    assert signal.getsignal(signal.SIGTERM) is before


def test_descendants_walks_the_process_tree(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c",
                             "import subprocess, sys; subprocess.run([sys.executable, '-c', "
                             "'import time; time.sleep(30)'])"])
    try:
        for _ in range(50):
            found = descendants(os.getpid())
            below = descendants(proc.pid)
            if below:
                break
            time.sleep(0.1)
        assert proc.pid in found and below and set(below) <= set(found)
    finally:
        for pid in [*descendants(proc.pid), proc.pid]:
            os.kill(pid, signal.SIGKILL)
        proc.wait()



# Runs in its own process: the signal handler needs the main thread, which a pytest-xdist worker
# does not give its tests. The query is bounded, so a missed signal fails instead of hanging.
# One DuckDB thread: DuckDB runs the Python signal handler (PyErr_CheckSignals) in the calling
# thread between the pieces of work that thread executes itself. range() is one task; with worker
# threads it is often a worker that takes it, and the calling thread then waits for the task to
# end (the whole 30e9-row scan: 50 s to minutes on a busy machine) before it sees the signal.
INTERRUPTED_QUERY = """
import os, signal, sys, threading
import duckdb
from orchestration import cli
from sfe.signals import StopHandler, is_interrupt

def interrupted_query():
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    duckdb.connect(config={"threads": 1}).execute(
        "select count(*) from range(30000000000) t(i) where i % 7 = 3").fetchall()

class Report:  # what a step that caught the error as a failure returns
    exit_code = 1
    def summary(self):
        return "ingest failed: Query interrupted"

def escapes(settings, args, console):  # as in registry.known_path: the error propagates
    interrupted_query()

def swallowed(settings, args, console):  # as in a run step recording a failure
    try:
        interrupted_query()
    except RuntimeError as exc:
        assert is_interrupt(exc), exc
        return Report()

cli.check_paths = lambda *a, **k: None
cli.COMMANDS["status"] = {"escapes": escapes, "swallowed": swallowed}[sys.argv[1]]
sys.exit(cli.main(["status"]))
"""


@pytest.mark.parametrize("case", ["escapes", "swallowed"])
def test_a_signal_duckdb_turned_into_query_interrupted_still_stops_the_command(tmp_path, case):
    """DuckDB swallows the handler's exception and raises RuntimeError('Query interrupted'):
    the command must still stop as stopped (128 + signal), not with a traceback or exit 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFE_")}
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_QUERY, case], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "stopped (SIGTERM); the warehouse keeps its last good state" in done.stderr
