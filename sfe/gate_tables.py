"""The audit tables of gate runs and of the publish stamp, which quality writes and dbt reads.

Their DDL lives in the floor package, beside `audit.runs` (sfe/runs.py) and `audit.dbt_builds`
(sfe/builds.py): dbt's views `marts.scorecard_weekly` (data_status) and
`marts.data_quality_results` read them, so the dbt runner (transform/) creates them before a
build and the gates (quality/) before a check, without either stage importing the other.
"""

from __future__ import annotations

import duckdb

GATE_RUNS_DDL = """
create table if not exists audit.gate_runs (
    run_id varchar primary key,
    started_at timestamp,
    finished_at timestamp,
    status varchar,              -- passed | failed (a blocking check failed or could not run)
    checks integer,
    blocking_failures integer,
    warnings integer,
    errors integer,
    as_of_month varchar,
    fingerprint varchar,         -- of the data checked; publish refuses if it changed since
    report_path varchar
)
"""

# added after the first release: old warehouses get them on the next check
GATE_RUNS_COLUMNS = {
    "candidate_id": "varchar",   # the frozen copy the gates ran on (quality/candidate.py)
    "candidate_sha": "varchar",  # its sha256 once checked; publish refuses any other bytes
    "rules_digest": "varchar",   # the gates and thresholds it ran with (quality/definitions.py)
}

GATE_RESULTS_DDL = """
create table if not exists audit.gate_results (
    run_id varchar,
    check_name varchar,
    severity varchar,            -- blocking | warning
    status varchar,              -- pass | fail | error | skipped
    failing_rows bigint,
    message varchar,
    sample json,                 -- up to 10 failing rows
    checked_at timestamp,
    check_type varchar,          -- sql | bounds | gx | dbt_tests
    description varchar,
    seconds double
)
"""

# the publish stamp: empty in the working warehouse, one row inside a published snapshot
# (quality/publish.py writes it); dbt's views (marts.scorecard_weekly.data_status,
# marts.data_quality_results) read it, so it exists wherever dbt builds
PUBLISH_INFO_DDL = """
create table if not exists audit.publish_info (
    snapshot_id varchar,
    published_at timestamp,
    run_id varchar,              -- the gate run whose candidate this snapshot is
    gate_status varchar,         -- passed
    as_of_date varchar,
    as_of_month varchar,
    warnings integer,
    source_db varchar
)
"""

PUBLISH_LOG_DDL = """
create table if not exists audit.publish_log (
    attempted_at timestamp,
    run_id varchar,              -- the gate run the attempt relied on (NULL when none)
    outcome varchar,             -- published | refused | failed
    snapshot_id varchar,         -- the new snapshot when published, else the one kept
    reason varchar,
    seconds double
)
"""

def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(GATE_RUNS_DDL)
    for column, kind in GATE_RUNS_COLUMNS.items():
        con.execute(f"alter table audit.gate_runs add column if not exists {column} {kind}")
    con.execute(GATE_RESULTS_DDL)
    con.execute(PUBLISH_LOG_DDL)
    con.execute(PUBLISH_INFO_DDL)
