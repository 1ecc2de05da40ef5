"""Downloads: cells a spreadsheet would run as formulas are quoted (CSV and Excel)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from dashboards.export import escape_formulas, to_csv_bytes, to_excel_bytes

EVIL = pd.DataFrame({
    "name": ["=HYPERLINK(\"http://x\",\"y\")", "+86 138", "-2+3", "@SUM(A1)", "\tx", "\rx",
             "上海一院", None],
    "amount": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
})


def test_formula_cells_get_a_leading_quote_and_numbers_stay_numbers():
    out = escape_formulas(EVIL)
    assert list(out["name"])[:7] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+86 138", "'-2+3",
                                     "'@SUM(A1)", "'\tx", "'\rx", "上海一院"]
    assert pd.isna(out["name"].iloc[7])  # a missing value stays missing
    assert list(out["amount"]) == [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert EVIL["name"].iloc[0].startswith("=")  # the shown table is not changed


def test_csv_download_is_quoted_utf8_with_bom():
    raw = to_csv_bytes(EVIL.head(1).assign(name=["=1+2"]))
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines() == ["name,amount", "'=1+2,-5.0"]


def test_excel_download_holds_text_not_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(EVIL)))
    sheet = book.active
    first = sheet["A2"]
    assert first.value == "'=HYPERLINK(\"http://x\",\"y\")" and first.data_type == "s"
    assert sheet["A5"].value == "'@SUM(A1)"
    assert sheet["B2"].value == -5
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
