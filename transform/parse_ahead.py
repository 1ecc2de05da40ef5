"""dbt parses the project while `sfe run` loads files: a `dbt parse` child, started before
ingest, so the build's dbt starts from a fresh partial parse instead of a full one. Needed only
where the installation has no parse of this code yet (transform/shared_parse.py): a first run
of new code, or of a new installation.

A full parse costs the build ~4 s of one core (79 models, 246 data tests, 52 unit tests); it
happens on a new data dir and after the project, the vars or the engine changed. Ingest leaves
part of the machine idle (its reader workers and the parent wait on each other), so the child
runs there at the lowest priority (SCHED_IDLE: only a core nothing else wants; at 10 M rows
it added ~1 s to the ingest and took ~4 s off the build). Same command line and environment as
the build (`dbt_args`, `dbt_env`), so dbt's hashes of vars and profile match the build's and
the build's dbt reads the child's parse.

Kill-safe: the child writes into a folder of its own under the data dir; its
`partial_parse.msgpack` replaces the target's (one rename) only after it exited 0 and only when
the build takes it. A child that fails, is slow or is stopped costs nothing but its CPU: the
build's dbt parses as it would have. A child outliving a killed run writes only into its own
folder, which the next run removes first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sfe.config import PROJECT_ROOT, Settings
from sfe.console import Console
from transform.shared_parse import PARTIAL_PARSE, target_parse

WAIT_S = 120.0  # the most the build waits for an unfinished parse before parsing itself


def parse_ahead_dir(settings: Settings) -> Path:
    return settings.dbt_target_dir / "parse_ahead"


def needs_full_parse(settings: Settings) -> bool:
    """dbt would parse the whole project in this data dir's next build: no partial parse yet,
    or the project, vars or engine differ from the last successful build's (transform/
    build_state.py). Other causes (a dbt upgrade) go unseen: the build parses as before."""
    from transform.build_state import built_on, code_state

    return not target_parse(settings).is_file() or \
        not built_on(settings, code_state(settings))


@dataclass
class ParseAhead:
    """A running `dbt parse` child and the folder it writes."""

    process: subprocess.Popen[bytes]
    folder: Path

    def take(self, settings: Settings, console: Console, wait_s: float = WAIT_S) -> bool:
        """Before the build's dbt: wait for the child (it has the cores to itself now), then
        move its parse into the target. False, and said, when there is none to take."""
        try:
            code = self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.stop()
            console.warn(f"dbt's parse ahead took over {wait_s:.0f} s; stopped, dbt parses now")
            return False
        parsed = self.folder / "target" / PARTIAL_PARSE
        if code != 0 or not parsed.is_file():
            console.warn(f"dbt's parse ahead failed (exit {code}; its log: "
                         f"{self.folder / 'logs' / 'dbt.log'}); dbt parses now")
            return False
        target = target_parse(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(parsed, target)
        shutil.rmtree(self.folder, ignore_errors=True)
        console.step("dbt project parsed while files loaded: dbt reads that parse")
        return True

    def stop(self) -> None:
        """End the child if it still runs (the run stopped, or the build was not needed) and
        remove what it wrote; a failed child's folder stays, for its log, until the next
        run's child."""
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child ends
                pass
        elif self.process.returncode != 0:
            return
        shutil.rmtree(self.folder, ignore_errors=True)


def start_parse_ahead(settings: Settings, console: Console | None = None) -> ParseAhead | None:
    """The child, when the next build would parse the whole project on DuckDB and the
    installation has no parse of this code to start from (on the Spark target, whose end-to-end
    run is opt-in, it was not tried: not parsed ahead); else None, also when it cannot start
    (said: the build then parses as before)."""
    from transform import shared_parse
    from transform.build_state import code_state

    if settings.engine != "duckdb" or not needs_full_parse(settings) or \
            shared_parse.take(settings, code_state(settings)):
        return None
    from transform.dbt_runner import dbt_args, dbt_env

    folder = parse_ahead_dir(settings).resolve()
    args = dbt_args(settings, "parse")
    # its own target and logs: the build's are not touched until the parse is taken
    args[args.index("--target-path") + 1] = str(folder / "target")
    args[args.index("--log-path") + 1] = str(folder / "logs")
    args.append("--no-write-json")  # only partial_parse.msgpack is taken, not manifest.json
    # in the warehouse folder, as the build's dbt (dbt_runner._in_dir): the same profile hash
    env = {**os.environ, **dbt_env(settings), "PYTHONPATH": str(PROJECT_ROOT),
           "DBT_TARGET_PATH": str(folder / "target"), "DBT_LOG_PATH": str(folder / "logs")}
    try:
        shutil.rmtree(folder, ignore_errors=True)  # a killed run's leftovers
        folder.mkdir(parents=True, exist_ok=True)
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)  # the child's directory
        process = subprocess.Popen([sys.executable, "-m", "transform.parse_ahead", *args],
                                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL,
                                   cwd=str(settings.warehouse_dir.resolve()))
    except OSError as exc:
        if console is not None:
            console.warn(f"dbt's parse ahead could not start ({exc}); the build parses itself")
        return None
    return ParseAhead(process, folder)


def _die_with_parent() -> bool:
    """Linux: the kernel ends this child when the run's process dies, even by SIGKILL.
    False when the run is gone already."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the next run removes what it left
        pass
    return os.getppid() != 1


def _lowest_priority() -> None:
    """Linux: SCHED_IDLE, a core only when no other process wants it, so the ingest it runs
    beside is not slowed; elsewhere nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        if hasattr(os, "nice"):
            os.nice(19)


def main(argv: list[str]) -> int:
    if not _die_with_parent():
        return 1
    _lowest_priority()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(argv)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
