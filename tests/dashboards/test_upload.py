"""Upload on the Loads page: the preview uses the loader's own functions and writes nothing; the
file goes into inbox/flow/<code>/ atomically, under a safe name, and only `sfe ingest` loads it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dashboards import upload
from ingestion.pipeline import ingest_inbox
from tests.dashboards.snapshot_fixture import build_snapshot

DISTRIBUTORS = ["D001", "D002", "D003"]
# GBK, a title row above the header, a total row, one impossible date (row 5)
FLOW_CSV = ("上海医药分销 2026年10月流向\n"
            "销售日期,客户编码,客户名称,客户地址,产品名称,规格,数量,单位,单价,金额\n"
            "2026-10-03,B-01,上海市第一人民医院,上海市虹口区,阿托伐他汀钙片,20mg*7片,10,盒,30,300\n"
            "2026-10-05,B-77,上海一院,,阿托伐他汀钙片,20mg*7片,5,盒,30,150\n"
            "2026-13-45,B-02,上海新华医院,,氨氯地平片,5mg*28片,3,盒,40,120\n"
            "2026-10-09,,浦东康桥社区卫生服务中心,,氨氯地平片,5mg*28片,2,盒,40,80\n"
            "2026-10-10,,海角天涯大药房,,氨氯地平片,5mg*28片,1,盒,40,40\n"
            "合计,,,,,,21,,,690\n").encode("gbk")


@pytest.fixture
def snap(settings):
    build_snapshot(settings.published_db)
    return settings


def _add_masters(db: Path) -> None:
    """A customer and distributor master in the snapshot, as a real publish copies raw.*."""
    con = duckdb.connect(str(db))
    try:
        con.execute("create schema raw")
        con.execute("""create table raw.master__customers (crm_customer_id varchar, name varchar,
            customer_type varchar, province varchar, city varchar, district varchar,
            address varchar, snapshot_date date)""")
        con.execute("""insert into raw.master__customers values
            ('C1', '上海市第一人民医院', 'hospital', '上海市', '上海市', '虹口区', '武进路85号',
             '2026-10-31'),
            ('C7', '浦东康桥社区卫生服务中心', 'clinic', '上海市', '上海市', '浦东新区',
             '康桥镇秀浦路', '2026-10-31')""")
        con.execute("""create table raw.master__distributors (distributor_code varchar,
            name varchar, province varchar, city varchar, aliases varchar, snapshot_date date)""")
        con.execute("insert into raw.master__distributors values ('D001', '上海医药分销', "
                    "'上海市', '上海市', null, '2026-10-31')")
    finally:
        con.close()


@pytest.mark.parametrize("name", ["../D001.csv", "flow/D002/x.csv", "a\\b.csv", "..csv",
                                  ".hidden.csv", "_draft.csv", "~$open.xlsx", "report.exe",
                                  "noextension", "", "x\x00.csv", "a" * 150 + ".csv"])
def test_unsafe_file_names_are_refused(name):
    with pytest.raises(upload.UploadRefused):
        upload.safe_name(name)


def test_a_plain_chinese_name_with_an_upper_case_extension_is_kept():
    assert upload.safe_name(" 上海医药 10月流向.CSV ") == "上海医药 10月流向.CSV"


def test_preview_counts_rows_as_the_loader_would_and_writes_nothing(snap):
    p = upload.preview(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS)
    assert p.status == "partial" and p.rows_read == 5  # title and total rows are not rows
    assert (p.rows_loaded, p.rows_quarantined) == (4, 1)
    assert list(p.loaded["source_row"]) == [3, 4, 6, 7]
    assert list(p.loaded["amount"]) == [300.0, 150.0, 80.0, 40.0]
    assert set(p.loaded["distributor_code"]) == {"D001"}
    q = p.quarantined.iloc[0]
    assert len(p.quarantined) == 1 and q["source_row"] == 5 and q["column_name"] == "销售日期"
    assert any("total rows" in r for r in p.reasons)
    assert not snap.inbox.exists() or not any(snap.inbox.rglob("*"))
    assert not snap.working_db.exists()


def test_preview_says_how_known_buyers_matched_before(snap):
    p = upload.preview(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS)
    b = p.buyers.set_index("buyer_name")
    assert b.loc["上海市第一人民医院", "match_status"] == "auto"
    assert b.loc["上海市第一人民医院", "crm_customer_id"] == "C1"
    assert b.loc["上海一院", "match_status"] == "review"
    # no customer master in this snapshot: new names are said to be matched at the next run
    assert b.loc["海角天涯大药房", "seen"] == "new name"
    assert "no customer master" in p.buyer_note
    assert "上海新华医院" not in b.index  # its only row is quarantined: it would not load


def test_preview_runs_matchings_candidate_search_for_new_buyers(snap):
    _add_masters(snap.published_db)
    p = upload.preview(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS)
    b = p.buyers.set_index("buyer_name")
    assert b.loc["浦东康桥社区卫生服务中心", "match_status"] == "auto"
    assert b.loc["浦东康桥社区卫生服务中心", "crm_customer_id"] == "C7"
    assert b.loc["海角天涯大药房", "match_status"] == "unmatched"
    assert b.loc["海角天涯大药房", "rows"] == 1 and b.loc["海角天涯大药房", "amount"] == 40.0
    assert p.buyer_note == ""


def test_preview_of_a_file_without_a_header_says_it_would_be_rejected(snap):
    raw = b"hello,world\n1,2\n"
    p = upload.preview(snap, "D001", "notes.csv", raw, DISTRIBUTORS)
    assert p.status == "rejected" and "no header row found" in p.reasons[0]
    assert p.loaded.empty


def test_preview_refuses_unknown_distributor_and_oversized_files(snap, monkeypatch):
    with pytest.raises(upload.UploadRefused, match="not in the distributor master"):
        upload.preview(snap, "D999", "x.csv", FLOW_CSV, DISTRIBUTORS)
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(upload.UploadRefused, match="over the"):
        upload.preview(snap, "D001", "x.csv", FLOW_CSV, DISTRIBUTORS)


def test_put_in_inbox_writes_exact_bytes_once_and_logs_who(snap):
    target = upload.put_in_inbox(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS,
                                 "sales.ops")
    assert target == snap.inbox / "flow" / "D001" / "D001_2026-10.csv"
    assert target.read_bytes() == FLOW_CSV
    assert [p.name for p in target.parent.iterdir()] == ["D001_2026-10.csv"]  # no temp left
    with pytest.raises(upload.UploadRefused, match="already exists"):
        upload.put_in_inbox(snap, "D001", "D001_2026-10.csv", b"other,bytes\n", DISTRIBUTORS,
                            "sales.ops")
    assert target.read_bytes() == FLOW_CSV  # never overwritten
    log = [json.loads(line) for line in
           (snap.stewardship_dir / "uploads.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["path"], e["who"], e["bytes"]) for e in log] == [
        ("flow/D001/D001_2026-10.csv", "sales.ops", len(FLOW_CSV))]


def test_put_in_inbox_needs_an_author_and_a_safe_name(snap):
    with pytest.raises(upload.UploadRefused, match="sales_ops or steward"):
        upload.put_in_inbox(snap, "D001", "x.csv", FLOW_CSV, DISTRIBUTORS, None)
    with pytest.raises(upload.UploadRefused, match="path"):
        upload.put_in_inbox(snap, "D001", "../../x.csv", FLOW_CSV, DISTRIBUTORS, "sales.ops")
    assert not (snap.inbox / "flow").exists()


def test_the_ingest_of_the_uploaded_file_matches_its_preview(snap):
    p = upload.preview(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS)
    upload.put_in_inbox(snap, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS, "sales.ops")
    report = ingest_inbox(snap)
    [f] = report.files
    assert (f.path, f.status) == ("flow/D001/D001_2026-10.csv", p.status)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (5, 4, 1)


def _uploaders(at) -> int:
    return len(at.get("file_uploader"))


@pytest.mark.parametrize("role, may", [("sales_ops", True), ("steward", True),
                                       ("analyst", False), ("executive", False)])
def test_only_sales_ops_and_stewards_get_the_upload_form(published, open_page, monkeypatch,
                                                         role, may):
    from tests.dashboards.conftest import add_user

    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "someone", role)
    at = open_page("loads", user="someone")
    assert _uploaders(at) == (1 if may else 0)
    assert ("Only sales ops" in " ".join(i.value for i in at.info)) is not may


def test_with_login_off_the_local_server_offers_the_upload_form(published, open_page):
    at = open_page("loads")
    assert _uploaders(at) == 1
    assert at.selectbox(key="upload_distributor").options == [
        "D001 上海医药分销", "D002 广州医药", "D003 南京医药"]
    # the widget's own limit is the page's 50 MB, not Streamlit's default 200 MB (which it
    # would print under the button while the label says 50)
    assert at.get("file_uploader")[0].proto.max_upload_size_mb == 50


def test_preview_works_before_anything_is_published(settings):
    p = upload.preview(settings, "D001", "D001_2026-10.csv", FLOW_CSV, DISTRIBUTORS)
    assert (p.status, p.rows_loaded, p.rows_quarantined) == ("partial", 4, 1)
    assert set(p.buyers["match_status"]) == {"unknown"} and "no customer master" in p.buyer_note
    assert any("no product master" in r for r in p.reasons)
