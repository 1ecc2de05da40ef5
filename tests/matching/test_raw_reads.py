"""What matching reads from raw, on hand-made rows: each product name's median sale price per
unit (read off counted values, matching/sources.py) and each buyer's addresses."""

from __future__ import annotations

import duckdb
import pytest

from matching import sources


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("""create table raw.flow__lines (distributor_code varchar, product_name varchar,
                   spec varchar, manufacturer varchar, unit varchar, unit_price double,
                   doc_type varchar, buyer_code varchar, buyer_name varchar,
                   buyer_address varchar)""")
    return con


def _sales(con, product: str, unit: str, prices: list[float], doc_type: str = "sale",
           manufacturer: str | None = "华康制药", spec: str | None = "10mg*12") -> None:
    con.executemany("insert into raw.flow__lines values ('D1', ?, ?, ?, ?, ?, ?, 'B1', '某医院', "
                    "null)", [[product, spec, manufacturer, unit, p, doc_type] for p in prices])


def test_the_median_sale_price_per_unit_is_the_middle_value_or_the_mean_of_the_two(con):
    _sales(con, "甲药", "box", [10, 20, 20, 40])      # even, middle pair equal: 20
    _sales(con, "乙药", "box", [40, 10, 30, 20])      # even: (20 + 30) / 2 = 25
    _sales(con, "丙药", "box", [9, 5, 5])              # odd: 5
    _sales(con, "丙药", "min_unit", [1.5])             # another unit, alone: 1.5
    _sales(con, "丙药", "box", [1000], doc_type="return")  # not a sale: not a price
    _sales(con, "丙药", "box", [0, -3])                # no price
    _sales(con, "丙药", "case", [7, 7], manufacturer="别家药业")
    got = {r["raw_product"]: r for r in sources.load_raw_products(con).to_dicts()}
    assert got["甲药"]["price_box"] == 20
    assert got["乙药"]["price_box"] == 25
    assert got["丙药"]["price_box"] == 5
    assert got["丙药"]["price_min_unit"] == 1.5 and got["丙药"]["price_case"] == 7
    assert got["甲药"]["price_min_unit"] is None and got["甲药"]["price_case"] is None
    assert got["丙药"]["manufacturers"] == ["别家药业", "华康制药"]


def test_the_counted_medians_are_duckdbs_median_over_the_rows(con):
    """Many repeated and interpolated values (odd and even counts, non-round doubles)."""
    for i, product in enumerate(["甲", "乙", "丙", "丁"]):
        prices = [round(0.1 * ((k * 37 + i) % 11) + 0.07 * i + 0.05, 2) for k in range(5 + i * 3)]
        _sales(con, product, "box", prices)
        _sales(con, product, "min_unit", [p / 3 for p in prices[: 2 + i]])
    got = {r["raw_product"]: r for r in sources.load_raw_products(con).to_dicts()}
    want = con.execute("""select product_name,
                          median(unit_price) filter (where unit = 'box'),
                          median(unit_price) filter (where unit = 'min_unit')
                          from raw.flow__lines group by 1""").fetchall()
    for product, box, min_unit in want:
        assert (got[product]["price_box"], got[product]["price_min_unit"]) == (box, min_unit)


def test_a_buyers_addresses_merge_across_code_spellings(con):
    """No code and an empty code are one buyer key: its addresses listed once, sorted."""
    con.execute("""insert into raw.flow__lines (distributor_code, buyer_code, buyer_name,
                   buyer_address) values
                   ('D1', null, '某医院', '北京路2号'), ('D1', '', '某医院', '北京路1号'),
                   ('D1', '', '某医院', '北京路2号'), ('D1', null, '某医院', null),
                   ('D1', 'B9', '某医院', '上海路9号'), ('D1', 'B9', '  ', '上海路9号')""")
    got = {(r["buyer_code"], r["raw_name"]): r for r in sources.load_raw_buyers(con).to_dicts()}
    assert set(got) == {("", "某医院"), ("B9", "某医院")}
    assert got[("", "某医院")]["addresses"] == ["北京路1号", "北京路2号"]
    assert got[("", "某医院")]["address"] == "北京路1号"
