"""Peak memory of a process tree, sampled: the process, its reader worker and any other child.

`ru_maxrss` is one process's peak; a run's memory is the sum over its tree at one moment, so a
sampler thread adds up RSS of the tree every `interval` seconds and keeps the (time, MB) trace.

    python bench/tree_rss.py --out trace.json -- <command ...>   # run a command, trace its tree
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import psutil


class TreeSampler:
    """Samples the RSS sum of `pid` and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.trace: list[tuple[float, float]] = []  # (time.time(), MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            mb = tree_rss_mb(self.pid)
            if mb is not None:
                self.trace.append((time.time(), mb))
            self._stop.wait(self.interval)

    def peak_mb(self, start: float = 0.0, end: float = float("inf")) -> float:
        """Highest sampled sum between two time.time() stamps (0 when none was taken)."""
        return max((mb for t, mb in self.trace if start <= t <= end), default=0.0)


def tree_rss_mb(pid: int) -> float | None:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue  # a worker that just ended
    return total / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.time()
    proc = subprocess.Popen(command)
    with TreeSampler(proc.pid, 0.5) as sampler:
        status = proc.wait()
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"command": command, "status": status, "seconds": time.time() - started,
                   "peak_tree_mb": sampler.peak_mb(), "trace": sampler.trace}, fh)
    print(f"exit {status}; peak tree RSS {sampler.peak_mb():,.0f} MB", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
