"""Gate results in the working warehouse: writing and reading `audit.gate_runs`,
`audit.gate_results` (their DDL is in sfe/gate_tables.py, as dbt reads them too), and the
fingerprint that tells `sfe publish` whether the warehouse changed after it was checked.

A gate run also names the candidate snapshot it checked (`candidate_id`, `candidate_sha`):
`sfe publish` promotes exactly that file, and only while the fingerprint still matches.

Timestamps are UTC (naive TIMESTAMP).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from sfe.gate_tables import ensure_tables
from sfe.warehouse import row_hash, sql_name

# schemas whose content is what gets checked and published (audit changes on every check)
_DATA_SCHEMAS_EXCLUDED = ("audit", "information_schema", "pg_catalog")


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the data outside audit: every table's row count and the sum of its row
    hashes, and every view's SQL.

    A content digest, not row counts: a corrected file with as many rows as the one it
    replaced changes it, so `sfe publish` refuses data that changed after `sfe check`.
    One scan of each table (DuckDB hashes at memory speed).
    """
    excluded = ", ".join(f"'{s}'" for s in _DATA_SCHEMAS_EXCLUDED)
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        f"where database_name = current_database() and schema_name not in ({excluded}) "
        "and not temporary order by all").fetchall()
    views = con.execute(
        "select schema_name, view_name, sql from duckdb_views() "
        f"where database_name = current_database() and schema_name not in ({excluded}) "
        "and not internal and not temporary order by all").fetchall()
    digest = hashlib.sha256()
    for schema, table in tables:
        name = ".".join(sql_name(part) for part in (schema, table))
        count, hashed = con.execute(
            f"select count(*), coalesce(sum({row_hash(con, schema, table)}::hugeint), 0) "
            f"from {name} as t").fetchone()
        digest.update(f"t|{schema}.{table}|{count}|{hashed}\n".encode())
    for schema, view, sql in views:
        digest.update(f"v|{schema}.{view}|{sql}\n".encode())
    return digest.hexdigest()[:16]


def checked_state(run: dict[str, Any]) -> str:
    """What a stamp says of the data a gate run checked: its content fingerprint, or, where
    the check took none (deferred: its candidate file holds exactly that data), the run."""
    return str(run.get("fingerprint") or f"checked:{run['run_id']}")


def stamp_path(db: Path, kind: str = "fingerprint") -> Path:
    """Where the fingerprint of the data as a run left it is kept, beside the database; `kind`
    "checked": as the last `sfe check` left it (for `sfe publish` only: a run's stamp also
    says the run's build covered the data, which a check alone does not)."""
    return db.with_name(f"{db.name}.{kind}.json")


def file_state(db: Path) -> list[list[int] | None]:
    """(size, mtime_ns, ctime_ns, inode, device) of the database file and of its WAL (None:
    absent). Any write to either changes its ctime, which no user-space call can set back."""
    out: list[list[int] | None] = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.append(None)
            continue
        out.append([st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev])
    return out


def record_stamp(db: Path, fingerprint: str, kind: str = "fingerprint") -> None:
    """After a run, with every connection closed: `fingerprint` is the data as the database
    files now are; `stamped` gives it back while nothing has written them since."""
    path = stamp_path(db, kind)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "files": file_state(db)}),
                   encoding="utf-8")
    os.replace(tmp, path)


def stamped(db: Path, kind: str = "fingerprint") -> str | None:
    """The fingerprint `record_stamp` kept, when the database and WAL files are exactly as they
    were then (same inode, size, mtime and ctime): nothing, sfe or a person with the duckdb
    CLI, wrote them since. Else None: the data must be fingerprinted again."""
    try:
        doc = json.loads(stamp_path(db, kind).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("files") != file_state(db):
        return None
    return str(doc.get("fingerprint") or "") or None


def save_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any],
             results: list[dict[str, Any]]) -> None:
    """Store one gate run (replacing a previous run with the same id: idempotent)."""
    ensure_tables(con)
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.gate_results where run_id = ?", [run["run_id"]])
        con.execute("delete from audit.gate_runs where run_id = ?", [run["run_id"]])
        con.execute(
            "insert into audit.gate_runs (run_id, started_at, finished_at, status, checks, "
            "blocking_failures, warnings, errors, as_of_month, fingerprint, report_path, "
            "candidate_id, candidate_sha, rules_digest) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run["run_id"], run["started_at"], run["finished_at"], run["status"], run["checks"],
             run["blocking_failures"], run["warnings"], run["errors"], run["as_of_month"],
             run["fingerprint"], run["report_path"], run.get("candidate_id"),
             run.get("candidate_sha"), run.get("rules_digest")])
        if results:
            con.executemany(
                "insert into audit.gate_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[run["run_id"], r["name"], r["severity"], r["status"], r["failing_rows"],
                  r["message"], json.dumps(r["sample"], ensure_ascii=False, default=str),
                  run["finished_at"], r["type"], r["description"], r["seconds"]]
                 for r in results])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def latest_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    ensure_tables(con)
    cur = con.execute("select * from audit.gate_runs order by finished_at desc, run_id desc "
                      "limit 1")
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row))


def run_results(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    cur = con.execute("select check_name, severity, status, failing_rows, message "
                      "from audit.gate_results where run_id = ? order by check_name", [run_id])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def history(con: duckdb.DuckDBPyConnection, runs: int = 20) -> dict[str, Any]:
    """The last `runs` gate runs and each check's status in them (for the report's trend)."""
    ensure_tables(con)
    run_rows = con.execute(
        "select run_id, finished_at, status, checks, blocking_failures, warnings, errors "
        "from audit.gate_runs order by finished_at desc, run_id desc limit ?", [runs]).fetchall()
    run_rows = list(reversed(run_rows))
    ids = [r[0] for r in run_rows]
    grid: dict[str, dict[str, tuple[str, int]]] = {}
    if ids:
        placeholders = ", ".join("?" for _ in ids)
        for run_id, name, status, failing in con.execute(
                f"select run_id, check_name, status, failing_rows from audit.gate_results "
                f"where run_id in ({placeholders})", ids).fetchall():
            grid.setdefault(name, {})[run_id] = (status, failing)
    return {
        "runs": [dict(zip(("run_id", "finished_at", "status", "checks", "blocking_failures",
                           "warnings", "errors"), r)) for r in run_rows],
        "grid": grid,
    }
