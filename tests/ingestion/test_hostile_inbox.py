"""Hostile inbox files (issue 12): none can stop the load, hide from it, or leak through it.

Each crafted file is small and built here; each case checks that the run finishes, the other
files load, rows read = loaded + quarantined, and the reason says what to do.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
import xlwt

from ingestion.isolation import IsolatedReader, Limits, ReadTask
from ingestion.pipeline import ingest_inbox
from ingestion.readers import ReadError
from sfe.config import ConfigError
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError
from tests.ingestion.conftest import FLOW_HEADER, assert_conserved, by_path
from tests.ingestion.test_corpus import _xls_bytes

GOOD = "2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100"
GOOD_CSV = f"{FLOW_HEADER}\n{GOOD}\n"
SECRET = "DB_PASSWORD=hunter2-do-not-leak"


def _workbook(far_cell: str | None = "XFD1048576") -> bytes:
    """A header, one data row and (optionally) one cell far away: 5 KB on disk."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(FLOW_HEADER.split(","))
    ws.append(GOOD.split(","))
    if far_cell:
        ws[far_cell] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _undeclared_far_cell() -> bytes:
    """No <dimension> and the far cell hidden inside row 2: only the reader's cap can stop it."""
    src = zipfile.ZipFile(io.BytesIO(_workbook(None)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", data)
                data = data.replace(b'<c r="H2"', b'<c r="XFD1048576"')
            dst.writestr(info.filename, data)
    return out.getvalue()


def _zip_bomb(mb: int = 120) -> bytes:
    """A valid workbook whose sheet unpacks to `mb` MB (padding inside <sheetData>) from a
    few hundred KB: the shape of a zip bomb, small enough for a test."""
    src = zipfile.ZipFile(io.BytesIO(_workbook(None)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info.filename, data)
                continue
            head, tail = data.split(b"<sheetData>")
            with dst.open(info.filename, "w") as sheet:
                sheet.write(head + b"<sheetData>")
                for _ in range(mb):
                    sheet.write(b" " * (1 << 20))
                sheet.write(tail)
    return out.getvalue()


def _xls_claiming_rows(rows: int) -> bytes:
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for i, line in enumerate([FLOW_HEADER, GOOD]):
        for j, value in enumerate(line.split(",")):
            ws.write(i, j, value)
    buf = io.BytesIO()
    wb.save(buf)
    raw = bytearray(buf.getvalue())
    at = raw.find(b"\x00\x02\x0e\x00")  # BIFF8 DIMENSIONS: first row, last row + 1, cols
    assert at > 0 and struct.unpack_from("<II", raw, at + 4) == (0, 2)
    struct.pack_into("<I", raw, at + 8, rows)
    return bytes(raw)


def _ingest(settings, inbox: Path):
    return ingest_inbox(settings, inbox)


def _registry(query) -> dict[str, tuple[str, list[str]]]:
    return {p: (s, list(r)) for p, s, r in
            query("select path, status, reasons from audit.file_registry")}


# -- 1. isolation ------------------------------------------------------------------------------

def test_cell_at_xfd1048576_rejects_that_file_and_the_others_load(settings, inbox, put, query):
    put("flow/D001/a_good.csv", GOOD_CSV)
    put("flow/D002/far_cell.xlsx", _workbook())
    put("flow/D003/z_good.csv", GOOD_CSV.replace(",10,", ",7,"))
    report = _ingest(settings, inbox)
    files = by_path(report)
    bad = files["flow/D002/far_cell.xlsx"]
    assert bad["status"] == "rejected"
    assert "1,048,576 rows × 16,384 columns" in bad["reasons"][0]
    assert "Ctrl+End" in bad["reasons"][0]  # what to do
    assert files["flow/D003/z_good.csv"]["rows_loaded"] == 1
    assert files["flow/D001/a_good.csv"]["rows_loaded"] == 1
    assert report.exit_code == EXIT_NEEDS_ATTENTION
    assert _registry(query)["flow/D002/far_cell.xlsx"][0] == "rejected"
    assert_conserved(report)


def test_a_reader_that_dies_rejects_only_its_file(settings, inbox, put, query):
    """Nothing declares the far cell, so the worker's memory cap is what stops calamine."""
    put("flow/D002/hidden_far_cell.xlsx", _undeclared_far_cell())
    put("flow/D003/after.csv", GOOD_CSV)
    report = _ingest(settings, inbox)
    files = by_path(report)
    reason = files["flow/D002/hidden_far_cell.xlsx"]["reasons"][0]
    assert files["flow/D002/hidden_far_cell.xlsx"]["status"] == "rejected"
    assert "more memory than allowed" in reason and "save it again" in reason
    assert files["flow/D003/after.csv"]["rows_loaded"] == 1
    assert "flow/D002/hidden_far_cell.xlsx" in _registry(query)


def test_zip_bomb_posing_as_xlsx_is_rejected_unopened(settings, inbox, put):
    put("flow/D002/bomb.xlsx", _zip_bomb())
    put("flow/D003/after.csv", GOOD_CSV)
    files = by_path(_ingest(settings, inbox))
    assert files["flow/D002/bomb.xlsx"]["status"] == "rejected"
    assert "zip bomb" in files["flow/D002/bomb.xlsx"]["reasons"][0]
    assert files["flow/D003/after.csv"]["rows_loaded"] == 1


def test_xls_declaring_four_billion_rows_is_rejected(settings, inbox, put):
    put("flow/D002/huge.xls", _xls_claiming_rows(0xFFFF_FFF0))
    put("flow/D002/honest.xls", _xls_claiming_rows(2), age=1)
    report = _ingest(settings, inbox)
    files = by_path(report)
    assert files["flow/D002/huge.xls"]["status"] == "rejected"
    assert "4,294,967,280 rows" in files["flow/D002/huge.xls"]["reasons"][0]
    assert files["flow/D002/honest.xls"]["rows_loaded"] == 1
    assert_conserved(report)


def test_xls_whose_cells_hold_the_dimensions_bytes_is_read(settings, inbox, put):
    """896 boxes is stored as an RK cell whose bytes contain DIMENSIONS' id (00 02 0E 00): a
    byte search took it for a sheet of 134 million rows and rejected real distributor files."""
    header = FLOW_HEADER.split(",")
    row = GOOD.split(",")
    raw = _xls_bytes([header] + [[*row[:5], 896, row[6], 89600]] * 3)
    assert b"\x00\x02\x0e\x00" in raw[raw.find(b"\x00\x02\x0e\x00") + 4:]  # a second hit: in a cell
    put("flow/D002/896boxes.xls", raw)
    report = _ingest(settings, inbox)
    files = by_path(report)
    assert files["flow/D002/896boxes.xls"]["status"] == "loaded", files["flow/D002/896boxes.xls"]
    assert files["flow/D002/896boxes.xls"]["rows_loaded"] == 3
    assert_conserved(report)


def test_a_read_that_runs_out_of_time_is_stopped_and_the_next_gets_a_fresh_worker():
    slow = (FLOW_HEADER + "\n" + (GOOD + "\n") * 200_000).encode()  # ~0.1 s or more to read
    with IsolatedReader(Limits(seconds=0.001)) as reader:
        with pytest.raises(ReadError, match="took longer than 0.001 s"):
            reader.read(ReadTask(slow, ".csv"))
        reader.limits = Limits(seconds=60)
        grid = reader.read(ReadTask(GOOD_CSV.encode(), ".csv"))[0]
    assert grid.frame.height == 2 and grid.frame["c1"].to_list() == ["客户名称", "北京协和医院"]


def test_csv_that_never_closes_a_quote_still_finishes(settings, inbox, put):
    put("flow/D002/open_quote.csv", f'{FLOW_HEADER}\n{GOOD}\n2026-03-06,"协和,阿莫西林,0.25g,B1,5,盒,50\n'
                                    + "\n".join([GOOD] * 3) + "\n")
    report = _ingest(settings, inbox)
    f = by_path(report)["flow/D002/open_quote.csv"]
    assert f["rows_read"] == 5 and f["rows_loaded"] >= 4
    assert_conserved(report)


def test_file_removed_or_rewritten_while_read_is_rejected_and_run_goes_on(
        settings, inbox, put, monkeypatch):
    gone = put("flow/D002/gone.csv", GOOD_CSV)
    moving = put("flow/D003/moving.csv", GOOD_CSV)
    put("flow/D004/still.csv", GOOD_CSV)
    real_read = Path.read_bytes

    def racing_read(self: Path) -> bytes:
        data = real_read(self)
        if self == gone:
            raise FileNotFoundError(2, "No such file or directory")
        if self == moving:  # the sender's copy appends while we read
            with open(self, "ab") as fh:
                fh.write(GOOD.encode() + b"\n")
        return data

    monkeypatch.setattr(Path, "read_bytes", racing_read)
    report = _ingest(settings, inbox)
    files = by_path(report)
    assert files["flow/D002/gone.csv"]["status"] == "rejected"
    assert "copy it again" in files["flow/D002/gone.csv"]["reasons"][0]
    assert files["flow/D003/moving.csv"]["status"] == "rejected"
    assert "changed while it was being read" in files["flow/D003/moving.csv"]["reasons"][0]
    assert files["flow/D004/still.csv"]["rows_loaded"] == 1


# -- 2. nothing invisible ----------------------------------------------------------------------

def test_every_entry_not_read_is_listed_with_why(settings, inbox, put, query):
    put("flow/D001/_draft.csv", GOOD_CSV)
    put("flow/D001/~$销售.xlsx", b"\x00lock")
    put("flow/D001/.hidden.csv", GOOD_CSV)
    put("_truth/customers.csv", "a\n")
    put("_truth/products.csv", "a\n")
    put("flow/D001/real.csv", GOOD_CSV)
    report = _ingest(settings, inbox)
    doc = report.to_dict()
    skipped = {s["path"]: s["reason"] for s in doc["skipped"]}  # type: ignore[union-attr]
    assert set(skipped) == {"flow/D001/_draft.csv", "flow/D001/~$销售.xlsx",
                            "flow/D001/.hidden.csv", "_truth/"}
    assert "rename it without the '_'" in skipped["flow/D001/_draft.csv"]
    assert "Excel lock file" in skipped["flow/D001/~$销售.xlsx"]
    assert "hidden" in skipped["flow/D001/.hidden.csv"]
    assert "(2 files inside)" in skipped["_truth/"]
    assert [f["path"] for f in doc["files"]] == ["flow/D001/real.csv"]  # type: ignore[index]
    assert doc["totals"]["skipped"] == 4  # type: ignore[index]
    assert report.exit_code == EXIT_OK  # set aside by rule: nobody needs to act
    stored = dict(query("select path, reason from audit.inbox_skipped"))
    assert stored == skipped


def test_skipped_list_reflects_the_latest_scan(settings, inbox, put, query):
    draft = put("flow/D001/_draft.csv", GOOD_CSV)
    _ingest(settings, inbox)
    draft.rename(inbox / "flow/D001/draft.csv")
    report = _ingest(settings, inbox)
    assert report.to_dict()["skipped"] == []
    assert query("select count(*) from audit.inbox_skipped")[0][0] == 0
    assert by_path(report)["flow/D001/draft.csv"]["rows_loaded"] == 1


# -- 3. links and leaks ------------------------------------------------------------------------

def test_link_to_a_file_outside_the_inbox_is_rejected_unopened(settings, inbox, put, tmp_path,
                                                               query, monkeypatch):
    secret = tmp_path / "server.env"
    secret.write_text(f"{SECRET}\nOTHER=1\n", encoding="utf-8")
    os.symlink(secret, inbox / "flow.csv")
    (inbox / "flow/D001").mkdir(parents=True)
    os.symlink(secret, inbox / "flow/D001/linked.csv")
    os.symlink(tmp_path, inbox / "flow/D002")  # a folder link out of the inbox
    put("flow/D003/good.csv", GOOD_CSV)
    opened: list[Path] = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: opened.append(p) or real_read(p))
    report = _ingest(settings, inbox)
    files = by_path(report)
    for rel in ("flow.csv", "flow/D001/linked.csv"):
        assert files[rel]["status"] == "rejected"
        assert "link to a file outside the inbox" in files[rel]["reasons"][0]
    assert secret not in opened and secret.resolve() not in opened
    assert "flow/D002/" in {s["path"] for s in report.skipped}
    assert files["flow/D003/good.csv"]["rows_loaded"] == 1
    everything = json.dumps(report.to_dict(), ensure_ascii=False) + str(
        query("select * from audit.file_registry"))
    assert "hunter2" not in everything


def test_rejection_of_a_headerless_file_quotes_none_of_its_cells(settings, inbox, put, query):
    put("flow/D001/config.csv", f"{SECRET}\nAPI_KEY=abc123secret\n")
    report = _ingest(settings, inbox)
    f = by_path(report)["flow/D001/config.csv"]
    assert f["status"] == "rejected" and "no header row found" in f["reasons"][0]
    stored = str(query("select reasons from audit.file_registry"))
    assert "hunter2" not in " ".join(f["reasons"]) + stored
    assert "abc123secret" not in " ".join(f["reasons"]) + stored


def test_link_to_a_file_inside_the_inbox_is_read(settings, inbox, put):
    real = put("flow/D001/real.csv", GOOD_CSV)
    (inbox / "flow/D002").mkdir()
    os.symlink(real, inbox / "flow/D002/alias.csv")
    files = by_path(_ingest(settings, inbox))
    assert files["flow/D001/real.csv"]["rows_loaded"] == 1
    assert files["flow/D002/alias.csv"]["status"] == "duplicate"  # same bytes, not counted twice


# -- 4./6. acknowledgement ---------------------------------------------------------------------

def _acknowledge(settings, lines: str) -> None:
    settings.stewardship_dir.mkdir(parents=True, exist_ok=True)
    (settings.stewardship_dir / "file_decisions.yaml").write_text(lines, encoding="utf-8")


def test_crafted_file_among_30_good_ones_then_acknowledged_run_exits_0(settings, inbox, put,
                                                                          query):
    for i in range(30):
        put(f"flow/D{i:03d}/flow_2026-03.csv", GOOD_CSV.replace(",10,", f",{i + 1},"))
    put("flow/D999/crafted.xlsx", _workbook())
    first = _ingest(settings, inbox)
    assert first.exit_code == EXIT_NEEDS_ATTENTION
    loaded = [f for f in first.files if f.status == "loaded"]
    assert len(loaded) == 30 and sum(f.rows_loaded for f in loaded) == 30
    assert query("select sum(quantity) from raw.flow__lines")[0][0] == sum(range(1, 31))
    _acknowledge(settings, "flow/D999/crafted.xlsx: {decision: ignore, by: 王芳, "
                           "why: sender re-sent it as CSV}\n")
    second = _ingest(settings, inbox)
    assert second.exit_code == EXIT_OK
    crafted = by_path(second)["flow/D999/crafted.xlsx"]
    assert crafted["status"] == "rejected"
    assert crafted["acknowledged"] == "acknowledged (ignore) by 王芳: sender re-sent it as CSV"
    status, reasons = _registry(query)["flow/D999/crafted.xlsx"]
    assert status == "rejected" and reasons[-1] == crafted["acknowledged"]
    assert "16,384 columns" in reasons[0]  # the original reason stays
    third = _ingest(settings, inbox)  # unchanged: nothing rewritten, still fine
    assert third.exit_code == EXIT_OK and _registry(query)["flow/D999/crafted.xlsx"][1] == reasons


def test_ignore_without_who_and_why_is_a_usage_error(settings, inbox, put):
    put("flow/D001/x.csv", GOOD_CSV)
    _acknowledge(settings, "flow/D001/x.csv: ignore\n")
    with pytest.raises(UsageError, match="must say who and why"):
        _ingest(settings, inbox)


def test_limits_come_from_settings(settings, inbox, put):
    """A workbook of 200 × 16,384 declared cells passes 2 GB but not a 16 MB cap."""
    put("flow/D001/wide.xlsx", _workbook("XFD200"))
    small = replace(settings, ingest_memory_mb=16)
    reason = by_path(ingest_inbox(small, inbox))["flow/D001/wide.xlsx"]["reasons"][0]
    assert "200 rows × 16,384 columns" in reason and "limit of 16 MB" in reason


def test_a_memory_cap_too_tight_to_start_the_reader_is_a_setting_error(settings, inbox, put):
    """Not 'every file is damaged': the run stops with exit 2 naming the setting."""
    put("flow/D001/good.csv", GOOD_CSV)
    with pytest.raises(ConfigError, match="ingest_memory_mb = 64"):
        ingest_inbox(replace(settings, ingest_memory_mb=64), inbox)
