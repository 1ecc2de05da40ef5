"""`sfe status`: where the warehouse is, what the last run did, what is published."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from quality.published import published_status
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_OK
from sfe.warehouse import WarehouseBusy, connect, table_exists


@dataclass
class StatusReport:
    data: dict[str, Any] = field(default_factory=dict)
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def summary(self) -> str:
        d = self.data
        lines = [f"working_db:   {d['working_db']}", f"published_db: {d['published_db']}"]
        run = d.get("last_run")
        if run:
            lines.append(f"last run:     {run['run_id']} ({run['command']}) {run['status']}, "
                         f"gates {run['gate_status']}, finished {_when(run['finished_at'])} "
                         "(server time)")
        else:
            lines.append("last run:     none yet (run 'sfe run' or 'sfe demo')")
        lines.append(f"gate status:  {d['gate_status']}")
        lines += _published_lines(d.get("published") or {})
        if d.get("working_db_note"):
            lines.append(f"note:         {d['working_db_note']}")
        for source, counts in sorted(d.get("files_by_source", {}).items()):
            lines.append(f"  {source:<12} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return "\n".join(lines)


def _when(value: Any) -> str:
    """A timestamp to the second ('2026-11-23 16:46:09'), whatever type it arrived as."""
    return str(value).replace("T", " ")[:19] if value else "?"


def _published_lines(pub: dict[str, Any]) -> list[str]:
    """What readers see: the snapshot, how fresh its data is, and whether it is the latest."""
    if not pub.get("published"):
        reason = pub.get("reason") or "nothing has been published yet"
        return [f"published:    nothing — {reason}"]
    lines = [f"published:    snapshot {pub.get('snapshot_id')}, data as of "
             f"{pub.get('as_of_date') or '?'}, published {_when(pub.get('published_at'))} UTC "
             f"(gate run {pub.get('run_id')})"]
    status = pub.get("data_status") or "?"
    if pub.get("reason"):
        status += f" — the dashboards show this last good snapshot because: {pub['reason']}"
    lines.append(f"data status:  {status}")
    return lines




def _working_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    facts: dict[str, Any] = {"last_run": None, "files_by_source": {}}
    if table_exists(con, "audit", "runs"):
        row = con.execute("""select run_id, command, status, gate_status, published_snapshot,
                                    started_at, finished_at, steps
                             from audit.runs order by started_at desc limit 1""").fetchone()
        if row:
            keys = ["run_id", "command", "status", "gate_status", "published_snapshot",
                    "started_at", "finished_at", "steps"]
            run = dict(zip(keys, row))
            run["steps"] = [{"name": s["name"], "status": s["status"], "seconds": s["seconds"]}
                            for s in json.loads(run["steps"] or "[]")]
            facts["last_run"] = run
    if table_exists(con, "audit", "file_registry"):
        for source, status, n in con.execute(
                "select source, status, count(*) from audit.file_registry group by all").fetchall():
            facts["files_by_source"].setdefault(source, {})[status] = n
    return facts


def status(settings: Settings) -> StatusReport:
    data: dict[str, Any] = {"working_db": str(settings.working_db),
                            "published_db": str(settings.published_db),
                            # where dbt builds; what is published is a DuckDB file either way
                            "engine": settings.engine,
                            "inbox": str(settings.inbox),
                            "last_run": None, "files_by_source": {}}
    if settings.working_db.exists():
        try:
            with connect(settings, read_only=True, attempts=1) as con:
                data.update(_working_facts(con))
        except WarehouseBusy:
            data["working_db_note"] = "a load or build is running; figures are from the published snapshot"
    published = published_status(settings)
    data["published"] = published
    run = data.get("last_run")
    data["gate_status"] = (run or {}).get("gate_status") or published.get("gate_status") or "not_run"
    return StatusReport(data)


def status_command(settings: Settings, args: argparse.Namespace, console: Console) -> StatusReport:
    return status(settings)
