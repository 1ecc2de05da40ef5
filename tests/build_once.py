"""A heavy fixture built once per test run, also when pytest-xdist runs it in several workers.

A session-scoped fixture is per process: under `-n 2` each worker builds its own. `build_once`
builds it in a directory every worker of the run shares (the parent of the worker's basetemp),
under a file lock: the first worker builds it, the others wait and read the pickled result.
Each build appends a line to `builds.log` in that directory, so a run can show it built once.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
RESULT = "result.pickle"
LOG = "builds.log"


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temp dir: the same in every xdist worker of the run (and the controller's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """`<run's temp dir>/once-<name>`."""
    return run_dir(tmp_path_factory) / f"once-{name}"


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], T]) -> T:
    """`build(directory)` run once per test run; its (picklable) result for every worker."""
    return once_in(shared_dir(tmp_path_factory, name), build)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, also on a crash
        yield


def once_in(root: Path, build: Callable[[Path], T]) -> T:
    """The result of `build(root / "build")` (an empty directory), computed by the first caller
    holding the lock. A build that raises leaves no result: the next caller starts afresh."""
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        done = root / RESULT
        if done.exists():
            return pickle.loads(done.read_bytes())
        directory = root / "build"
        shutil.rmtree(directory, ignore_errors=True)  # what a failed attempt left
        directory.mkdir()
        value = build(directory)
        with (root / LOG).open("a", encoding="utf-8") as log:
            log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} pid {os.getpid()}\n")
        done.write_bytes(pickle.dumps(value))
        return value
