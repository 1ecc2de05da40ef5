"""`dbt docs generate` on the working warehouse, from Python."""

from __future__ import annotations

from pathlib import Path

from sfe.config import Settings
from sfe.console import Console
from transform.dbt_runner import run_dbt
from transform.report import BuildReport


def generate_docs(settings: Settings, console: Console | None = None) -> Path:
    """`dbt docs generate` on the working warehouse; returns the folder holding index.html.

    Open it with `uv run dbt docs serve --project-dir . --profiles-dir . --target-path <that
    folder>` or any static file server.
    """
    console = console or Console(quiet=True)
    report = BuildReport()
    console.step("dbt docs generate")
    run_dbt(settings, "docs generate", None, console, report)
    if report.error or report.failures:
        raise RuntimeError(report.error or report.failures[0].message)
    return settings.dbt_target_dir / "target"
