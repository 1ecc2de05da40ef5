"""A corpus of malformed files: each ends loaded, partial or rejected with a reason; none stops
the run or blocks the others, and rows read = rows loaded + rows quarantined for every one."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlwt

from tests.ingestion.conftest import FLOW_HEADER, assert_conserved, by_path

GOOD = "2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100"


def _csv(*rows: str, header: str = FLOW_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _xlsx_bytes(rows: list[list[object]], merge: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xls_bytes(rows: list[list[object]]) -> bytes:
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            ws.write(i, j, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pl.DataFrame({"invoice_no": ["I1"], "ship_date": ["2026-03-01"]}).write_parquet(buf)
    return buf.getvalue()


XLSX_ROWS = [["某某医药有限公司 2026年3月流向"], [], FLOW_HEADER.split(","),
             [dt.datetime(2026, 3, 5), "协和", "阿莫西林", "0.25g", "B1", 10, "盒", 100]]


def corpus() -> dict[str, bytes]:
    """path in the inbox → bytes; at least 30 malformed files and one good control file."""
    rnd = random.Random(7)
    xlsx = _xlsx_bytes(XLSX_ROWS, merge="A1:H1")
    files: dict[str, str | bytes] = {
        "flow/D001/control.csv": _csv(GOOD),
        "flow/D002/truncated.xlsx": xlsx[: len(xlsx) // 2],
        "flow/D002/random.csv": bytes(rnd.getrandbits(8) for _ in range(4096)),
        "flow/D002/random.xlsx": b"PK\x03\x04" + bytes(rnd.getrandbits(8) for _ in range(2048)),
        "flow/D002/random.xls": bytes(rnd.getrandbits(8) for _ in range(2048)),
        "flow/D002/empty.csv": b"",
        "flow/D002/whitespace.csv": " \n\r\n\t\n",
        "flow/D002/header_only.csv": FLOW_HEADER + "\n",
        "flow/D002/utf16.csv": _csv(GOOD).encode("utf-16"),
        "flow/D003/latin1.csv": "Date,Customer,Product,Qty\n2026-03-05,Hôpital Saint-Étienne,"
                                "Amoxicilline,5\n".encode("latin-1"),
        "flow/D003/mixed_encoding.csv": _csv(GOOD).encode("utf-8") + GOOD.encode("gbk") + b"\n",
        "flow/D003/mixed_dates.csv": _csv(GOOD, GOOD.replace("2026-03-05", "2026/3/6"),
                                          GOOD.replace("2026-03-05", "20260307"),
                                          GOOD.replace("2026-03-05", "三月八日")),
        "flow/D003/excel_serials.csv": _csv(GOOD.replace("2026-03-05", "46086"),
                                            GOOD.replace("2026-03-05", "46087.0")),
        "flow/D004/merged_title.xlsx": xlsx,
        "flow/D004/duplicate_columns.csv": _csv(GOOD + ",12", header=FLOW_HEADER + ",数量"),
        "flow/D004/long_line.csv": _csv(GOOD, "x" * 2_000_000, GOOD),
        "flow/D004/unclosed_quote.csv": _csv(GOOD, GOOD.replace("北京", '"北京'), GOOD),
        "flow/D005/title_only.csv": "某某医药有限公司\n2026年3月流向\n制表：张三\n",
        "flow/D005/report.pdf": b"%PDF-1.4 not a flow file",
        "top_level.csv": _csv(GOOD.replace(",10,", ",11,")),
        "flow/no_distributor_folder.csv": _csv(GOOD.replace(",10,", ",12,")),
        "strange_folder/file.csv": _csv(GOOD.replace(",10,", ",13,")),
        "flow/D005/extra_fields.csv": _csv(GOOD, GOOD.replace(",10,", ",1,234,")),
        "flow/D005/short_rows.csv": _csv(GOOD, "2026-03-06,协和", GOOD),
        "flow/D006/all_bad_dates.csv": _csv(GOOD.replace("2026-03-05", "n/a"),
                                            GOOD.replace("2026-03-05", "??")),
        "flow/D006/absurd_numbers.csv": _csv(GOOD.replace(",10,", ",1e300,"), GOOD),
        "flow/D006/ancient_date.csv": _csv(GOOD.replace("2026-03-05", "1899-01-01"), GOOD),
        "flow/D006/empty_sheet.xlsx": _xlsx_bytes([]),
        "flow/D007/xls_named_xlsx.xlsx": _xls_bytes(
            [FLOW_HEADER.split(","), ["2026-03-05", "协和", "阿莫西林", "0.25g", "B1", 10, "盒", 100]]),
        "flow/D007/xlsx_named_csv.csv": _xlsx_bytes(XLSX_ROWS),
        "flow/D007/crlf.csv": _csv(GOOD, GOOD).replace("\n", "\r\n"),
        "flow/D008/cr_only.csv": _csv(GOOD, GOOD).replace("\n", "\r"),
        "flow/D008/nul_late.csv": _csv(*([GOOD] * 200)) + "2026-03-05,\x00\x00,x,y,z,1,盒,1\n",
        "calls/broken.jsonl": '{"call_id": "K1", "rep_id": "R1", "call_datetime": "2026-03-05 09:00"}\n'
                              '{"call_id": "K2", "rep_id": \n',
        "sellin/truncated.parquet": _parquet_bytes()[:40],
        "flow/D008/deep_header.csv": "\n".join(["备注"] * 30) + "\n" + _csv(GOOD),
        "flow/D008/repeated_headers.csv": _csv(GOOD, FLOW_HEADER, GOOD, FLOW_HEADER, GOOD),
        "flow/D009/trailing_tabs.txt": _csv(GOOD, GOOD).replace(",", "\t").replace("\n", "\t\t\n"),
        "flow/D009/bom_semicolon.csv": "\ufeff" + _csv(GOOD).replace(",", ";"),
        "flow/D009/formula_errors.xlsx": _xlsx_bytes(
            [FLOW_HEADER.split(","), ["2026-03-05", "协和", "阿莫西林", "0.25g", "B1", "=1/0", "盒",
                                      100]]),
        "flow/D010/bad_mapping.csv": _csv(GOOD.replace(",10,", ",14,")),
        "flow/D011/only_totals.csv": _csv("合计,,,,,0,,0", "", ""),
        "master/customers_2026-10-31.csv": "crm_customer_id,name\nC1,协和\n,无编号医院\n",
        "master/unknown_entity.csv": "a,b\n1,2\n",
    }
    return {_own_folder(k): v if isinstance(v, bytes) else v.encode("utf-8")
            for k, v in files.items()}


def _own_folder(rel: str) -> str:
    """flow/D002/x.csv → flow/D002-x/x.csv: one distributor per file, so periods never collide."""
    parts = rel.split("/")
    if len(parts) == 3 and parts[0] == "flow":
        parts[1] = f"{parts[1]}-{Path(parts[2]).stem}"
    return "/".join(parts)


EXPECTED = {
    "flow/D001/control.csv": "loaded",
    "flow/D002/truncated.xlsx": "rejected",
    "flow/D002/random.csv": "rejected",
    "flow/D002/random.xlsx": "rejected",
    "flow/D002/empty.csv": "rejected",
    "flow/D002/whitespace.csv": "rejected",
    "flow/D002/header_only.csv": "rejected",
    "flow/D003/mixed_dates.csv": "partial",
    "flow/D003/excel_serials.csv": "loaded",
    "flow/D004/merged_title.xlsx": "loaded",
    "flow/D004/duplicate_columns.csv": "loaded",
    "flow/D004/long_line.csv": "partial",
    "flow/D005/title_only.csv": "rejected",
    "flow/D005/report.pdf": "rejected",
    "top_level.csv": "rejected",
    "flow/no_distributor_folder.csv": "rejected",
    "strange_folder/file.csv": "rejected",
    "flow/D005/extra_fields.csv": "partial",
    "flow/D005/short_rows.csv": "partial",
    "flow/D006/all_bad_dates.csv": "partial",
    "flow/D006/absurd_numbers.csv": "partial",
    "flow/D006/ancient_date.csv": "partial",
    "flow/D006/empty_sheet.xlsx": "rejected",
    "flow/D007/xls_named_xlsx.xlsx": "loaded",
    "flow/D007/xlsx_named_csv.csv": "loaded",
    "flow/D007/crlf.csv": "loaded",
    "flow/D008/cr_only.csv": "loaded",
    "calls/broken.jsonl": "rejected",
    "sellin/truncated.parquet": "rejected",
    "flow/D008/deep_header.csv": "loaded",
    "flow/D008/repeated_headers.csv": "loaded",
    "flow/D009/trailing_tabs.txt": "loaded",
    "flow/D009/bom_semicolon.csv": "loaded",
    "flow/D010/bad_mapping.csv": "rejected",
    "flow/D011/only_totals.csv": "rejected",
    "master/customers_2026-10-31.csv": "partial",
    "master/unknown_entity.csv": "rejected",
}


@pytest.fixture
def corpus_report(settings, inbox: Path, put, tmp_path):
    from dataclasses import replace

    from ingestion.pipeline import ingest_inbox

    files = corpus()
    assert len(files) >= 31
    for rel, data in files.items():
        put(rel, data)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "D010-bad_mapping.yaml").write_text("columns: [oops\n", encoding="utf-8")
    return ingest_inbox(replace(settings, mappings_dir=mappings), inbox)


def test_every_malformed_file_ends_with_a_status_and_reason(corpus_report, query):
    """(One test: the corpus is ingested once.) Also: damaged files do not block good rows."""
    results = by_path(corpus_report)
    assert len(results) == len(corpus())
    for path, f in results.items():
        assert f["status"] in {"loaded", "partial", "rejected"}, (path, f)
        if f["status"] != "loaded":
            assert f["reasons"] and all(r.strip() for r in f["reasons"]), (path, f)
        assert "could not be processed" not in " ".join(f["reasons"]), (path, f["reasons"])
    expected = {_own_folder(p): status for p, status in EXPECTED.items()}
    assert {p: results[p]["status"] for p in expected} == expected
    assert_conserved(corpus_report)
    _damaged_files_do_not_block_good_rows(corpus_report, query)


def _damaged_files_do_not_block_good_rows(corpus_report, query):
    results = {p.replace("-" + Path(p).stem, ""): f for p, f in by_path(corpus_report).items()}
    assert results["flow/D004/long_line.csv"]["rows_loaded"] == 2
    assert results["flow/D004/unclosed_quote.csv"]["rows_loaded"] >= 2
    assert results["flow/D008/nul_late.csv"]["rows_loaded"] == 200
    assert results["flow/D008/repeated_headers.csv"]["rows_loaded"] == 3
    assert "mappings" in results["flow/D010/bad_mapping.csv"]["reasons"][0]
    loaded = query("select count(*) from raw.flow__lines")[0][0]
    assert loaded == sum(f.rows_loaded for f in corpus_report.files if f.source == "flow")
    quarantined = query("select count(*) from quarantine.rows")[0][0]
    assert quarantined == sum(f.rows_quarantined for f in corpus_report.files)
    assert all(json.loads(r[0]) for r in query("select raw_values from quarantine.rows"))
