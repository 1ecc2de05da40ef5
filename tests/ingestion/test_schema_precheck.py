"""The one-pass pre-check before pandera (ingestion.schemas.may_fail): pandera's own bookkeeping
cost a third of parsing a small file, so a frame that cannot fail any check skips it. The
pre-check only decides whether pandera runs, so it must flag every frame pandera would fail:
checked here for every field of every source and every check it carries, against pandera run
directly on the same frame."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
import pytest

from ingestion import schemas
from ingestion.precheck import may_fail
from ingestion.schemas import schema_failures, source_schema
from ingestion.sources import ALL_SOURCES, KINDS, Field, Source

DTYPES = {"date": pl.Date, "timestamp": pl.Datetime("us"), "number": pl.Float64,
          "int": pl.Int32, "bool": pl.Boolean}
PLAIN = {"text": "x", "date": dt.date(2026, 3, 5), "timestamp": dt.datetime(2026, 3, 5, 9),
         "number": 10.0, "int": 3, "bool": True, "month": "2026-03", "unit": "box",
         "doc_type": "sale"}


def _valid(f: Field) -> object:
    bounds = f.sane_range
    return bounds[0] if bounds else PLAIN[f.kind]  # bounds are inclusive


def _step(value: object) -> object:
    if isinstance(value, dt.datetime):
        return dt.timedelta(seconds=1)
    if isinstance(value, dt.date):
        return dt.timedelta(days=1)
    return abs(value) + 1  # type: ignore[arg-type]


def _frame(source: Source, rows: int = 3) -> pl.DataFrame:
    return pl.DataFrame({f.name: [_valid(f)] * rows for f in source.fields},
                        schema={f.name: DTYPES.get(f.kind, pl.String) for f in source.fields})


def _violations(f: Field) -> list[tuple[str, object]]:
    """Each way a value of this field fails, as (what, value)."""
    out: list[tuple[str, object]] = []
    if not f.nullable:
        out.append(("empty", None))
    if f.checked and (bounds := f.sane_range):
        out += [("below", bounds[0] - _step(bounds[0])),  # type: ignore[operator]
                ("above", bounds[1] + _step(bounds[1]))]  # type: ignore[operator]
    kind = KINDS[f.kind]
    if f.checked and kind.allowed:
        out.append(("not allowed", "kg"))
    if f.checked and kind.pattern:
        out.append(("pattern", "2026-3"))
    return out


CASES = [(s, f, what, value) for s in ALL_SOURCES for f in s.fields
         for what, value in _violations(f)]


def _pandera(source: Source, frame: pl.DataFrame) -> list[int]:
    try:
        source_schema(source).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        return sorted(set(cases["index"].to_list()))
    return []


def test_every_check_of_every_source_is_covered():
    kinds = {what for _, _, what, _ in CASES}
    assert kinds == {"empty", "below", "above", "not allowed", "pattern"}
    assert len(CASES) > 40


@pytest.mark.parametrize(("source", "field", "what", "value"), CASES,
                         ids=[f"{s.key}.{f.name}.{w}" for s, f, w, _ in CASES])
def test_a_frame_pandera_fails_is_flagged_and_judged_by_pandera(source, field, what, value):
    frame = _frame(source).with_columns(
        pl.Series(field.name, [_valid(field), value, _valid(field)],
                  dtype=DTYPES.get(field.kind, pl.String)))
    assert _pandera(source, frame) == [1], "the case must be one pandera fails on row 1"
    assert may_fail(source, frame)
    got = schema_failures(source.key, frame)
    assert got["_idx"].to_list() == [1]
    assert got["column_name"].to_list() == [field.name]


def test_a_clean_frame_does_not_run_pandera(monkeypatch):
    source = next(s for s in ALL_SOURCES if s.key == "flow")
    frame = _frame(source, 50)
    assert _pandera(source, frame) == []

    def refuse(*args, **kwargs):
        raise AssertionError("pandera ran on a frame no check can fail")
    monkeypatch.setattr(schemas.SCHEMAS["flow"], "validate", refuse)
    assert schema_failures("flow", frame).height == 0


def test_nan_and_a_missing_column_go_to_pandera():
    source = next(s for s in ALL_SOURCES if s.key == "flow")
    assert may_fail(source, _frame(source).with_columns(quantity=pl.lit(float("nan"))))
    assert may_fail(source, _frame(source).drop("unit"))
