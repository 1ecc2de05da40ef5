"""Data quality page: gate results, the per-run trend and the publish history (system-level data:
users who see every territory only)."""

from __future__ import annotations

import pandas as pd

from dashboards.access import scope_clause
from dashboards.connection import get_settings, run, tables
from dashboards.status import blocks_publish, gate_rows, is_failed
from sfe.config import Settings


def gate_results(settings: Settings | None = None, run_id: str | None = None) -> pd.DataFrame:
    """audit.gate_results of one run (all runs when None); system-level, unrestricted users only."""
    settings = settings or get_settings()
    where, params = scope_clause("check_name", kind="global", settings=settings)
    return gate_rows(settings, run_id, where, params)


def gate_trend(settings: Settings | None = None) -> pd.DataFrame:
    """Per run: how many checks ran and how many failed (blocking or warning)."""
    df = gate_results(settings)
    if df.empty:
        return pd.DataFrame(columns=["run_id", "checked_at", "checks", "failed", "blocking_failed"])
    df = df.assign(failed=df["status"].map(is_failed),
                   blocking_failed=[blocks_publish(sev, stat)
                                    for sev, stat in zip(df["severity"], df["status"], strict=True)])
    out = df.groupby("run_id", dropna=False).agg(
        checked_at=("checked_at", "max"), checks=("check_name", "count"),
        failed=("failed", "sum"), blocking_failed=("blocking_failed", "sum")).reset_index()
    return out.sort_values("checked_at")


def publish_history(settings: Settings | None = None) -> pd.DataFrame:
    settings = settings or get_settings()
    if "audit.publish_info" not in tables(settings):
        return pd.DataFrame(columns=["snapshot_id", "published_at", "run_id", "gate_status",
                                     "as_of_month"])
    where, params = scope_clause("run_id", kind="global", settings=settings)
    return run(f"select * from audit.publish_info where {where} "
               "order by published_at desc nulls last", params, settings=settings)
