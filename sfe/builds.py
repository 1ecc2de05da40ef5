"""`audit.dbt_builds`: one row per dbt invocation of `sfe build`, naming the run_results.json it
wrote (an absolute path) and dbt's invocation_id, which that file carries in its metadata.

The dbt_tests gate (quality/checks.py) reads the latest row from the warehouse it checks and
accepts only a results file with that invocation_id: results missing, or left by another
build, block publishing instead of being skipped or read in this build's place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

DBT_BUILDS_DDL = """
create table if not exists audit.dbt_builds (
    build_id varchar primary key,
    finished_at timestamp,       -- UTC
    command varchar,             -- 'build' (a selection is in `selected`)
    selected varchar,
    invocation_id varchar,       -- dbt's; run_results.json metadata.invocation_id must match
    run_results_path varchar,    -- absolute
    status varchar,              -- ok | failed | error (dbt could not run)
    error varchar
)
"""


@dataclass
class BuildRecord:
    build_id: str
    invocation_id: str | None
    run_results_path: str
    status: str
    selected: str | None = None
    error: str | None = None


def record_build(con: duckdb.DuckDBPyConnection, record: BuildRecord) -> None:
    con.execute("create schema if not exists audit")
    con.execute(DBT_BUILDS_DDL)
    con.execute("insert into audit.dbt_builds values (?, ?, 'build', ?, ?, ?, ?, ?)",
                [record.build_id, dt.datetime.now(dt.UTC).replace(tzinfo=None), record.selected,
                 record.invocation_id, record.run_results_path, record.status, record.error])


def latest_build(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The last dbt build recorded in this warehouse (None when none, or an older warehouse)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'audit' and table_name = 'dbt_builds'").fetchone()[0]
    if not exists:
        return None
    cur = con.execute("select * from audit.dbt_builds order by finished_at desc, build_id desc "
                      "limit 1")
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None
