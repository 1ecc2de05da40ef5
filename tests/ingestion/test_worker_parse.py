"""The reader worker parses what it reads (issue 14): read, header search and parsing are one
task, so on 2 cores the worker parses the next file while the loading process writes this one,
and only typed rows travel back. What the worker returns must equal parsing in this process,
and a file without its data is rejected with the same reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ingestion.fileparse import ParseSpec, Rejected
from ingestion.headers import Mapping
from ingestion.isolation import IsolatedReader, Limits, ReadTask, parse_file
from ingestion.sources import FLOW
from tests.ingestion.conftest import FLOW_HEADER

SPEC = ParseSpec(FLOW, Mapping("D01"), "D01", None, dt.date(2026, 4, 1))
ROWS = ["2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100",
        "2026-03-06,上海瑞金医院,阿莫西林胶囊,0.25g*24,B002,3,盒,30",
        "2026-03-07,上海瑞金医院,阿莫西林胶囊,0.25g*24,B003,两,盒,30",
        "合计,,,,,13,,130"]


def task(*rows: str, header: str = FLOW_HEADER) -> ReadTask:
    return ReadTask(("\n".join([header, *rows]) + "\n").encode(), ".csv", parse=SPEC)


def test_the_worker_parses_as_this_process_does() -> None:
    with IsolatedReader(Limits()) as reader:
        got = reader.parse(task(*ROWS))
    here = parse_file(task(*ROWS), Limits())
    assert got.parsed.loaded.equals(here.parsed.loaded)
    assert got.parsed.quarantined.equals(here.parsed.quarantined)
    assert got.notes == here.notes and got.period_col == "sale_date"
    # by hand: two rows loaded, '两' is no number (row 4 of the file), the total row skipped
    assert got.parsed.loaded["quantity"].to_list() == [10.0, 3.0]
    assert got.parsed.loaded["source_row"].to_list() == [2, 3]
    assert got.parsed.quarantined["source_row"].to_list() == [4]
    assert "'两'" in got.parsed.quarantined["reason"][0]
    assert got.parsed.skipped == {"total": 1}


def test_a_file_without_its_columns_is_rejected_by_the_worker_with_the_reason() -> None:
    with IsolatedReader(Limits()) as reader:
        with pytest.raises(Rejected, match="no header row found"):
            reader.parse(task("a,b,c", header="甲,乙,丙"))
        after = reader.parse(task(ROWS[0]))  # the same worker goes on
    assert after.parsed.loaded.height == 1


def test_a_parser_bug_rejects_the_file_as_could_not_be_processed() -> None:
    broken = replace(SPEC, mapping=Mapping("D01", date_format=42))  # type: ignore[arg-type]
    with IsolatedReader(Limits()) as reader:
        with pytest.raises(Rejected, match=r"could not be processed \(\w+Error"):
            reader.parse(replace(task(ROWS[0]), parse=broken))
        assert reader.parse(task(ROWS[1])).parsed.loaded.height == 1


def test_parsed_rows_travel_as_arrow_ipc_with_their_types() -> None:
    import pickle

    import polars as pl

    parsed = parse_file(task(*ROWS), Limits()).parsed
    back = pickle.loads(pickle.dumps(parsed))
    assert back.loaded.equals(parsed.loaded) and back.loaded.schema == parsed.loaded.schema
    assert back.loaded.schema["sale_date"] == pl.Date
    assert back.quarantined.equals(parsed.quarantined) and back.skipped == {"total": 1}
    empty = parse_file(task(ROWS[0]), Limits()).parsed
    assert pickle.loads(pickle.dumps(empty)).quarantined.schema == empty.quarantined.schema


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize(("cell", "damaged"), [
    ("北京协和医院", False), ("北京\x07协和", True), ("tab\there", False), ("a\x1fb", True),
    ("坏\ufffd字", True), ("form\x0cfeed", True), ("齐鲁制药", False), ("CR\rLF", False)])
def test_damage_found_in_the_bytes_equals_the_regex_over_the_text(encoding, cell, damaged):
    import polars as pl

    from ingestion.readers import DAMAGE, _damaged

    text = f"{FLOW_HEADER}\n2026-03-05,{cell},阿莫西林,1,B1,1,盒,1\n"
    raw = text.encode(encoding)
    expected = bool(pl.Series([text]).str.contains(DAMAGE).item())
    assert expected is damaged  # the case is what it says
    assert _damaged(raw, text, encoding) is damaged
