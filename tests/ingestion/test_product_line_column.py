"""products.csv may carry the product line (产品线) customer_alignment rows name (sources.md).

The column is optional; a CRM export calls it 产品线, 产品线名称, BU or product line. A warehouse
created before the column existed gets it on the next ingest instead of rejecting the file.
"""

from __future__ import annotations

import duckdb
import pytest

from tests.ingestion.conftest import by_path

BASE = ["产品编码", "通用名", "商品名", "规格", "是否自有"]
ROWS = [["P001", "阿托伐他汀钙片", "康立", "20mg*14片", "是"],
        ["P002", "二甲双胍片", "格华", "0.5g*20片", "是"],
        ["P003", "瑞舒伐他汀钙片", "可定", "10mg*7片", "否"]]
LINES = ["CV", " 代谢 ", ""]


def _csv(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


@pytest.mark.parametrize("name", ["产品线", "产品线名称", "BU", "Product Line"])
def test_product_line_header_is_recognised(put, ingest, query, name):
    put("master/products_2026-10-31.csv",
        _csv([*BASE, name], [[*r, line] for r, line in zip(ROWS, LINES)]))
    assert by_path(ingest())["master/products_2026-10-31.csv"]["status"] == "loaded"
    assert query("select product_id, product_line from raw.master__products order by 1") == [
        ("P001", "CV"), ("P002", "代谢"), ("P003", None)]  # text trimmed, empty → NULL


def test_products_without_the_column_load_with_no_line(put, ingest, query):
    put("master/products_2026-10-31.csv", _csv(BASE, ROWS))
    assert by_path(ingest())["master/products_2026-10-31.csv"]["status"] == "loaded"
    assert query("select count(*) from raw.master__products where product_line is null") == [(3,)]


def test_a_warehouse_from_before_the_column_gets_it_on_ingest(settings, put, ingest, query):
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.working_db))
    try:
        con.execute("create schema raw")
        con.execute("""create table raw.master__products (file_id bigint, source_row integer,
            sheet varchar, snapshot_date date, product_id varchar, generic_name varchar,
            brand_name varchar, spec varchar, dosage_form varchar, pack_size integer,
            case_size integer, list_price double, is_own boolean)""")
        con.execute("insert into raw.master__products (file_id, source_row, snapshot_date, "
                    "product_id, generic_name) values (1, 2, date '2026-09-30', 'P001', '阿托伐他汀钙片')")
    finally:
        con.close()
    put("master/products_2026-10-31.csv",
        _csv([*BASE, "产品线"], [[*r, line] for r, line in zip(ROWS, LINES)]))
    assert by_path(ingest())["master/products_2026-10-31.csv"]["status"] == "loaded"
    assert query("select snapshot_date::varchar, product_id, product_line "
                 "from raw.master__products order by 1, 2") == [
        ("2026-09-30", "P001", None),
        ("2026-10-31", "P001", "CV"), ("2026-10-31", "P002", "代谢"), ("2026-10-31", "P003", None)]
