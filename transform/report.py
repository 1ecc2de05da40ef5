"""What a dbt run reports: per-status counts of models and tests, the failures, timings.

`BuildReport` is what `sfe build` (transform/build.py) returns; the dbt runner
(transform/dbt_runner.py) fills it from dbt's results and the progress callback
(transform/progress.py) uses the same notion of a failed node (`FAILED_STATUSES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK

# dbt node statuses that count as a failure (models, seeds, tests alike)
FAILED_STATUSES = {"error", "fail", "runtime error"}


@dataclass
class BuildFailure:
    name: str
    resource_type: str
    status: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "resource_type": self.resource_type, "status": self.status,
                "message": self.message}


@dataclass
class BuildReport:
    models: dict[str, int] = field(default_factory=dict)   # status -> count (models and seeds)
    tests: dict[str, int] = field(default_factory=dict)    # status -> count (data + unit tests)
    unit_tests: dict[str, int] = field(default_factory=dict)  # status -> count (unit tests alone)
    failures: list[BuildFailure] = field(default_factory=list)
    seconds: float = 0.0
    dbt_seconds: float = 0.0
    matching: dict[str, Any] | None = None
    log_path: str = ""
    error: str | None = None
    rebuilt_all_months: bool | None = None
    up_to_date: bool = False  # nothing changed since the last successful build: dbt not run
    kpi_changed_months: list[str] | None = None  # months of changed files; None: all rebuilt
    invocation_id: str | None = None  # dbt's, recorded in audit.dbt_builds (sfe/builds.py)
    build_id: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_NEEDS_ATTENTION if (self.failures or self.error) else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.exit_code == EXIT_OK else "failed",
                "models": self.models, "tests": self.tests, "unit_tests": self.unit_tests,
                "failures": [f.to_dict() for f in self.failures],
                "seconds": round(self.seconds, 2), "dbt_seconds": round(self.dbt_seconds, 2),
                "matching": self.matching, "rebuilt_all_months": self.rebuilt_all_months,
                "kpi_changed_months": self.kpi_changed_months,
                "up_to_date": self.up_to_date, "log_path": self.log_path, "error": self.error,
                "build_id": self.build_id, "invocation_id": self.invocation_id}

    def summary(self) -> str:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"

        if self.up_to_date:
            return (f"build up to date in {self.seconds:.1f}s: no new files, matches, master data, "
                    "settings or dbt project changes since the last successful build, so dbt did "
                    "not run (its tables and test results stand); 'sfe build --force' rebuilds")
        lines = [f"build {'ok' if self.exit_code == EXIT_OK else 'FAILED'} in {self.seconds:.1f}s "
                 f"(dbt {self.dbt_seconds:.1f}s)",
                 f"  models/seeds: {fmt(self.models)}",
                 f"  tests:        {fmt(self.tests)}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        for f in self.failures[:20]:
            lines.append(f"  {f.status.upper():<6} {f.resource_type} {f.name}: {f.message}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more; see {self.log_path}")
        if self.exit_code != EXIT_OK and self.log_path:
            lines.append(f"  dbt log: {self.log_path}")
        return "\n".join(lines)

