"""DDL of the raw layer, the file registry and the quarantine (docs/contracts.md), created idempotently.

The raw columns and their types come from the source description (`ingestion.sources`), from
which the pandera schemas are generated too, so the tables, the parser and the schemas cannot
drift apart.
"""

from __future__ import annotations

import duckdb

from ingestion.sources import ALL_SOURCES, KINDS, Source

REGISTRY_DDL = """
create table if not exists audit.file_registry (
    file_id BIGINT primary key,
    path VARCHAR not null,
    sha256 VARCHAR not null,
    source VARCHAR,
    entity VARCHAR,
    distributor_code VARCHAR,
    period_start DATE,
    period_end DATE,
    received_at TIMESTAMP,
    loaded_at TIMESTAMP,
    status VARCHAR not null,
    rows_read INTEGER,
    rows_loaded INTEGER,
    rows_quarantined INTEGER,
    reasons VARCHAR[],
    duplicate_of BIGINT,
    superseded_by BIGINT,
    conflict_with BIGINT,
    run_id VARCHAR,
    first_seen_at TIMESTAMP
)"""

# Warehouses created before a column existed get it here; backfill: the best we knew then.
REGISTRY_MIGRATIONS = (
    "alter table audit.file_registry add column if not exists first_seen_at TIMESTAMP",
    "update audit.file_registry set first_seen_at = coalesce(loaded_at, received_at) "
    "where first_seen_at is null",
)

# What a rejected/conflict file's outcome depended on (registry.retry_key), beside the registry
# rather than in it: refreshing a key must not change the registry, whose rows the build's
# up-to-date test hashes.
RETRY_DDL = """
create table if not exists audit.file_retry (
    file_id BIGINT primary key,
    retry_key VARCHAR not null
)"""

# The stat of each file as it was when its bytes were read and hashed (registry.stat_index),
# beside the registry like the retry key: refreshing it must not change the registry rows
# the build's up-to-date test hashes (a moved inbox would rebuild everything).
STAT_DDL = """
create table if not exists audit.file_stat (
    file_id BIGINT primary key,
    size BIGINT not null,
    mtime_ns BIGINT not null,
    ctime_ns BIGINT not null,
    inode UBIGINT not null,
    device UBIGINT not null
)"""

QUARANTINE_DDL = """
create table if not exists quarantine.rows (
    file_id BIGINT,
    source VARCHAR,
    distributor_code VARCHAR,
    source_row INTEGER,
    sheet VARCHAR,
    reason VARCHAR,
    column_name VARCHAR,
    raw_values JSON,
    quarantined_at TIMESTAMP
)"""


SKIPPED_DDL = """
create table if not exists audit.inbox_skipped (
    path VARCHAR not null,
    reason VARCHAR not null,
    run_id VARCHAR,
    seen_at TIMESTAMP
)"""


def raw_table_ddl(source: Source) -> str:
    cols = ["file_id BIGINT", "source_row INTEGER", "sheet VARCHAR"]
    cols += [f"{f.name} {KINDS[f.kind].sql}" for f in source.fields]
    return f"create table if not exists {source.table} (\n    " + ",\n    ".join(cols) + "\n)"


def all_ddl() -> list[str]:
    return [REGISTRY_DDL, RETRY_DDL, STAT_DDL, QUARANTINE_DDL, SKIPPED_DDL, *(raw_table_ddl(s) for s in ALL_SOURCES)]


def add_missing_columns(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """A warehouse created before a field was added to a source gets the column (NULL in old rows),
    so `insert ... by name` keeps working without a rebuild from scratch."""
    schema, table = source.table.split(".")
    have = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?", [schema, table]).fetchall()}
    for f in source.fields:
        if f.name not in have:
            con.execute(f"alter table {source.table} add column {f.name} {KINDS[f.kind].sql}")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in all_ddl():
        con.execute(statement)
    for statement in REGISTRY_MIGRATIONS:
        con.execute(statement)
    for source in ALL_SOURCES:
        add_missing_columns(con, source)
