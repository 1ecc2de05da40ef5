"""dbt's progress on the console: a dbt event callback that counts finished nodes and says
how far dbt is (every tenth of the nodes) and which node failed, on stderr, so stdout stays
free for `--json`."""

from __future__ import annotations

from typing import Any

from sfe.console import Console
from transform.report import FAILED_STATUSES


class Progress:
    """dbt event callback: counts finished nodes and reports progress and failures on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0
        self.failed = 0
        self._next_report = 0.0

    def __call__(self, event: Any) -> None:
        name = event.info.name
        data = event.data
        if name == "LogStartLine" and getattr(data, "total", 0):
            self.total = max(self.total, int(data.total))
        elif name == "NodeFinished":
            self._node_finished(data.node_info)

    def _node_finished(self, info: Any) -> None:
        self.done += 1
        status = (info.node_status or "").lower()
        if status in FAILED_STATUSES:
            self.failed += 1
            self.console.info(f"    {status}: {info.node_name}")
        share = self.done / self.total if self.total else 0.0
        if share >= self._next_report or self.done == self.total:
            self._next_report = share + 0.1
            self.console.info(f"    dbt: {self.done}/{self.total or '?'} nodes done"
                              f", {self.failed} failed")
