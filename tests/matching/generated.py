"""A warehouse built from `sfe generate` output without running ingestion.

Ingesting a whole generated inbox takes about a minute on the shared 2-core machine, too slow for
the matching tests. The names matching sees are the same either way: master tables come from the
generated `master/*.csv`, and every distinct raw buyer / hospital / product name comes from
`_truth/` (which lists each one with its true customer or product). What this skips is the
buyer address column (about a quarter of distributors send one), so figures here are a little
below what the full pipeline gets; `bench/bench_matching.py --quality` measures the full path.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from generator.core import generate
from sfe.config import Settings
from sfe.warehouse import connect

_MASTER = {"customers": "master__customers", "distributors": "master__distributors",
           "products": "master__products"}
_INTS = {"beds", "tier", "pack_size", "case_size"}
_BOOLS = {"flow_required", "is_own"}
_FLOATS = {"potential", "list_price"}


def generate_inbox(out: Path, seed: int, customers: int = 300, months: int = 6) -> Path:
    generate(out, seed=seed, customers=customers, months=months)
    return out


def _master_frame(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    casts = [pl.col(c).cast(pl.Int64, strict=False) for c in frame.columns if c in _INTS]
    casts += [pl.col(c).cast(pl.Float64, strict=False) for c in frame.columns if c in _FLOATS]
    casts += [(pl.col(c) == "1") for c in frame.columns if c in _BOOLS]
    snap = date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", path.name).group(0))
    return frame.with_columns(casts).with_columns(
        pl.lit(snap).alias("snapshot_date"), pl.lit(1, pl.Int64).alias("file_id"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int32).alias("source_row"),
        pl.lit(None, pl.String).alias("sheet"))


def _flow_frame(truth: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    buyers = truth.filter(pl.col("source") == "flow").select(
        "distributor_code", "buyer_code", pl.col("raw_name").alias("buyer_name")).unique()
    prods = products.select("distributor_code", pl.col("raw_product").alias("product_name"),
                            pl.col("raw_spec").alias("spec"))
    rows = pl.concat([buyers.join(prods.group_by("distributor_code").first(), on="distributor_code",
                                  how="left"),
                      prods.join(buyers.group_by("distributor_code").first(), on="distributor_code",
                                 how="left")], how="diagonal_relaxed")
    return rows.with_columns(
        pl.col("buyer_code").replace("", None), pl.lit(None, pl.String).alias("buyer_address"),
        pl.lit(None, pl.String).alias("manufacturer"), pl.lit(date(2026, 10, 5)).alias("sale_date"),
        pl.lit(1.0).alias("quantity"), pl.lit("box").alias("unit"), pl.lit(2, pl.Int64).alias("file_id"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int32).alias("source_row"),
        pl.lit(None, pl.String).alias("sheet"))


def _tender_frame(truth: pl.DataFrame) -> pl.DataFrame:
    return truth.filter(pl.col("source") == "tender").select(
        pl.col("distributor_code").alias("province"), pl.col("raw_name").alias("hospital_name"),
        pl.lit("招标").alias("tender_name"), pl.lit("阿托伐他汀钙片").alias("generic_name"),
        pl.lit("华康制药").alias("bidder"), pl.lit("中标").alias("result"),
        pl.lit(3, pl.Int64).alias("file_id"), (pl.int_range(pl.len()) + 2).cast(pl.Int32).alias("source_row"),
        pl.lit(None, pl.String).alias("sheet")).unique(["province", "hospital_name"])


def load_generated(settings: Settings, inbox: Path) -> None:
    """Raw tables for matching, straight from the generated files (see the module docstring)."""
    truth = pl.read_csv(inbox / "_truth" / "customer_truth.csv", infer_schema=False).fill_null("")
    products = pl.read_csv(inbox / "_truth" / "product_truth.csv", infer_schema=False).fill_null("")
    frames = {table: _master_frame(next((inbox / "master").glob(f"{entity}_*.csv")))
              for entity, table in _MASTER.items()}
    frames["flow__lines"] = _flow_frame(truth, products)
    frames["tenders__results"] = _tender_frame(truth)
    with connect(settings) as con:
        _replace_tables(con, frames)


def _replace_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    for table, frame in frames.items():
        con.register("_frame", frame.to_arrow())
        con.execute(f"create or replace table raw.{table} as select * from _frame")
        con.unregister("_frame")
