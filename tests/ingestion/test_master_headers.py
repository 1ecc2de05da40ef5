"""Master lists and system extracts exported by a Chinese CRM/ERP: Chinese (and English) headers.

Each file is written the way a customer's own export looks: 客户编码, 客户名称, 医院等级 … instead
of the canonical names of sources.md. The values stay as written in raw.* (text is kept as sent;
staging normalises 三级甲等 → 三甲, see tests/dbt/test_master_values.py); typed columns are
parsed (是/否 → boolean, 一级 → tier 1). Expected values are written out by hand.
"""

from __future__ import annotations

import datetime as dt
import io

import duckdb
import openpyxl
import pytest

from ingestion.headers import SYNONYMS_FILE, _synonym_doc, normalise_header, synonyms_for
from ingestion.sources import ALL_SOURCES, MASTERS, SYSTEM
from tests.ingestion.conftest import assert_conserved, by_path

CUSTOMERS_HEADER = ["客户编码", "客户名称", "客户类型", "医院等级", "省份", "城市", "区县", "地址",
                    "床位数", "潜力"]
CUSTOMERS_ROWS = [
    ["C001", "北京协和医院", "医院", "三级甲等", "北京", "北京", "东城区", "帅府园1号", "2000", "5000000"],
    ["C002", "仁和大药房", "零售药店", "", "北京", "北京", "海淀区", "", "", "80000"],
    ["C003", "东华门社区卫生服务中心", "社区卫生服务中心", "一级", "北京", "北京", "东城区", "", "30", ""],
    ["C004", "国药控股北京有限公司", "商业公司", "", "北京", "北京", "丰台区", "", "", ""],
]
CUSTOMERS_EXPECTED = [
    ("C001", "北京协和医院", "医院", "三级甲等", "北京", "北京", "东城区", "帅府园1号", 2000, 5_000_000.0),
    ("C002", "仁和大药房", "零售药店", None, "北京", "北京", "海淀区", None, None, 80_000.0),
    ("C003", "东华门社区卫生服务中心", "社区卫生服务中心", "一级", "北京", "北京", "东城区", None, 30, None),
    ("C004", "国药控股北京有限公司", "商业公司", None, "北京", "北京", "丰台区", None, None, None),
]
CUSTOMERS_SQL = ("select crm_customer_id, name, customer_type, level, province, city, district, "
                 "address, beds, potential from raw.master__customers order by 1")


def _csv(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


def _xlsx(rows: list[list[str | int | float | None]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户列表"
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _loaded(report, path: str, rows: int) -> None:
    assert_conserved(report)
    f = by_path(report)[path]
    assert (f["status"], f["rows_read"], f["rows_loaded"]) == ("loaded", rows, rows), f


def test_chinese_header_customers_csv_loads_every_column(put, ingest, query):
    put("master/customers_2026-10-31.csv", _csv(CUSTOMERS_HEADER, CUSTOMERS_ROWS))
    _loaded(ingest(), "master/customers_2026-10-31.csv", 4)
    assert query(CUSTOMERS_SQL) == CUSTOMERS_EXPECTED


def test_chinese_header_customers_xlsx_with_title_rows_and_numbers(put, ingest, query):
    """An Excel export: a title row above the header, beds and potential as numbers."""
    rows: list[list[str | int | float | None]] = [["客户主数据导出 2026-10-31"], []]
    rows.append(CUSTOMERS_HEADER)
    for r in CUSTOMERS_ROWS:
        typed: list[str | int | float | None] = [c or None for c in r]
        typed[8] = int(r[8]) if r[8] else None
        typed[9] = float(r[9]) if r[9] else None
        rows.append(typed)
    put("master/customers_2026-10-31.xlsx", _xlsx(rows))
    _loaded(ingest(), "master/customers_2026-10-31.xlsx", 4)
    assert query(CUSTOMERS_SQL) == CUSTOMERS_EXPECTED


def test_english_export_headers_customers(put, ingest, query):
    header = ["Customer Code", "Hospital Name", "Customer Type", "Hospital Level", "Province",
              "City", "District", "Address", "Beds", "Potential"]
    put("master/customers_2026-10-31.csv", _csv(header, CUSTOMERS_ROWS[:1]))
    _loaded(ingest(), "master/customers_2026-10-31.csv", 1)
    assert query(CUSTOMERS_SQL) == CUSTOMERS_EXPECTED[:1]


def test_chinese_header_hcps(put, ingest, query):
    header = ["医生编码", "医院编码", "医生姓名", "科室", "职称", "医生分级"]
    rows = [["H001", "C001", "张伟", "心内科", "主任医师", "A类"],
            ["H002", "C001", "李娜", "神经内科", "副主任医师", "B级"],
            ["H003", "C002", "王芳", "", "", ""]]
    put("master/hcps_2026-10-31.csv", _csv(header, rows))
    _loaded(ingest(), "master/hcps_2026-10-31.csv", 3)
    assert query("select hcp_id, crm_customer_id, name, department, title, grade "
                 "from raw.master__hcps order by 1") == [
        ("H001", "C001", "张伟", "心内科", "主任医师", "A类"),
        ("H002", "C001", "李娜", "神经内科", "副主任医师", "B级"),
        ("H003", "C002", "王芳", None, None, None),
    ]


def test_chinese_header_distributors_tier_and_flags(put, ingest, query):
    header = ["经销商编码", "经销商名称", "商业级别", "省份", "城市", "是否需要流向", "别名"]
    rows = [["D001", "国药控股北京有限公司", "一级", "北京", "北京", "是", "国控北京|国药北京"],
            ["D002", "北京医药股份有限公司", "二级", "北京", "北京", "否", ""],
            ["D003", "华润医药商业集团", "1", "北京", "北京", "1", "华润商业"]]
    put("master/distributors_2026-10-31.csv", _csv(header, rows))
    _loaded(ingest(), "master/distributors_2026-10-31.csv", 3)
    assert query("select distributor_code, name, tier, province, city, flow_required, aliases "
                 "from raw.master__distributors order by 1") == [
        ("D001", "国药控股北京有限公司", 1, "北京", "北京", True, "国控北京|国药北京"),
        ("D002", "北京医药股份有限公司", 2, "北京", "北京", False, None),
        ("D003", "华润医药商业集团", 1, "北京", "北京", True, "华润商业"),
    ]


def test_distributor_region_under_its_chinese_header_loads_as_written(put, ingest, query):
    """大区 (code or name) and 所属大区 both land in region_id; an empty cell is NULL (derived later)."""
    rows = [["D001", "国药控股北京有限公司", "R01"], ["D002", "北京医药股份有限公司", "华北大区"],
            ["D003", "华润医药商业集团", ""]]
    put("master/distributors_2026-10-31.csv", _csv(["经销商编码", "经销商名称", "大区"], rows))
    _loaded(ingest(), "master/distributors_2026-10-31.csv", 3)
    assert query("select distributor_code, region_id from raw.master__distributors order by 1") == [
        ("D001", "R01"), ("D002", "华北大区"), ("D003", None)]
    assert synonyms_for(next(s for s in MASTERS if s.entity == "distributors"))["所属大区"] \
        == "region_id"


def test_a_warehouse_from_before_region_id_gains_the_column_on_the_next_ingest(
        settings, put, ingest, query):
    settings.working_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.working_db))
    con.execute("create schema raw")
    con.execute("create table raw.master__distributors (file_id bigint, source_row integer, "
                "sheet varchar, snapshot_date date, distributor_code varchar, name varchar, "
                "tier integer, province varchar, city varchar, flow_required boolean, "
                "aliases varchar)")
    con.close()
    put("master/distributors_2026-10-31.csv", _csv(["经销商编码", "经销商名称", "所属大区"],
                                                   [["D001", "国药控股北京有限公司", "R01"]]))
    _loaded(ingest(), "master/distributors_2026-10-31.csv", 1)
    assert query("select distributor_code, region_id from raw.master__distributors") == [
        ("D001", "R01")]


def test_chinese_header_products_is_own(put, ingest, query):
    header = ["产品编码", "通用名", "商品名", "规格", "剂型", "包装数量", "件装量", "标准价", "是否自有"]
    rows = [["P001", "瑞舒伐他汀钙片", "可定", "10mg*7", "片剂", "7", "200", "45.5", "是"],
            ["P002", "阿托伐他汀钙片", "立普妥", "20mg*7", "片剂", "7", "200", "60", "否"]]
    put("master/products_2026-10-31.csv", _csv(header, rows))
    _loaded(ingest(), "master/products_2026-10-31.csv", 2)
    put("master/products_2026-11-30.csv", _csv(header[:-1] + ["自有/竞品"], [
        [*rows[0][:-1], "自有"], [*rows[1][:-1], "竞品"]]))
    _loaded(ingest(), "master/products_2026-11-30.csv", 2)
    assert query("select product_id, is_own from raw.master__products "
                 "where snapshot_date = date '2026-11-30' order by 1") == [
        ("P001", True), ("P002", False)]
    assert query("select product_id, generic_name, brand_name, spec, dosage_form, pack_size, "
                 "case_size, list_price, is_own from raw.master__products "
                 "where snapshot_date = date '2026-10-31' order by 1") == [
        ("P001", "瑞舒伐他汀钙片", "可定", "10mg*7", "片剂", 7, 200, 45.5, True),
        ("P002", "阿托伐他汀钙片", "立普妥", "20mg*7", "片剂", 7, 200, 60.0, False),
    ]


def test_chinese_header_alignment_and_rep_assignments(put, ingest, query):
    put("master/customer_alignment_2026-10-31.csv",
        _csv(["客户编码", "区域编码", "产品线", "生效日期", "失效日期"],
             [["C001", "T01", "心血管", "2026/1/1", ""]]))
    put("master/rep_assignments_2026-10-31.csv",
        _csv(["代表工号", "代表姓名", "区域编码", "开始日期", "结束日期"],
             [["R01", "赵强", "T01", "2026年1月1日", "2026-06-30"]]))
    report = ingest()
    _loaded(report, "master/customer_alignment_2026-10-31.csv", 1)
    _loaded(report, "master/rep_assignments_2026-10-31.csv", 1)
    assert query("select crm_customer_id, territory_id, product_line, valid_from, valid_to "
                 "from raw.master__customer_alignment") == [
        ("C001", "T01", "心血管", dt.date(2026, 1, 1), None)]
    assert query("select rep_id, rep_name, territory_id, valid_from, valid_to "
                 "from raw.master__rep_assignments") == [
        ("R01", "赵强", "T01", dt.date(2026, 1, 1), dt.date(2026, 6, 30))]


def test_chinese_header_sellin_extract(put, ingest, query):
    header = ["发票号", "行号", "发货日期", "经销商编码", "产品编码", "数量(盒)", "含税金额"]
    rows = [["INV001", "1", "2026-03-05", "D001", "P001", "100", "4,550.00"],
            ["INV001", "2", "2026/3/5", "D001", "P002", "20", "1200"],
            ["CN002", "1", "20260310", "D002", "P001", "-5", "-227.5"]]
    put("sellin/erp_202603.csv", _csv(header, rows).replace("4,550.00", '"4,550.00"'))
    _loaded(ingest(), "sellin/erp_202603.csv", 3)
    assert query("select invoice_no, line_no, ship_date, distributor_code, product_id, "
                 "quantity_boxes, amount from raw.sellin__shipments order by 1, 2") == [
        ("CN002", 1, dt.date(2026, 3, 10), "D002", "P001", -5.0, -227.5),
        ("INV001", 1, dt.date(2026, 3, 5), "D001", "P001", 100.0, 4550.0),
        ("INV001", 2, dt.date(2026, 3, 5), "D001", "P002", 20.0, 1200.0),
    ]


def test_chinese_header_calls_and_targets(put, ingest, query):
    put("calls/crm_202603.csv", _csv(
        ["拜访编号", "代表工号", "医生编码", "医院编码", "拜访时间", "拜访方式", "拜访产品", "报告提交时间",
         "是否达成目标", "下一步计划"],
        [["V1", "R01", "H001", "C001", "2026-03-05 09:30", "face_to_face", "P001",
          "2026-03-05 18:00", "是", "送文献"]]))
    put("targets/plan_2026.csv", _csv(["月份", "区域编码", "产品编码", "指标金额", "指标数量"],
                                      [["2026-03", "T01", "P001", "100000", "2000"]]))
    report = ingest()
    _loaded(report, "calls/crm_202603.csv", 1)
    _loaded(report, "targets/plan_2026.csv", 1)
    assert query("select call_id, rep_id, hcp_id, crm_customer_id, call_datetime, channel, "
                 "products, report_submitted_at, objective_met, next_step from raw.crm__calls") == [
        ("V1", "R01", "H001", "C001", dt.datetime(2026, 3, 5, 9, 30), "face_to_face", "P001",
         dt.datetime(2026, 3, 5, 18, 0), True, "送文献")]
    assert query("select month, territory_id, product_id, target_amount, target_boxes "
                 "from raw.plan__targets") == [("2026-03", "T01", "P001", 100000.0, 2000.0)]


def test_canonical_headers_still_read_as_before(put, ingest, query):
    head = ("crm_customer_id,name,customer_type,level,province,city,district,address,beds,"
            "potential\n")
    put("master/customers_2026-10-31.csv", head + "C1,协和,hospital,三甲,北京,北京,东城,,2000,5\n")
    _loaded(ingest(), "master/customers_2026-10-31.csv", 1)
    assert query(CUSTOMERS_SQL) == [
        ("C1", "协和", "hospital", "三甲", "北京", "北京", "东城", None, 2000, 5.0)]


@pytest.mark.parametrize("source", [*MASTERS, *SYSTEM], ids=lambda s: s.key)
def test_every_master_and_system_source_has_chinese_synonyms(source):
    """Each field of each master entity and system extract is named by at least one Chinese
    header, and each entity reads its own section (hcps' 姓名 is the doctor's name)."""
    table = synonyms_for(source)
    for f in source.fields:
        if f.name == "snapshot_date":
            continue  # from the file name, never a column
        chinese = [k for k, v in table.items() if v == f.name and any(ord(c) > 0x2E80 for c in k)]
        assert chinese, f"{source.key}: no Chinese header for {f.name}"


def test_entity_sections_do_not_leak_between_entities():
    by_entity = {s.entity: synonyms_for(s) for s in MASTERS}
    assert by_entity["customers"]["客户名称"] == "name"
    assert by_entity["customers"]["医院等级"] == "level"
    assert by_entity["distributors"]["商业级别"] == "tier"
    assert by_entity["hcps"]["医生姓名"] == "name"
    assert "医生姓名" not in by_entity["customers"]
    assert "经销商编码" not in by_entity["customers"]


def test_synonym_sections_name_real_fields_and_no_name_twice():
    """The file's rule: a name (after normalisation) is under one field of a section, and is not
    another field's canonical name; every section is a source and every key one of its fields."""
    sections = {(f"{s.name}.{s.entity}" if s.entity else s.name): s for s in ALL_SOURCES}
    for section, fields in _synonym_doc(SYNONYMS_FILE).items():
        assert section in sections, f"synonyms.yaml: section {section} names no source"
        source = sections[section]
        known = {f.name for f in source.fields}
        owner = {normalise_header(f)[0]: f for f in known}
        for name, aliases in fields.items():
            assert name in known, f"synonyms.yaml: {section}.{name} is not a field"
            for alias in aliases:
                key = normalise_header(str(alias))[0]
                assert owner.setdefault(key, name) == name, (
                    f"synonyms.yaml: '{alias}' under {section}.{name} and {owner[key]}")
