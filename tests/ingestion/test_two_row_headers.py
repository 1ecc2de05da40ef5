"""Two-row headers: a group row with merged cells over a sub-header row, in every file format.

Each file is written by hand the way a distributor's export looks: title rows, then the group
row (客户 over 编码/名称, 产品 over 名称/规格, 数量 over its unit), then the data. Expected values
are written out in the tests, not derived from the reader.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
import xlwt

from ingestion.readers import read_excel
from tests.ingestion.conftest import assert_conserved

Cell = str | int | float | None
Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (0-based)

TITLE = "华东医药有限公司 2026年3月销售流向"
UPPER: list[Cell] = ["销售日期", "客户", None, "产品", None, "批号", "数量", "金额"]
LOWER: list[Cell] = [None, "编码", "名称", "名称", "规格", None, "盒", None]
DATA: list[list[Cell]] = [
    ["2026-03-05", "H001", "北京协和医院", "阿莫西林胶囊", "0.25g*24", "B001", 10, 125.5],
    ["2026-03-06", "H002", "北京医院", "头孢克洛片", "0.25g*6", "B002", 5, 60],
    ["2026-02-30", "H003", "北京积水潭医院", "阿莫西林胶囊", "0.25g*24", "B001", 2, 25],
    ["合计", None, None, None, None, None, 17, 210.5],
]
# rows 1-2 title, 3 blank, 4-5 the header; data in rows 6-8, the total in row 9
SHEET: list[list[Cell]] = [[TITLE], ["制表日期：2026-04-02"], [], UPPER, LOWER, *DATA]
MERGES: list[Merge] = [(0, 0, 0, 7), (3, 0, 4, 0), (3, 1, 3, 2), (3, 3, 3, 4), (3, 5, 4, 5),
                       (3, 7, 4, 7)]


def _text(rows: list[list[Cell]], delimiter: str = ",") -> str:
    """What Excel's "save as CSV" writes: a merged label once, empty cells after it."""
    width = max(len(r) for r in rows)
    lines = [delimiter.join("" if c is None else str(c) for c in [*r, *[None] * (width - len(r))])
             for r in rows]
    return "\n".join(lines) + "\n"


def _xlsx(rows: list[list[Cell]], merges: list[Merge]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for r1, c1, r2, c2 in merges:
        ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xls(rows: list[list[Cell]], merges: list[Merge]) -> bytes:
    wb = xlwt.Workbook()
    ws = wb.add_sheet("流向")
    covered = {(r, c) for r1, c1, r2, c2 in merges
               for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    for r1, c1, r2, c2 in merges:
        ws.write_merge(r1, r2, c1, c2, rows[r1][c1])
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None and (i, j) not in covered:
                ws.write(i, j, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _file(kind: str, rows: list[list[Cell]], merges: list[Merge]) -> bytes:
    if kind == "xlsx":
        return _xlsx(rows, merges)
    if kind == "xls":
        return _xls(rows, merges)
    return _text(rows, "\t" if kind == "txt" else ",").encode("utf-8")


def test_merged_cells_come_through_as_empty_cells():
    """The premise of the rule: calamine gives a merged area's other cells as empty."""
    for kind, data in (("xlsx", _xlsx(SHEET, MERGES)), ("xls", _xls(SHEET, MERGES))):
        frame = read_excel(data, kind)[0].frame
        header = frame.filter(frame["_row"].is_in([4, 5])).select("c0", "c1", "c2", "c6").rows()
        assert header == [("销售日期", "客户", None, "数量"), (None, "编码", "名称", "盒")], kind


@pytest.mark.parametrize("kind", ["csv", "txt", "xlsx", "xls"])
def test_two_row_header_under_title_rows(put, ingest, query, kind):
    put(f"flow/D001/march.{kind}", _file(kind, SHEET, MERGES))
    report = ingest()
    assert_conserved(report)
    f = report.files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("partial", 3, 2, 1), \
        f.reasons
    assert any("two rows (4 and 5)" in r for r in f.reasons)
    assert query("select source_row, sale_date, buyer_code, buyer_name, product_name, spec, "
                 "batch_no, quantity, unit, raw_unit, amount from raw.flow__lines "
                 "order by source_row") == [
        (6, dt.date(2026, 3, 5), "H001", "北京协和医院", "阿莫西林胶囊", "0.25g*24", "B001",
         10.0, "box", "盒", 125.5),
        (7, dt.date(2026, 3, 6), "H002", "北京医院", "头孢克洛片", "0.25g*6", "B002",
         5.0, "box", "盒", 60.0)]
    row, column, reason, raw = query(
        "select source_row, column_name, reason, raw_values from quarantine.rows")[0]
    assert (row, column) == (8, "销售日期") and "2026-02-30" in reason
    cells = json.loads(raw)
    assert (cells["客户编码"], cells["客户名称"], cells["产品名称"], cells["产品规格"]) == (
        "H003", "北京积水潭医院", "阿莫西林胶囊", "0.25g*24")


@pytest.mark.parametrize(("unit", "canonical"), [("盒", "box"), ("支", "min_unit")])
def test_unit_under_the_quantity_cell_and_vertically_merged_columns(put, ingest, query,
                                                                      unit, canonical):
    """日期/数量/金额 merged down over both header rows (xlsx), 产品 over 名称/规格, the
    quantity's unit in the sub-header row under 数量, 元 under 金额."""
    rows: list[list[Cell]] = [
        ["某某医药 销售明细"],
        ["日期", "购货单位", "产品", None, "数量", "金额"],
        [None, None, "名称", "规格", unit, "元"],
        ["2026-03-05", "北京协和医院", "阿莫西林胶囊", "0.25g*24", 12, 150],
        ["2026-03-07", "北京医院", "阿莫西林胶囊", "0.25g*24", "十二", 150]]
    merges = [(1, 0, 2, 0), (1, 1, 2, 1), (1, 2, 1, 3)]
    put("flow/D002/march.xlsx", _xlsx(rows, merges))
    f = ingest().files[0]
    assert (f.status, f.rows_loaded, f.rows_quarantined) == ("partial", 1, 1), f.reasons
    assert query("select source_row, buyer_name, product_name, spec, quantity, unit, raw_unit, "
                 "amount from raw.flow__lines") == [
        (4, "北京协和医院", "阿莫西林胶囊", "0.25g*24", 12.0, canonical, unit, 150.0)]
    assert query("select source_row, column_name from quarantine.rows") == [(5, f"数量({unit})")]


def test_inventory_two_row_header_in_csv(put, ingest, query):
    text = _text([
        ["库存日期：2026年3月31日"],
        ["商品", None, None, "批号", "库存", None],
        ["编码", "名称", "规格", None, "数量", "单位"],
        ["SP01", "阿莫西林胶囊", "0.25g*24", "B001", 100, "盒"],
        ["SP02", "头孢克洛片", "0.25g*6", "B002", 30, "件"]])
    put("inventory/D003/stock.csv", text)
    f = ingest().files[0]
    assert f.status == "loaded", f.reasons
    assert query("select source_row, snapshot_date, product_name, spec, batch_no, quantity, unit "
                 "from raw.inventory__lines order by 1") == [
        (4, dt.date(2026, 3, 31), "阿莫西林胶囊", "0.25g*24", "B001", 100.0, "box"),
        (5, dt.date(2026, 3, 31), "头孢克洛片", "0.25g*6", "B002", 30.0, "case")]


def test_first_data_row_is_not_taken_for_a_sub_header(put, ingest, query):
    """A one-row header with unnamed columns after 客户 and 产品 looks like a group row; the row
    below it is data (a date, numbers), so the header stays one row and row 2 is loaded."""
    text = _text([["日期", "客户", None, "产品", None, "数量", "单位"],
                  ["2026-03-05", "H001", "北京协和医院", "阿莫西林胶囊", "0.25g*24", 10, "支"],
                  ["2026-03-06", "H002", "北京医院", "头孢克洛片", "0.25g*6", 3, "盒"]])
    put("flow/D004/march.csv", text)
    f = ingest().files[0]
    assert (f.status, f.rows_read) == ("loaded", 2), f.reasons
    assert not any("two rows" in r for r in f.reasons)
    assert query("select source_row, buyer_name, product_name, quantity, unit from "
                 "raw.flow__lines order by 1") == [
        (2, "H001", "阿莫西林胶囊", 10.0, "min_unit"), (3, "H002", "头孢克洛片", 3.0, "box")]


def test_text_only_first_data_row_is_not_a_sub_header(put, ingest, query):
    """Data rows without numbers: reading the row as sub-headers would lose 品名, so the
    one-row reading stays (every field it finds must survive a two-row reading)."""
    text = _text([["品名", "规格", "数量", "单位"],
                  ["阿莫西林胶囊", "盒装", None, "盒"],
                  ["头孢克洛片", "0.25g*6", 3, "盒"]])
    put("inventory/D005/库存_20260331.csv", text)
    f = ingest().files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 1, 1), f.reasons
    assert query("select source_row, product_name from raw.inventory__lines") == [(3, "头孢克洛片")]
    assert query("select source_row, column_name from quarantine.rows") == [(2, "数量")]


def test_a_two_row_header_repeated_on_every_page_is_skipped(put, ingest, query):
    """A printed export repeats its (two-row) header on each page: both copied rows are
    header rows, neither counted nor quarantined."""
    text = _text([UPPER, LOWER, DATA[0], DATA[1], UPPER, LOWER,
                  ["2026-03-09", "H004", "北京友谊医院", "头孢克洛片", "0.25g*6", "B003", 4, 48]])
    put("flow/D006/march.csv", text)
    f = ingest().files[0]
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 3, 3, 0), \
        f.reasons
    assert query("select source_row, buyer_code from raw.flow__lines order by 1") == [
        (3, "H001"), (4, "H002"), (7, "H004")]
