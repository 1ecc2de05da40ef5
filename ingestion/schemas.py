"""pandera schemas of the parsed rows of each source, checked on collected frames (lazy=True).

They run after parsing: a row that fails (a required value missing, a date outside any sane
range, a unit or doc type outside its set, an absurd number) goes to quarantine with the check
that failed. Business plausibility (future dates, spikes) is for the quality gates, not here.
Each schema is generated at import from the source description (ingestion/sources.py): one
column per field, non-nullable when required or filled by the loader, the field's sane range,
allowed values or pattern. Not `strict`: the frame also carries `_row`/`_pos` bookkeeping columns.
"""

from __future__ import annotations

import warnings

import polars as pl

# pandera imports pyspark.pandas when the `spark` extra is installed, which warns about pandas 3
# on every ingest; these schemas use pandera's polars engine only
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                            category=FutureWarning)
    import pandera.polars as pa

from ingestion.precheck import may_fail
from ingestion.sources import ALL_SOURCES, KINDS, Field, Source


def field_checks(f: Field) -> list[pa.Check]:
    """The value checks of one field, in the order pandera reports them (first failure wins)."""
    if not f.checked:
        return []
    kind, checks = KINDS[f.kind], []
    if (bounds := f.sane_range) is not None:
        checks += [pa.Check.ge(bounds[0]), pa.Check.le(bounds[1])]
    if kind.allowed:
        checks.append(pa.Check.isin(list(kind.allowed)))
    if kind.pattern:
        checks.append(pa.Check.str_matches(kind.pattern))
    return checks


def source_schema(source: Source) -> pa.DataFrameSchema:
    columns = {f.name: pa.Column(KINDS[f.kind].dtype, checks=field_checks(f), nullable=f.nullable)
               for f in source.fields}
    return pa.DataFrameSchema(columns, name=source.key, strict=False, coerce=False)


SCHEMAS: dict[str, pa.DataFrameSchema] = {s.key: source_schema(s) for s in ALL_SOURCES}
SOURCES_BY_KEY: dict[str, Source] = {s.key: s for s in ALL_SOURCES}


def schema_failures(key: str, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per failing row index: `_idx`, `reason`, `column_name` (first failure wins)."""
    empty = pl.DataFrame(schema={"_idx": pl.UInt32, "reason": pl.String, "column_name": pl.String})
    model = SCHEMAS.get(key)
    if model is None or frame.height == 0 or not may_fail(SOURCES_BY_KEY[key], frame):
        return empty
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        return (cases.select(
            pl.col("index").cast(pl.UInt32).alias("_idx"),
            pl.format("failed check {} on column {} (value: {})", pl.col("check"),
                      pl.col("column"), pl.col("failure_case").cast(pl.String).fill_null("empty")
                      ).alias("reason"),
            pl.col("column").cast(pl.String).alias("column_name"))
            .unique("_idx", keep="first", maintain_order=True))
    return empty
