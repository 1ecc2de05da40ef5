"""A small, hand-checkable warehouse with messy buyer names, built directly as raw tables.

Each flow row carries its truth (the CRM id it should match, '' when it should not auto-match,
or a distributor code when the buyer is a distributor), so tests can score the matcher.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from sfe.config import Settings
from sfe.warehouse import connect

SNAPSHOT = date(2026, 10, 31)

CUSTOMERS = [  # crm id, name, type, level, province, city, district, address
    ("C001", "北京大学第三医院", "hospital", "三甲", "北京市", "北京市", "海淀区", "北京市海淀区花园北路49号"),
    ("C002", "北京协和医院", "hospital", "三甲", "北京市", "北京市", "东城区", "北京市东城区帅府园1号"),
    ("C003", "苏州市第一人民医院", "hospital", "三甲", "江苏省", "苏州市", "姑苏区", "江苏省苏州市姑苏区十梓街188号"),
    ("C004", "无锡市第一人民医院", "hospital", "三甲", "江苏省", "无锡市", "梁溪区", "江苏省无锡市梁溪区清扬路299号"),
    ("C005", "苏州市第二人民医院", "hospital", "三乙", "江苏省", "苏州市", "姑苏区", "江苏省苏州市姑苏区道前街26号"),
    ("C006", "苏州市中医医院", "hospital", "三甲", "江苏省", "苏州市", "姑苏区", "江苏省苏州市姑苏区沧浪新村"),
    ("C007", "南京医科大学第一附属医院（江苏省人民医院）", "hospital", "三甲", "江苏省", "南京市", "鼓楼区",
     "江苏省南京市鼓楼区广州路300号"),
    ("C008", "南京市第一医院", "hospital", "三甲", "江苏省", "南京市", "秦淮区", "江苏省南京市秦淮区长乐路68号"),
    ("C009", "老百姓大药房（五一路店）", "pharmacy", "", "湖南省", "长沙市", "芙蓉区", "长沙市芙蓉区五一大道100号"),
    ("C010", "老百姓大药房（八一路店）", "pharmacy", "", "湖南省", "长沙市", "开福区", "长沙市开福区八一路20号"),
    ("C011", "中南大学湘雅二医院", "hospital", "三甲", "湖南省", "长沙市", "芙蓉区", "长沙市芙蓉区人民中路139号"),
    ("C012", "长沙市第一医院", "hospital", "三甲", "湖南省", "长沙市", "开福区", "长沙市开福区营盘路311号"),
    ("C013", "苏州市姑苏区妇幼保健院", "hospital", "二甲", "江苏省", "苏州市", "姑苏区", "苏州市姑苏区"),
]
DISTRIBUTORS = [  # code, name, tier, province, city, aliases
    ("D01", "国药控股北京有限公司", 1, "北京市", "北京市", "国药北京|国控北京"),
    ("D02", "苏州医药集团有限公司", 1, "江苏省", "苏州市", "苏州医药"),
    ("D03", "湖南达嘉维康医药产业股份有限公司", 2, "湖南省", "长沙市", "达嘉维康"),
    ("D04", "南京医药股份有限公司", 1, "江苏省", "南京市", "南药"),
]
PRODUCTS = [  # product_id, generic, brand, spec, form, pack, case
    ("P01", "阿莫西林", "阿莫仙", "0.25g*24粒", "胶囊", 24, 200),
    ("P02", "阿莫西林", "阿莫仙", "0.5g*12粒", "胶囊", 12, 300),
    ("P03", "瑞舒伐他汀钙", "可定", "10mg*7片", "片剂", 7, 400),
]
FLOW = [  # distributor, buyer_code, buyer_name, address, truth
    ("D01", "B1", "北医三院", "", "C001"),
    ("D01", "B2", "北京大学第三医院（北医三院）", "", "C001"),
    ("D01", "", "北京市海淀区 北大三院 药剂科", "", "C001"),
    ("D01", "B3", "北京协和医院", "北京市东城区帅府园1号", "C002"),
    ("D01", "", "协和医院门诊药房", "", "C002"),
    ("D01", "", "ＰＵＭＣＨ北京协和医院", "", "C002"),
    ("D02", "S1", "苏州市第一人民医院", "", "C003"),
    ("D02", "S2", "苏州市一院", "", "C003"),
    ("D02", "", "第一人民医院", "江苏省苏州市姑苏区十梓街188号", "C003"),
    ("D02", "", "第一人民医院药房", "", ""),  # two cities of the province have one: review
    ("D02", "", "无锡市第一人民医院药剂科", "", "C004"),
    ("D02", "S3", "苏州市第二人民医院", "", "C005"),
    ("D02", "", "苏州市第二人名医院", "", "C005"),  # typo
    ("D02", "", "苏州市中医院", "", "C006"),
    ("D02", "", "苏州市姑苏区妇幼保健院", "", "C013"),
    ("D02", "", "苏州医药集团有限公司", "", "D02"),
    ("D02", "", "南京医药股份有限公司", "", "D04"),
    ("D04", "N1", "江苏省人民医院", "", "C007"),
    ("D04", "", "南医大一附院", "", "C007"),
    ("D04", "", "南京市第一医院", "", "C008"),
    ("D04", "", "南京市一医院", "", "C008"),
    ("D04", "", "南京市第三医院", "", ""),  # not in the master
    ("D03", "", "老百姓大药房(五一路店)", "", "C009"),
    ("D03", "", "老百姓大药房 八一路店", "", "C010"),
    ("D03", "", "湘雅二院", "", "C011"),
    ("D03", "", "长沙市第一医院住院部", "", "C012"),
    ("D03", "", "某某诊所", "", ""),
]
RAW_PRODUCTS = [  # distributor, product_name, spec, truth product
    ("D01", "阿莫西林胶囊", "0.25g*24粒", "P01"),
    ("D01", "阿莫仙", "0.5g×12粒/盒", "P02"),
    ("D02", "阿莫西林胶囊 250mg*24", "", "P01"),
    ("D02", "可定", "10mg*7", "P03"),
    ("D03", "瑞舒伐他汀钙片", "10mg×7片", "P03"),
    ("D03", "不知名药品", "1g", ""),
]


FLOW_COLUMNS = ["file_id", "source_row", "sheet", "distributor_code", "sale_date", "buyer_code",
                "buyer_name", "buyer_address", "product_name", "spec", "manufacturer", "batch_no",
                "expiry_date", "quantity", "unit", "raw_unit", "unit_price", "amount", "doc_type"]


def create_raw_tables(con: duckdb.DuckDBPyConnection, flow: list[tuple] = FLOW,
                      snapshot: date = SNAPSHOT, customers: list[tuple] = CUSTOMERS) -> None:
    """Raw tables exactly as the contract names them (only the columns matching reads, plus keys)."""
    cust = pl.DataFrame([(snapshot, 1, i + 2, None, *c, 100, 1.0) for i, c in enumerate(customers)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "crm_customer_id",
                                "name", "customer_type", "level", "province", "city", "district",
                                "address", "beds", "potential"], orient="row")
    dist = pl.DataFrame([(snapshot, 2, i + 2, None, *d, True) for i, d in enumerate(DISTRIBUTORS)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "distributor_code",
                                "name", "tier", "province", "city", "aliases", "flow_required"],
                        orient="row")
    prod = pl.DataFrame([(snapshot, 3, i + 2, None, *p, 10.0, True) for i, p in enumerate(PRODUCTS)],
                        schema=["snapshot_date", "file_id", "source_row", "sheet", "product_id",
                                "generic_name", "brand_name", "spec", "dosage_form", "pack_size",
                                "case_size", "list_price", "is_own"], orient="row")
    lines = pl.DataFrame([(4, i + 2, None, f[0], date(2026, 10, 5), f[1] or None, f[2], f[3] or None,
                           p[1], p[2], None, "B1", None, 1.0, "box", "盒", None, None, "sale")
                          for i, (f, p) in enumerate(zip(flow, (RAW_PRODUCTS * 10)[:len(flow)],
                                                         strict=True))],
                         schema=FLOW_COLUMNS, orient="row")
    for name, frame in {"master__customers": cust, "master__distributors": dist,
                        "master__products": prod, "flow__lines": lines}.items():
        con.register("_f", frame.to_arrow())
        con.execute(f"create or replace table raw.{name} as select * from _f")
        con.unregister("_f")


@pytest.fixture
def warehouse(settings: Settings) -> Settings:
    with connect(settings) as con:
        create_raw_tables(con)
    return settings
