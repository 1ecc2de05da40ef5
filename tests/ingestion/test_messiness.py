"""One test per kind of messiness real distributor files have (sources.md), on tiny files."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlwt

from ingestion.pipeline import ingest_inbox

from tests.ingestion.conftest import FLOW_HEADER, assert_conserved, by_path, flow_csv

ROW = "2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100.00"


def flow_rows(query, cols: str = "sale_date, buyer_name, quantity, unit, amount, doc_type"):
    return query(f"select {cols} from raw.flow__lines order by file_id, sheet, source_row")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_text_encodings_are_detected_from_bytes(put, ingest, query, encoding):
    put("flow/D001/march.csv", flow_csv([ROW]), encoding=encoding)
    report = ingest()
    assert report.files[0].status == "loaded", report.files[0].reasons
    assert query("select buyer_name, product_name from raw.flow__lines") == [
        ("北京协和医院", "阿莫西林胶囊")]


def test_gb18030_characters_outside_gbk_survive(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW.replace("北京协和医院", "䶮𠀀医院")]), "gb18030")
    assert ingest().files[0].status == "loaded"
    assert query("select buyer_name from raw.flow__lines") == [("䶮𠀀医院",)]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_delimiter_is_sniffed(put, ingest, query, delimiter):
    text = flow_csv([ROW]).replace(",", delimiter)
    put("flow/D001/march.txt", text)
    assert ingest().files[0].status == "loaded"
    assert query("select quantity, amount from raw.flow__lines") == [(10.0, 100.0)]


def test_header_found_under_title_and_note_rows(put, ingest, query):
    text = "北京某某医药有限公司\n2026年3月 销售流向表\n制表人：张三,,\n" + flow_csv([ROW])
    put("flow/D001/march.csv", text)
    report = ingest()
    assert report.files[0].rows_read == 1
    assert query("select source_row, buyer_name from raw.flow__lines") == [(5, "北京协和医院")]


def test_total_and_blank_rows_are_not_data(put, ingest, query):
    rows = [ROW, "", ",,,,,,,", ROW, "合计,,,,,20,,200", "小计：,,,,,20,,200", "总计,,,,,20,,200"]
    put("flow/D001/march.csv", flow_csv(rows))
    f = ingest().files[0]
    assert (f.status, f.rows_read, f.rows_loaded) == ("loaded", 2, 2)
    assert any("total rows" in r for r in f.reasons) and any("blank rows" in r for r in f.reasons)
    assert [r[0] for r in query("select source_row from raw.flow__lines order by 1")] == [2, 5]


def test_every_date_style_is_read(put, ingest, query):
    styles = ["2026-03-05", "2026/3/5", "20260305", "2026年3月5日", "2026.3.5", "46086",
              "2026-03-05 13:45:00", "２０２６－０３－０５"]
    put("flow/D001/march.csv", flow_csv([ROW.replace("2026-03-05", s, 1) for s in styles]))
    f = ingest().files[0]
    assert f.rows_loaded == len(styles), f.reasons
    assert {r[0] for r in query("select sale_date from raw.flow__lines")} == {dt.date(2026, 3, 5)}


def test_unreadable_date_is_quarantined_with_original_values(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW, ROW.replace("2026-03-05", "2026-02-30")]))
    f = ingest().files[0]
    assert (f.status, f.rows_loaded, f.rows_quarantined) == ("partial", 1, 1)
    reason, column, raw, row = query(
        "select reason, column_name, raw_values, source_row from quarantine.rows")[0]
    assert "sale_date" in reason and "2026-02-30" in reason and column == "销售日期"
    assert json.loads(raw)["销售日期"] == "2026-02-30" and row == 3


def test_numbers_with_separators_full_width_and_currency(put, ingest, query):
    rows = [ROW.replace(",10,", ',"1,234",').replace("100.00", '"¥12,340.50"'),
            ROW.replace(",10,", ",１２,").replace("100.00", "120元"),
            ROW.replace(",10,", ", 3 ,").replace("100.00", "(30)")]
    put("flow/D001/march.csv", flow_csv(rows))
    assert ingest().files[0].rows_loaded == 3
    assert query("select quantity, amount from raw.flow__lines order by source_row") == [
        (1234.0, 12340.5), (12.0, 120.0), (-3.0, -30.0)]


def test_units_are_normalised_and_raw_unit_kept(put, ingest, query):
    units = ["盒", "BX", "支", "片", "粒", "件", "箱", ""]
    put("flow/D001/march.csv", flow_csv([ROW.replace(",盒,", f",{u},") for u in units]))
    ingest()
    assert query("select unit, raw_unit from raw.flow__lines order by source_row") == [
        ("box", "盒"), ("box", "BX"), ("min_unit", "支"), ("min_unit", "片"),
        ("min_unit", "粒"), ("case", "件"), ("case", "箱"), ("box", None)]


def test_unit_written_in_the_quantity_header_is_used(put, ingest, query):
    put("flow/D001/march.csv", "日期,客户,品名,数量（支）\n2026-03-05,协和,阿莫西林,24\n")
    ingest()
    assert query("select quantity, unit, raw_unit from raw.flow__lines") == [(24.0, "min_unit", "支")]


def test_unknown_unit_is_quarantined(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW.replace(",盒,", ",吨,")]))
    assert ingest().files[0].rows_quarantined == 1
    assert "unit" in query("select reason from quarantine.rows")[0][0]


def test_returns_by_doc_type_or_negative_quantity(put, ingest, query):
    header = FLOW_HEADER + ",单据类型"
    rows = [ROW + ",销售", ROW + ",销售退回", ROW + ",退货", ROW.replace(",10,", ",-4,") + ","]
    put("flow/D001/march.csv", flow_csv(rows, header=header))
    ingest()
    assert query("select quantity, amount, doc_type from raw.flow__lines order by source_row") == [
        (10.0, 100.0, "sale"), (-10.0, -100.0, "return"), (-10.0, -100.0, "return"),
        (-4.0, -100.0, "return")]


def test_english_headers_and_full_width_header_text(put, ingest, query):
    text = "Sale Date,Customer Name,Product,Ｑｔｙ,Batch No\n2026-03-05,PUMCH,Amoxicillin,5,B1\n"
    put("flow/D001/march.csv", text)
    assert ingest().files[0].status == "loaded"
    assert query("select buyer_name, quantity, batch_no from raw.flow__lines") == [
        ("PUMCH", 5.0, "B1")]


def test_text_keeps_original_but_trims_spaces(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW.replace("北京协和医院", "　 北京协和医院（东院） ")]))
    ingest()
    assert query("select buyer_name from raw.flow__lines") == [("北京协和医院（东院）",)]


def test_missing_required_columns_reject_the_file_naming_them(put, ingest, query):
    put("flow/D001/march.csv", "日期,地址,数量\n2026-03-05,北京,10\n")
    f = ingest().files[0]
    assert f.status == "rejected"
    assert "buyer_name" in f.reasons[0] and "product_name" in f.reasons[0]
    assert "地址" in f.reasons[0] and "mappings/D001.yaml" in f.reasons[0]


def test_distributor_mapping_file_names_the_columns(settings, inbox, put, query, tmp_path):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "D009.yaml").write_text(
        "distributor_code: D009\ncolumns:\n  开单日: sale_date\n  终端客户: buyer_name\n"
        "  货品: product_name\n  发货量: quantity\nunit: 件\ndate_format: '%d/%m/%Y'\n",
        encoding="utf-8")
    put("flow/D009/march.csv", "开单日,终端客户,货品,发货量\n05/03/2026,协和,阿莫西林,2\n")
    report = ingest_inbox(replace(settings, mappings_dir=mappings), inbox)
    assert by_path(report)["flow/D009/march.csv"]["status"] == "loaded"
    assert query("select sale_date, quantity, unit, raw_unit from raw.flow__lines") == [
        (dt.date(2026, 3, 5), 2.0, "case", "件")]


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path.read_bytes()


def test_xlsx_every_sheet_with_data_dates_and_serials(put, ingest, query, tmp_path):
    header = ["销售日期", "客户名称", "产品名称", "数量"]
    data = _xlsx(tmp_path / "a.xlsx", {
        "三月": [["某某医药流向"], [], header, [dt.datetime(2026, 3, 5), "协和", "阿莫西林", 10],
                 [46087, "协和", "阿莫西林", 2], ["合计", None, None, 12]],
        "四月": [header, ["2026/4/1", "北医三院", "阿莫西林", 3]],
        "说明": [["本表仅供参考"]],
        "空": []})
    put("flow/D001/q1.xlsx", data)
    f = ingest().files[0]
    assert (f.status, f.rows_read) == ("loaded", 3), f.reasons
    assert query("select sheet, source_row, sale_date from raw.flow__lines order by 3") == [
        ("三月", 4, dt.date(2026, 3, 5)), ("三月", 5, dt.date(2026, 3, 6)),
        ("四月", 2, dt.date(2026, 4, 1))]


def test_legacy_xls_is_read(put, ingest, query, tmp_path):
    wb = xlwt.Workbook()
    ws = wb.add_sheet("流向")
    for j, h in enumerate(["日期", "客户", "品名", "数量"]):
        ws.write(0, j, h)
    ws.write(1, 0, dt.datetime(2026, 3, 5), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    ws.write(1, 1, "协和")
    ws.write(1, 2, "阿莫西林")
    ws.write(1, 3, 7)
    wb.save(str(tmp_path / "a.xls"))
    put("flow/D001/march.xls", (tmp_path / "a.xls").read_bytes())
    assert ingest().files[0].status == "loaded"
    assert query("select sale_date, quantity from raw.flow__lines") == [(dt.date(2026, 3, 5), 7.0)]


def test_same_bytes_twice_is_a_duplicate(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW]))
    put("flow/D001/march (1).csv", flow_csv([ROW]))
    report = ingest()
    assert [f.status for f in report.files] == ["loaded", "duplicate"]
    assert query("select count(*) from raw.flow__lines") == [(1,)]
    assert query("select duplicate_of from audit.file_registry where status='duplicate'") == [(1,)]


def test_master_snapshots_keep_history(put, ingest, query):
    head = "crm_customer_id,name,customer_type,level,province,city,district,address,beds,potential\n"
    put("master/customers_2026-09-30.csv", head + "C1,协和,hospital,三甲,北京,北京,东城,,2000,5\n")
    put("master/customers_202610.csv", head + "C1,北京协和医院,hospital,三甲,北京,北京,东城,,2000,5\n")
    ingest()
    assert query("select snapshot_date, name from raw.master__customers order by 1") == [
        (dt.date(2026, 9, 30), "协和"), (dt.date(2026, 10, 31), "北京协和医院")]


def test_system_extracts_parquet_and_jsonl(put, ingest, query, tmp_path):
    sellin = pl.DataFrame({"invoice_no": ["INV1", "INV1"], "line_no": [1, 2],
                           "ship_date": [dt.date(2026, 3, 1)] * 2, "distributor_code": ["D001"] * 2,
                           "product_id": ["P1", "P2"], "quantity_boxes": [100.0, -5.0],
                           "amount": [1000.0, -50.0]})
    sellin.write_parquet(tmp_path / "s.parquet")
    put("sellin/2026-03.parquet", (tmp_path / "s.parquet").read_bytes())
    calls = [{"call_id": "K1", "rep_id": "R1", "hcp_id": "H1", "crm_customer_id": "C1",
              "call_datetime": "2026-03-05 09:30:00", "channel": "face_to_face",
              "products": "P1|P2", "report_submitted_at": "", "objective_met": 1,
              "next_step": "follow up"}]
    put("calls/2026-03.jsonl", "\n".join(json.dumps(c, ensure_ascii=False) for c in calls) + "\n")
    report = ingest()
    assert [f.status for f in report.files] == ["loaded", "loaded"], [f.reasons for f in report.files]
    assert query("select line_no, quantity_boxes from raw.sellin__shipments order by 1") == [
        (1, 100.0), (2, -5.0)]
    assert query("select call_datetime, report_submitted_at, objective_met from raw.crm__calls") == [
        (dt.datetime(2026, 3, 5, 9, 30), None, True)]


def test_tenders_with_provincial_column_names(put, ingest, query):
    text = ("省份,项目名称,集采批次,公告日期,通用名,规格,投标企业,中选结果,中选价,是否带量\n"
            "广东,广东联盟集采,第七批国采,2026/1/10,阿莫西林胶囊,0.25g*24,华康制药,中标,12.5,是\n")
    put("tenders/gd.csv", text)
    assert ingest().files[0].status == "loaded"
    assert query("select province, batch, bid_price, is_volume_based from raw.tenders__results") == [
        ("广东", "第七批国采", 12.5, True)]


def test_inventory_date_from_file_name_or_title(put, ingest, query):
    put("inventory/D001/库存_20260331.csv", "品名,规格,库存数量,单位\n阿莫西林,0.25g*24,100,盒\n")
    put("inventory/D002/stock.csv", "库存日期：2026年4月30日\n品名,数量\n阿莫西林,5\n")
    report = ingest()
    assert_conserved(report)
    assert query("select distributor_code, snapshot_date from raw.inventory__lines order by 1") == [
        ("D001", dt.date(2026, 3, 31)), ("D002", dt.date(2026, 4, 30))]


def test_report_json_shape_and_exit_code(put, ingest):
    put("flow/D001/march.csv", flow_csv([ROW]))
    put("flow/D001/empty.csv", b"")
    report = ingest()
    payload = report.to_dict()
    assert set(payload["files"][0]) >= {"path", "source", "status", "rows_read", "rows_loaded",
                                        "rows_quarantined", "reasons"}
    assert payload["totals"]["by_status"]["rejected"] == 1
    assert report.exit_code == 1
    assert "rejected" in report.summary()


def test_footer_note_rows_are_not_data(put, ingest, query):
    rows = [ROW, "制表人：张敏　审核：,,,,,,,", "注：本表数据仅供核对使用", ROW]
    put("flow/D001/march.csv", flow_csv(rows))
    f = ingest().files[0]
    assert (f.status, f.rows_read, f.rows_loaded) == ("loaded", 2, 2)
    assert any("note rows" in r for r in f.reasons)


def test_unknown_product_is_quarantined_against_the_product_master(put, ingest, query):
    put("master/products_20261031.csv",
        "product_id,generic_name,brand_name,spec,dosage_form,pack_size,case_size,list_price,is_own\n"
        "P001,阿莫西林胶囊,康莫,0.25g*24粒,胶囊剂,24,200,12.5,1\n"
        "P002,瑞舒伐他汀钙片,可定,10mg*7片,片剂,7,240,39.7,0\n")
    rows = [ROW, ROW.replace("阿莫西林胶囊", "瑞舒伐他汀片"), ROW.replace("阿莫西林胶囊", "可定 10mg"),
            ROW.replace("阿莫西林胶囊", "复方丹参滴丸")]
    put("flow/D001/march.csv", flow_csv(rows), age=99_999)  # older than the master: masters go first
    report = ingest()
    flow = by_path(report)["flow/D001/march.csv"]
    assert (flow["rows_loaded"], flow["rows_quarantined"]) == (3, 1)
    assert query("select source_row, column_name from quarantine.rows") == [(5, "产品名称")]


def test_mapping_with_an_unknown_field_rejects_naming_the_file(settings, inbox, put, tmp_path):
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "D009.yaml").write_text("columns:\n  开单日: sale_dat\n", encoding="utf-8")
    put("flow/D009/march.csv", flow_csv([ROW]))
    f = ingest_inbox(replace(settings, mappings_dir=mappings), inbox).files[0]
    assert f.status == "rejected"
    assert "D009.yaml" in f.reasons[0] and "sale_dat" in f.reasons[0]


def test_unquoted_delimiter_in_an_early_row_is_quarantined(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([ROW.replace(",10,", ",1,234,"), ROW, ROW]))
    f = ingest().files[0]
    assert (f.rows_loaded, f.rows_quarantined) == (2, 1)
    assert "more fields than the header" in query("select reason from quarantine.rows")[0][0]
