"""The reader workers' fast paths (issue 14) give what the full rules give, by hand.

Row kinds: where the source needs a date, only the rows without one are run through the total,
note and blank rules; a dated row is data unless it repeats the header. Numbers: a column is
cast as plain floats first and only the cells that cast misses go through the full parser
(thousands separators, brackets, currency signs, units glued on). Each file is tried small
(parsed in one pass) and repeated past 200 rows (the large-file path)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ingestion import values
from ingestion.fileparse import ParseSpec, parse_grids
from ingestion.headers import Mapping
from ingestion.isolation import Limits, ReadTask, parse_file, read_grids
from ingestion.parse import Parsed, parse_cells
from ingestion.sources import FLOW
from tests.ingestion.conftest import FLOW_HEADER

SPEC = ParseSpec(FLOW, Mapping("D01"), "D01", None, dt.date(2026, 4, 1))
AMOUNT_ERROR = ("cannot read amount from column '金额': '{}' is not a number such as 1234.5 "
                "or 1,234.50")


def _parse(rows: list[str]) -> Parsed:
    raw = ("\n".join([FLOW_HEADER, *rows]) + "\n").encode()
    return parse_file(ReadTask(raw, ".csv", parse=SPEC), Limits()).parsed


# file line 2 + i for row i of a block; kinds by hand
KINDS_BLOCK = [
    "2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100",  # data
    "合计,,,,,30,,300",  # total: no date
    "2026-03-06,合计大药房,阿莫西林胶囊,0.25g*24,B002,2,盒,20",  # data: a date, whatever the name
    "制表人：张三,,,,,,,",  # note
    "2026-03-07,备注药房,阿莫西林胶囊,0.25g*24,B003,3,盒,30",  # data: a date
    FLOW_HEADER,  # a repeated header
    ",,,,,,,",  # blank
    "2026-03-08,客户名称,产品名称,规格,批号,数量,单位,金额",  # a header with a date: header
    ",上海瑞金医院,阿莫西林胶囊,0.25g*24,B004,4,盒,40",  # data, no date: quarantined
    "2026年3月9日,上海瑞金医院,阿莫西林胶囊,0.25g*24,B005,5,盒,50",  # data
]


@pytest.mark.parametrize("blocks", [1, 50])  # 50: 250 data rows, the large-file path
def test_totals_notes_headers_and_blanks_among_dated_rows_are_skipped_dated_rows_kept(
        blocks: int) -> None:
    parsed = _parse(KINDS_BLOCK * blocks)
    starts = [2 + len(KINDS_BLOCK) * k for k in range(blocks)]
    loaded = parsed.loaded
    assert loaded["source_row"].to_list() == [s + i for s in starts for i in (0, 2, 4, 9)]
    assert loaded["buyer_name"].to_list() == ["北京协和医院", "合计大药房", "备注药房",
                                              "上海瑞金医院"] * blocks
    assert loaded["sale_date"].to_list() == [dt.date(2026, 3, d) for d in (5, 6, 7, 9)] * blocks
    q = parsed.quarantined
    assert q["source_row"].to_list() == [s + 8 for s in starts]
    assert set(q["reason"]) == {"missing required sale_date (column '销售日期' is empty)"}
    assert parsed.skipped == {"total": blocks, "note": blocks, "header": 2 * blocks,
                              "blank": blocks}


def _plain_row(i: int, amount: str, quantity: str | None = None, unit: str = "盒") -> str:
    return (f"2026-03-05,医院{i},阿莫西林胶囊,0.25g*24,B{i:03d},"
            f"{quantity or str(i % 7 + 1)},{unit},{amount}")


def _plain_amount(i: int) -> float:
    return i * 10 + 0.25  # every amount a distinct plain float


@pytest.mark.parametrize("rows", [12, 300])
def test_a_number_column_with_a_few_written_out_cells_among_plain_floats(rows: int) -> None:
    special = {3: ('"1,234.5"', None), 5: ("(12)", None), 7: ("¥5", "20盒"), 9: ("inf", None),
               11: ("110.25", "4"), 10: ('"12,345"', None)}  # 11: no unit, none glued on
    lines = []
    for i in range(rows):
        amount, quantity = special.get(i, (str(_plain_amount(i)), None))
        lines.append(_plain_row(i, amount, quantity, "" if quantity else "盒"))
    parsed = _parse(lines)
    loaded = parsed.loaded
    kept = [i for i in range(rows) if i != 9]  # inf is no amount: quarantined
    assert loaded["source_row"].to_list() == [2 + i for i in kept]
    by_row = {i: r for i, r in zip(kept, loaded.iter_rows(named=True), strict=True)}
    assert by_row[3]["amount"] == 1234.5 and by_row[3]["doc_type"] == "sale"
    assert by_row[10]["amount"] == 12345.0
    assert by_row[5]["amount"] == -12.0 and by_row[5]["doc_type"] == "return"
    assert by_row[5]["quantity"] == -6.0  # a return: the quantity turned negative too
    assert by_row[7]["amount"] == 5.0 and by_row[7]["quantity"] == 20.0
    assert (by_row[7]["unit"], by_row[7]["raw_unit"]) == ("box", "盒")
    assert by_row[8]["raw_unit"] == "盒" and by_row[8]["amount"] == 80.25
    assert (by_row[11]["quantity"], by_row[11]["unit"], by_row[11]["raw_unit"]) == (4.0, "box", None)
    plain = [i for i in kept if i not in special]
    assert [by_row[i]["amount"] for i in plain] == [i * 10 + 0.25 for i in plain]
    assert [by_row[i]["quantity"] for i in plain] == [float(i % 7 + 1) for i in plain]
    q = parsed.quarantined
    assert q["source_row"].to_list() == [11]
    assert q["reason"].to_list() == [AMOUNT_ERROR.format("inf")]


@pytest.mark.parametrize("rows", [12, 300])
def test_a_number_column_of_plain_floats_only(rows: int) -> None:
    written = {0: ("-3", -3.0), 1: ("+7", 7.0), 2: (".5", 0.5), 3: ("1e3", 1000.0),
               4: ("2.50", 2.5), 5: ("0", 0.0)}
    lines = [_plain_row(i, written.get(i, (str(_plain_amount(i)), None))[0])
             for i in range(rows)]
    loaded = _parse(lines).loaded
    expected = [written[i][1] if i in written else _plain_amount(i) for i in range(rows)]
    assert loaded["amount"].to_list() == expected
    quantities = [float(i % 7 + 1) for i in range(rows)]
    quantities[0] = -quantities[0]  # -3 is a return: quantity negative
    assert loaded["quantity"].to_list() == quantities
    assert loaded["doc_type"].to_list() == ["return"] + ["sale"] * (rows - 1)
    assert loaded.schema["amount"] == pl.Float64


def test_parse_cells_reads_plain_floats_by_cast_and_the_rest_by_the_full_parser() -> None:
    cells = pl.Series("c", ["3.5", "1,234.5", None, "(12)", "¥5", "inf", "nan", "abc", "20盒",
                            "1e3", "12-", "１２"])
    assert parse_cells(cells, values.parse_number).to_list() == [
        3.5, 1234.5, None, -12.0, 5.0, None, None, None, None, 1000.0, -12.0, 12.0]
    assert parse_cells(cells, values.parse_quantity).to_list() == [
        3.5, 1234.5, None, -12.0, 5.0, None, None, None, 20.0, 1000.0, -12.0, 12.0]
    plain = pl.Series("c", ["1", None, "2.5", "-4"])
    assert parse_cells(plain, values.parse_number).to_list() == [1.0, None, 2.5, -4.0]


@pytest.mark.parametrize(("style", "rows"), [
    ("{y}-{m}-{d}", 12), ("{y}/{m}/{d}", 12), ("{y}-{m:02d}-{d:02d} 00:00:00", 12),
    ("{y}{m:02d}{d:02d}", 12), ("{y}/{m}/{d}", 300), ("{y}-{m:02d}-{d:02d} 08:30", 300),
    ("{y}{m:02d}{d:02d}", 300), ("{y}年{m}月{d}日", 300)])
def test_a_date_column_in_one_style_with_a_few_cells_in_others(style: str, rows: int) -> None:
    odd = {4: "2026年3月9日", 6: "2026.3.10", 8: "45000"}  # 45000: the Excel serial 2023-03-15
    bad = {10: style.format(y=2026, m=2, d=30)}  # no 30 February: quarantined
    lines = [_plain_row(i, "10").replace(
        "2026-03-05", odd.get(i) or bad.get(i) or style.format(y=2026, m=3, d=i % 28 + 1), 1)
        for i in range(rows)]
    parsed = _parse(lines)
    kept = [i for i in range(rows) if i != 10]
    assert parsed.loaded["source_row"].to_list() == [2 + i for i in kept]
    expected = {4: dt.date(2026, 3, 9), 6: dt.date(2026, 3, 10), 8: dt.date(2023, 3, 15)}
    assert parsed.loaded["sale_date"].to_list() == [
        expected.get(i, dt.date(2026, 3, i % 28 + 1)) for i in kept]
    assert parsed.quarantined["source_row"].to_list() == [12]
    assert parsed.quarantined["column_name"].to_list() == ["销售日期"]


def test_the_skipped_rows_notes_come_in_the_order_their_kinds_first_occur_on_every_read() -> None:
    """The notes are the file's reason in the registry; polars' group_by order is random (the
    order of blank/total flipped between two reads of the same file)."""
    rows = KINDS_BLOCK[6:7] + KINDS_BLOCK[:6] + KINDS_BLOCK[7:]  # blank, then total, note, header
    raw = ("\n".join([FLOW_HEADER, *rows]) + "\n").encode()
    grids = read_grids(ReadTask(raw, ".csv"), Limits())
    expected = ["skipped 1 blank rows (not data, not counted)",
                "skipped 1 total rows (合计/小计) (not data, not counted)",
                "skipped 1 note rows (制表人/注/备注…) (not data, not counted)",
                "skipped 2 repeated header rows (not data, not counted)"]
    for _ in range(30):
        assert parse_grids(grids, SPEC).notes == expected
