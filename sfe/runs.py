"""`audit.runs`: one row per `sfe run`/`demo`, with each step's status, duration and counts."""

from __future__ import annotations

import json
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sfe.config import ConfigError, Settings
from sfe.report import EXIT_OK, StageReport, UsageError
from sfe.signals import Stopped, stop_signal
from sfe.warehouse import connect

# errors a retry cannot fix: a setting, a usage mistake (e.g. no warehouse yet), a missing stage
PERMANENT_ERRORS: tuple[type[Exception], ...] = (ConfigError, UsageError)

RUNS_DDL = """
create table if not exists audit.runs (
    run_id varchar primary key,
    command varchar,
    started_at timestamp,
    finished_at timestamp,
    status varchar,            -- ok | needs_attention | failed | stopped (by a signal)
    steps json,
    gate_status varchar,       -- passed | failed | not_run
    published_snapshot varchar
)
"""


def new_run_id(prefix: str = "run") -> str:
    """The one id generator: `sfe run` makes one id and hands it to every step (ingest, build,
    check, publish); a command run on its own makes its own, prefixed by what it is."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class StepResult:
    name: str
    status: str  # ok | needs_attention | failed | stopped
    seconds: float
    exit_code: int
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    permanent: bool = False  # the step raised an error a retry cannot fix (PERMANENT_ERRORS)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 2),
                "exit_code": self.exit_code, "error": self.error, "detail": self.detail}


@dataclass
class RunRecord:
    run_id: str
    command: str
    started_at: datetime = field(default_factory=datetime.now)
    finished_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        if any(s.status == "stopped" for s in self.steps):
            return "stopped"
        if any(s.status == "failed" for s in self.steps):
            return "failed"
        if any(s.status == "needs_attention" for s in self.steps):
            return "needs_attention"
        return "ok"

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    def run_step(self, name: str, func: Callable[[], StageReport]) -> StageReport | None:
        """Run one stage, timing it; an exception becomes a failed step with its message.
        A stop signal becomes a stopped step, and `Stopped` goes on up: the caller records
        the run and the command ends as stopped."""
        start = time.perf_counter()
        try:
            report = func()
        except BaseException as exc:
            signum = stop_signal(exc)
            if signum is not None:
                self._stopped(name, start, signum)
                raise Stopped(signum) from exc
            if not isinstance(exc, Exception):
                raise
            self.steps.append(StepResult(name, "failed", time.perf_counter() - start, 1,
                                         error=f"{type(exc).__name__}: {exc}",
                                         permanent=isinstance(exc, PERMANENT_ERRORS)))
            return None
        signum = stop_signal()
        if signum is not None:  # the stage caught the signal and returned (dbt does)
            self._stopped(name, start, signum)
            raise Stopped(signum)
        status = "ok" if report.exit_code == EXIT_OK else "needs_attention"
        self.steps.append(StepResult(name, status, time.perf_counter() - start,
                                     report.exit_code, detail=report.to_dict()))
        return report

    def _stopped(self, name: str, start: float, signum: int) -> None:
        self.steps.append(StepResult(name, "stopped", time.perf_counter() - start, 128 + signum,
                                     error=f"stopped by {signal.Signals(signum).name}",
                                     detail={"signal": signal.Signals(signum).name}))


def record_run(settings: Settings, run: RunRecord, gate_status: str,
               published_snapshot: str | None) -> None:
    """Write the run to `audit.runs` (replacing a row of the same id: idempotent)."""
    run.finished_at = run.finished_at or datetime.now()
    steps = json.dumps([s.to_dict() for s in run.steps], ensure_ascii=False, default=str)
    with connect(settings) as con:
        con.execute(RUNS_DDL)
        con.execute("delete from audit.runs where run_id = ?", [run.run_id])
        con.execute("insert into audit.runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run.run_id, run.command, run.started_at, run.finished_at, run.status,
                     steps, gate_status, published_snapshot])

