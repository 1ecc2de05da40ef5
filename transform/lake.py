"""The Parquet lake that lets the same dbt project run on Apache Spark (engine = "spark").

DuckDB stays the place files are loaded into (ingestion and matching write the working
warehouse as on the default engine). Before a Spark build, `export_sources` writes every dbt
source table (raw.*, matching.*, audit.file_registry) as Parquet under
`<data_dir>/lake/sources/<schema>/<table>/`; raw tables are partitioned by the source and month
of the file each row came from (`file_source=flow/file_month=2026-03/`), so a cluster reads only
the months it needs. dbt on Spark reads them through views (macros/cross_db/lake_sources.sql)
and writes its tables as Parquet under `<data_dir>/lake/warehouse/<schema>.db/<table>/`, listed
in a Hive metastore (embedded Derby) under `<data_dir>/lake/metastore/` so they outlive the
session: the next build is incremental (fct_* and the KPI marts replace their months' partitions).

After the Spark build, `load_marts` copies those Parquet marts into the working warehouse as
tables, so the quality gates and `sfe publish` run unchanged, on DuckDB, and the published
snapshot stays one self-contained DuckDB file the dashboards open without Spark. (Copies, not
views: the next Spark build rewrites the Parquet in place, and a published snapshot must never
change under its readers.)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sfe.config import Settings
from sfe.warehouse import sql_string

# the dbt sources (dbt_project/models/staging/_raw__sources.yml and the matching/audit ones)
SOURCE_SCHEMAS = ("raw", "matching", "quarantine")
SOURCE_TABLES = (("audit", "file_registry"),
                 # the gate results and the publish stamp dbt's views read (sfe/gate_tables.py)
                 ("audit", "gate_runs"), ("audit", "gate_results"), ("audit", "publish_info"))
MART_SCHEMA = "marts"
INTERMEDIATE_SCHEMA = "intermediate"
PARTITION_COLUMNS = ("file_source", "file_month")


@dataclass
class LakeReport:
    tables: dict[str, int] = field(default_factory=dict)  # schema.table -> rows

    def to_dict(self) -> dict[str, object]:
        return {"tables": self.tables}


def sources_dir(settings: Settings) -> Path:
    return settings.lake_dir / "sources"


def spark_tables_dir(settings: Settings, schema: str) -> Path:
    """Where dbt-spark writes a schema's tables (spark.sql.warehouse.dir in profiles.yml)."""
    return settings.lake_dir / "warehouse" / f"{schema}.db"


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table]).fetchall()


def _select_list(columns: list[tuple[str, str]], alias: str) -> str:
    """Columns as Spark reads them: DuckDB's JSON type goes out as plain text (Parquet's JSON
    annotation is not one Spark reads)."""
    out = []
    for name, kind in columns:
        ref = f'{alias}."{name}"'
        out.append(f'cast({ref} as varchar) as "{name}"' if kind == "JSON" else ref)
    return ", ".join(out)


def _export_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, target: Path) -> int:
    columns = _columns(con, schema, table)
    rows = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    has_file = schema == "raw" and any(name == "file_id" for name, _ in columns)
    target.mkdir(parents=True)
    if has_file and rows:
        # the file's source and the month its period starts: re-sent months replace partitions
        query = (f"select {_select_list(columns, 't')}, coalesce(f.source, 'unknown') as file_source, "
                 "coalesce(strftime(f.period_start, '%Y-%m'), 'none') as file_month "
                 f'from {schema}."{table}" as t '
                 "left join audit.file_registry as f on f.file_id = t.file_id")
        con.execute(f"copy ({query}) to {sql_string(str(target))} "
                    f"(format parquet, partition_by ({', '.join(PARTITION_COLUMNS)}))")
    else:  # one file, even when empty, so the reader still finds the columns
        query = f'select {_select_list(columns, "t")} from {schema}."{table}" as t'
        con.execute(f"copy ({query}) to {sql_string(str(target / 'part-0.parquet'))} "
                    "(format parquet)")
    return int(rows)


def export_sources(settings: Settings, con: duckdb.DuckDBPyConnection) -> LakeReport:
    """Write every dbt source table of the working warehouse to the lake (replacing it)."""
    report = LakeReport()
    tables = [(s, t) for s in SOURCE_SCHEMAS for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by table_name", [s]).fetchall()] + list(SOURCE_TABLES)
    root = sources_dir(settings)
    staging = root.with_name(".sources-new")
    shutil.rmtree(staging, ignore_errors=True)
    for schema, table in tables:
        report.tables[f"{schema}.{table}"] = _export_table(con, schema, table,
                                                          staging / schema / table)
    # swap the whole export in at once: a Spark run never reads half old, half new sources
    old = root.with_name(".sources-old")
    shutil.rmtree(old, ignore_errors=True)
    if root.exists():
        root.rename(old)
    staging.rename(root)
    shutil.rmtree(old, ignore_errors=True)
    return report


def metastore_dir(settings: Settings) -> Path:
    """The local Hive metastore (embedded Derby) listing the Spark tables (profiles.yml)."""
    return settings.lake_dir / "metastore"


def reset_spark_tables(settings: Settings) -> bool:
    """Drop the Spark table folders when no metastore lists them (first Spark build, or a
    metastore removed by hand), so every model is rebuilt from the lake rather than over
    folders no catalog knows. With the metastore in place the tables stay: the next build
    is incremental, and fct_* and the KPI marts replace only their months. True if reset."""
    if (metastore_dir(settings) / "metastore_db").is_dir():
        return False
    shutil.rmtree(settings.lake_dir / "warehouse", ignore_errors=True)
    return True


def stop_spark() -> None:
    """End the in-process Spark session dbt-spark started: the JVM's memory is released for
    the DuckDB stages that follow, and Derby's lock on the metastore with it."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # the spark extra is not installed: no session to stop
        return
    session = getattr(SparkSession, "_instantiatedSession", None)
    if session is not None:
        session.stop()


def spark_marts(settings: Settings, schema: str = MART_SCHEMA) -> list[tuple[str, Path]]:
    """The tables of a schema the last Spark build wrote: (table name, its Parquet folder)."""
    root = spark_tables_dir(settings, schema)
    if not root.is_dir():
        return []
    return sorted((p.name, p) for p in root.iterdir()
                  if p.is_dir() and any(p.rglob("*.parquet")))


def parquet_scan(folder: Path) -> str:
    """DuckDB's reader for a Spark table folder (partition folders become columns)."""
    return (f"read_parquet({sql_string(str(folder / '**' / '*.parquet'))}, "
            "hive_partitioning = true)")


def load_marts(settings: Settings, con: duckdb.DuckDBPyConnection) -> LakeReport:
    """Copy the Spark-built marts (and the intermediate tables dbt's mart views read, e.g.
    int_scorecard__weekly under scorecard_weekly) into the working warehouse, replacing what a
    DuckDB build left there, so gates and publish read the Spark results. The views themselves
    are created on DuckDB afterwards (transform.build.run_dbt_on_spark)."""
    report = LakeReport()
    if not spark_marts(settings):
        raise FileNotFoundError(f"no Spark-built marts under {spark_tables_dir(settings, MART_SCHEMA)}"
                                "; the Spark build wrote nothing (see the dbt log)")
    for schema in (INTERMEDIATE_SCHEMA, MART_SCHEMA):
        con.execute(f"create schema if not exists {schema}")
        for name, folder in spark_marts(settings, schema):
            kind = con.execute("select table_type from information_schema.tables "
                               "where table_schema = ? and table_name = ?", [schema, name]).fetchone()
            if kind is not None:
                con.execute(f'drop {"view" if kind[0] == "VIEW" else "table"} {schema}."{name}"')
            con.execute(f'create table {schema}."{name}" as select * from {parquet_scan(folder)}')
            report.tables[f"{schema}.{name}"] = con.execute(
                f'select count(*) from {schema}."{name}"').fetchone()[0]
    return report
