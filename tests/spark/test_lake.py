"""The Parquet lake between the engines (transform/lake.py), without Spark: what the export writes
and what `load_marts` brings back, checked against rows written by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from sfe.config import ConfigError, Settings, load_settings
from sfe.gate_tables import ensure_tables
from transform.lake import (export_sources, load_marts, metastore_dir, reset_spark_tables,
                            spark_tables_dir)
from sfe.warehouse import connect


def _warehouse(settings: Settings) -> None:
    with connect(settings) as con:
        con.execute("create table audit.file_registry (file_id bigint, source varchar, "
                    "period_start date)")
        con.execute("insert into audit.file_registry values (1, 'flow', '2026-03-01'), "
                    "(2, 'flow', '2026-04-01'), (3, 'master', null)")
        con.execute("create table raw.flow__lines (file_id bigint, sale_date date, amount double)")
        con.execute("insert into raw.flow__lines values (1, '2026-03-05', 10.5), "
                    "(1, '2026-03-09', 1.25), (2, '2026-04-02', 7.0)")
        con.execute("create table raw.master__products (file_id bigint, product_id varchar)")
        con.execute("insert into raw.master__products values (3, 'P1')")
        con.execute("create table raw.plan__targets (file_id bigint, month varchar)")
        con.execute("create table matching.product_source_map (product_id varchar, evidence json)")
        con.execute("""insert into matching.product_source_map values ('P1', '{"a": 1}')""")
        ensure_tables(con)  # the gate and publish-stamp tables, empty (as before any check)


def test_export_partitions_raw_rows_by_file_source_and_month(settings: Settings) -> None:
    _warehouse(settings)
    with connect(settings) as con:
        report = export_sources(settings, con)
    root = settings.lake_dir / "sources"
    assert report.tables["raw.flow__lines"] == 3
    march = root / "raw" / "flow__lines" / "file_source=flow" / "file_month=2026-03"
    april = root / "raw" / "flow__lines" / "file_source=flow" / "file_month=2026-04"
    assert march.is_dir() and april.is_dir()
    con = duckdb.connect()
    rows = con.execute(f"select amount from read_parquet('{march}/*.parquet') order by amount"
                       ).fetchall()
    assert rows == [(1.25,), (10.5,)]
    # a file without a period (master data) goes to file_month=none, nothing dropped
    assert (root / "raw" / "master__products" / "file_source=master" / "file_month=none").is_dir()
    # an empty table still has a file with its columns, so Spark can read it
    empty = con.execute(f"describe select * from read_parquet('{root}/raw/plan__targets/*.parquet')"
                        ).fetchall()
    assert [r[0] for r in empty] == ["file_id", "month"]
    # JSON goes out as text (Spark does not read Parquet's JSON annotation)
    kind, text = con.execute(
        "select typeof(evidence), evidence from "
        f"read_parquet('{root}/matching/product_source_map/*.parquet')").fetchone()
    assert (kind, text) == ("VARCHAR", '{"a": 1}')


def test_export_replaces_the_previous_export(settings: Settings) -> None:
    _warehouse(settings)
    with connect(settings) as con:
        export_sources(settings, con)
        con.execute("delete from raw.flow__lines where file_id = 2")
        export_sources(settings, con)
    flow = settings.lake_dir / "sources" / "raw" / "flow__lines" / "file_source=flow"
    assert sorted(p.name for p in flow.iterdir()) == ["file_month=2026-03"]


def test_load_marts_replaces_duckdb_marts_with_the_spark_parquet(settings: Settings) -> None:
    _warehouse(settings)
    folder = spark_tables_dir(settings, "marts") / "fct_x"
    (folder / "month=2026-03").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"copy (select 'a' as k, 2.5 as v) to '{folder}/month=2026-03/part-0.parquet' "
                "(format parquet)")
    with connect(settings) as wcon:
        wcon.execute("create table marts.fct_x as select 'old' as k")
        report = load_marts(settings, wcon)
        rows = wcon.execute("select k, v, month from marts.fct_x").fetchall()
    assert report.tables == {"marts.fct_x": 1}
    assert rows == [("a", 2.5, "2026-03")]


def test_load_marts_without_a_spark_build_says_so(settings: Settings) -> None:
    _warehouse(settings)
    with connect(settings) as con, pytest.raises(FileNotFoundError, match="no Spark-built marts"):
        load_marts(settings, con)


def test_spark_tables_are_kept_while_their_metastore_is(settings: Settings) -> None:
    """The next Spark build is incremental over last build's tables; without the metastore
    that lists them (first build, removed by hand) their folders go and all is rebuilt."""
    table = spark_tables_dir(settings, "marts") / "fct_sell_out" / "month=2026-03"
    table.mkdir(parents=True)
    (table / "part-0.parquet").write_bytes(b"x")
    (metastore_dir(settings) / "metastore_db").mkdir(parents=True)
    assert reset_spark_tables(settings) is False
    assert (table / "part-0.parquet").exists()
    shutil.rmtree(metastore_dir(settings))
    assert reset_spark_tables(settings) is True
    assert not (settings.lake_dir / "warehouse").exists()


def test_engine_setting(tmp_path: Path) -> None:
    assert load_settings(env={}, data_dir=tmp_path).engine == "duckdb"
    assert load_settings(env={"SFE_ENGINE": "spark"}, data_dir=tmp_path).engine == "spark"
    with pytest.raises(ConfigError, match="engine = 'oracle'"):
        load_settings(env={"SFE_ENGINE": "oracle"}, data_dir=tmp_path)
