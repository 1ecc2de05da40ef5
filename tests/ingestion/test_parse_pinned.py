"""Parsing pinned on a file mixing the hard cases (issue 14: parsing was restructured for
speed, its outputs must not move): dates in four styles, a thousands separator, a unit glued
to the quantity, a quantity that is no number, a blank row and a total row. Expectations by
hand; the same block repeated 50 times takes the large-file path (values parsed once per
distinct value, ≥ 200 rows), once it takes the small one."""

from __future__ import annotations

import datetime as dt

import pytest

from ingestion.fileparse import ParseSpec
from ingestion.headers import Mapping
from ingestion.isolation import Limits, ReadTask, parse_file
from ingestion.sources import FLOW
from tests.ingestion.conftest import FLOW_HEADER

SPEC = ParseSpec(FLOW, Mapping("D01"), "D01", None, dt.date(2026, 4, 1))
BLOCK = ["2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100",
         '2026/3/6,上海瑞金医院,阿莫西林胶囊,0.25g*24,B002,"1,200",支,30',
         "20260307,上海瑞金医院,阿莫西林胶囊,0.25g*24,B003,3件,,30",
         "2026年3月8日,上海瑞金医院,阿莫西林胶囊,0.25g*24,B004,两,盒,30",
         ",,,,,,,",
         "合计,,,,,13,,130"]
REASON = "cannot read quantity from column '数量': '两' is not a number such as 1234.5 or 1,234.50"
RAW = ('{"销售日期":"2026年3月8日","客户名称":"上海瑞金医院","产品名称":"阿莫西林胶囊",'
       '"规格":"0.25g*24","批号":"B004","数量":"两","单位":"盒","金额":"30"}')


@pytest.mark.parametrize("blocks", [1, 50])
def test_a_file_of_the_hard_cases_parses_as_computed_by_hand(blocks: int) -> None:
    rows = BLOCK * blocks
    raw = ("\n".join([FLOW_HEADER, *rows]) + "\n").encode()
    parsed = parse_file(ReadTask(raw, ".csv", parse=SPEC), Limits()).parsed
    first = [2 + 6 * k for k in range(blocks)]  # file line of each block's first row
    loaded = parsed.loaded
    assert loaded["source_row"].to_list() == [r + i for r in first for i in (0, 1, 2)]
    assert loaded["sale_date"].to_list()[:3] == [dt.date(2026, 3, d) for d in (5, 6, 7)]
    assert loaded["quantity"].to_list() == [10.0, 1200.0, 3.0] * blocks
    assert loaded["unit"].to_list() == ["box", "min_unit", "case"] * blocks
    assert loaded["raw_unit"].to_list() == ["盒", "支", "件"] * blocks
    assert loaded["amount"].to_list() == [100.0, 30.0, 30.0] * blocks
    assert set(loaded["doc_type"]) == {"sale"} and set(loaded["distributor_code"]) == {"D01"}
    q = parsed.quarantined
    assert q["source_row"].to_list() == [r + 3 for r in first]
    assert set(q["reason"]) == {REASON} and set(q["column_name"]) == {"数量"}
    assert set(q["raw_values"]) == {RAW}
    assert parsed.skipped == {"blank": blocks, "total": blocks}
    assert str(loaded.schema["source_row"]) == "Int32" and str(q.schema["source_row"]) == "Int32"
