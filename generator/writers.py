"""Byte-deterministic writers for CSV/TXT, XLSX (openpyxl) and XLS (xlwt), plus arrival times.

XLSX: openpyxl stamps the save time into docProps/core.xml and zip entries carry the wall
clock; both are pinned here so the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

FIXED_STAMP = datetime(2026, 1, 1, 8, 0, 0)
SHANGHAI = timezone(timedelta(hours=8))


class GenerateError(RuntimeError):
    """Writing a generated file failed; the message names the file."""


def set_arrival(path: Path, when: datetime) -> None:
    """File mtime = when the file 'arrived' in the inbox (naive Asia/Shanghai local time)."""
    ts = when.replace(tzinfo=SHANGHAI).timestamp()
    os.utime(path, (ts, ts))


def _encode(text: str, encoding: str, path: Path) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise GenerateError(f"{path}: character {bad!r} cannot be written in {encoding}") from exc


def write_text(path: Path, title: Sequence[str], df: pl.DataFrame, footer: Sequence[Sequence[object]],
               sep: str, encoding: str, crlf: bool, pad: bool) -> int:
    """CSV/TXT: title rows, header + data (polars, quoted where needed), total/note rows."""
    nl = "\r\n" if crlf else "\n"
    width = df.width
    parts = []
    for t in title:
        parts.append(t + (sep * (width - 1) if pad else "") + nl)
    parts.append(df.write_csv(separator=sep, line_terminator=nl, quote_style="necessary"))
    for row in footer:
        cells = ["" if v is None else str(v) for v in row]
        if not pad:
            while cells and cells[-1] == "":
                cells.pop()
        parts.append(sep.join(_quote(c, sep) for c in cells) + nl)
    data = _encode("".join(parts), encoding, path)
    path.write_bytes(data)
    return len(data)


def _quote(cell: str, sep: str) -> str:
    if sep in cell or '"' in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def deterministic_zip(raw: bytes) -> bytes:
    """Re-pack a zip with fixed entry timestamps and a stable order."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o600 << 16
            dst.writestr(new, src.read(info.filename))
    return out.getvalue()


def xlsx_bytes(sheet_rows: Iterable[Sequence[object]], sheet_name: str = "Sheet1",
               date_cols: Sequence[int] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    wb.properties.created = FIXED_STAMP
    wb.properties.modified = FIXED_STAMP
    wb.properties.creator = "ERP Export"
    ws = wb.create_sheet(sheet_name)
    dates = set(date_cols)
    for row in sheet_rows:
        if dates and any(isinstance(v, date) for v in row):
            out = []
            for i, v in enumerate(row):
                if i in dates and isinstance(v, date):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "yyyy-mm-dd"
                    out.append(cell)
                else:
                    out.append(v)
            ws.append(out)
        else:
            ws.append(list(row))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return deterministic_zip(buf.getvalue())


def xls_bytes(sheet_rows: Iterable[Sequence[object]], sheet_name: str = "Sheet1") -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(sheet_name)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(sheet_rows):
        if r >= 65535:
            raise GenerateError("xls sheet is limited to 65535 rows")
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, date):
                sheet.write(r, c, datetime(v.year, v.month, v.day), date_style)
            else:
                sheet.write(r, c, v)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def write_csv_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]],
                   encoding: str = "utf-8") -> int:
    """Clean system extracts: plain CSV, LF line ends, empty string for None."""
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    n = 0
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
        n += 1
    path.write_bytes(_encode(buf.getvalue(), encoding, path))
    return n
