"""`sfe build`: customer/product matching, then the dbt stage (transform/build.py).

Two stages, called in order here so neither imports the other: matching writes `matching.*`,
which dbt's staging models read. `sfe run` and the warehouse DAG call `build_step` too.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from matching.pipeline import run_matching
from sfe.config import Settings
from sfe.console import Console
from transform.build import BuildReport, build, require_warehouse
from transform.dbt_runner import import_dbt_meanwhile
from transform.parse_ahead import ParseAhead


def build_step(settings: Settings, select: Sequence[str] | None = None,
               console: Console | None = None, force: bool = False,
               run_id: str | None = None, raw_unchanged: bool = False,
               parsed_ahead: ParseAhead | None = None, record_raw: bool = True) -> BuildReport:
    """Match customers and products, then `dbt build` (skipped by dbt's stage when matching
    failed); the BuildReport carries the matching report. `raw_unchanged`: `sfe run` proved
    the raw rows unchanged since its last run (matching/inputs.py), and passes `record_raw`
    False (its next run will prove them so); `parsed_ahead`: the dbt parse `sfe run` started
    while files loaded (transform/parse_ahead.py)."""
    console = console or Console(quiet=True)
    require_warehouse(settings)
    if settings.engine == "duckdb" and not raw_unchanged:  # unchanged: dbt most likely skipped
        import_dbt_meanwhile()
    console.step("matching customers and products")
    matching = run_matching(settings, console=console, run_id=run_id,
                            raw_unchanged=raw_unchanged, force=force,
                            record_raw=record_raw).to_dict()
    return build(settings, select, console, force, matching=matching, run_id=run_id,
                 parsed_ahead=parsed_ahead)


def build_command(settings: Settings, args: argparse.Namespace, console: Console) -> BuildReport:
    select = getattr(args, "select", None) or None
    return build_step(settings, select=select, console=console, force=getattr(args, "force", False))
