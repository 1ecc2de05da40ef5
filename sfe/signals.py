"""SIGTERM and SIGINT stop an `sfe` command cleanly; a second one stops it at once.

Schedulers and service managers stop a process with SIGTERM, people with Ctrl-C (SIGINT). The
first signal raises `Stopped` (a KeyboardInterrupt) in the main thread, so every `finally` runs:
child processes (the Streamlit server, Airflow standalone) are terminated, DuckDB rolls back the
open transaction, and the published snapshot stays the last good one. A second signal while that
clean-up is under way kills every child process and exits immediately.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def is_interrupt(exc: BaseException) -> bool:
    """A stop signal, also when it landed inside a DuckDB query: DuckDB swallows the handler's
    KeyboardInterrupt and raises RuntimeError('Query interrupted') in its place."""
    return isinstance(exc, KeyboardInterrupt) or (
        isinstance(exc, RuntimeError) and str(exc).strip() == "Query interrupted")


def stop_signal(exc: BaseException | None = None) -> int | None:
    """The stop signal that stopped this process's work, or None: from a `Stopped`, else from
    the installed StopHandler (DuckDB turned its exception into 'Query interrupted', or a
    library caught it); an interrupt without a handler is Ctrl-C (SIGINT)."""
    if isinstance(exc, Stopped):
        return exc.signum
    for sig in STOP_SIGNALS:
        owner = getattr(signal.getsignal(sig), "__self__", None)
        if isinstance(owner, StopHandler) and owner.signum is not None:
            return owner.signum
    if exc is not None and is_interrupt(exc):
        return signal.SIGINT
    return None


def descendants(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Every process below `pid` (children first), read from /proc; [] where there is none."""
    parents: dict[int, list[int]] = {}
    for entry in proc.glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:  # the process ended while we looked
            continue
        # the command name (2nd field) may hold spaces and parentheses: split after the last ')'
        fields = text[text.rindex(")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants(pid: int) -> None:
    for child in descendants(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


class StopHandler:
    """Installed by `sfe` main(); counts the stop signals it has received."""

    def __init__(self) -> None:
        self.received = 0
        self.signum: int | None = None  # the first stop signal

    def install(self) -> dict[int, object]:
        """Handle the stop signals; returns the handlers it replaced (for `restore`). Only the
        main thread may set handlers: elsewhere (a caller's thread) leave them as they are."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {sig: signal.signal(sig, self.handle) for sig in STOP_SIGNALS}

    @staticmethod
    def restore(previous: dict[int, object]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received += 1
        if self.received == 1:
            self.signum = signum
            raise Stopped(signum)
        kill_descendants(os.getpid())  # the second signal: nothing waits any longer
        os._exit(128 + signum)
