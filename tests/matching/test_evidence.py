"""Evidence beyond the name: the buyer's street, chain-outlet naming, district claims, alias-table
attachment, and for products the price and the distributor's feed."""

from __future__ import annotations

import polars as pl
import pytest

from matching.customers import (AliasEntry, CustomerIndex, CustomerMatcher, RawBuyer, Thresholds,
                                branch_without_city)
from matching.normalize import street_of
from matching.pipeline import build_normalizer, master_customers, own_only_feeds
from matching.products import MasterProduct, Prices, ProductDecision, ProductMatcher

MASTER = [  # crm id, name, province, city, district, address
    ("K01", "广州市中医院", "广东省", "广州市", "白云区", "广东省广州市白云区朝阳路601号"),
    ("K02", "广州市白云区中医医院", "广东省", "广州市", "白云区", "广东省广州市白云区健康路12号"),
    ("K03", "北京市妇幼保健院", "北京市", "北京市", "朝阳区", "北京市朝阳区黄河路538号"),
    ("K04", "北京市东城区妇幼保健院", "北京市", "北京市", "东城区", "北京市东城区幸福路1号"),
    ("K05", "北京市西城区妇幼保健院", "北京市", "北京市", "西城区", "北京市西城区团结路2号"),
    ("K06", "国药控股国大药房北京建设路店", "北京市", "北京市", "丰台区", "北京市丰台区南京路9号"),
    ("K07", "国大药房(公园路店)", "北京市", "北京市", "海淀区", "北京市海淀区公园路3号"),
    ("K08", "江苏省人民医院", "江苏省", "南京市", "玄武区", "江苏省南京市玄武区东风路322号"),
    ("K09", "南京市玄武区人民医院", "江苏省", "南京市", "玄武区", "江苏省南京市玄武区人民路1号"),
    ("K10", "北京市春天大药房", "北京市", "北京市", "西城区", "北京市西城区新华路607号"),
    ("K11", "北京春天药店", "北京市", "北京市", "朝阳区", "北京市朝阳区南京路43号"),
    ("K12", "北京市朝阳区金桥社区卫生服务中心", "北京市", "北京市", "朝阳区", "北京市朝阳区花园路1号"),
    ("K13", "北京市西城区金桥社区卫生服务中心", "北京市", "北京市", "西城区", "北京市西城区花园路149号"),
]


@pytest.fixture(scope="module")
def matcher() -> CustomerMatcher:
    frame = pl.DataFrame(MASTER, schema=["crm_customer_id", "name", "province", "city", "district",
                                         "address"], orient="row").with_columns(
        customer_type=pl.lit("hospital"))
    normalizer = build_normalizer(frame)
    aliases = [AliasEntry("南京医科大学第一附属医院", "江苏省人民医院", "江苏", "南京")]
    index = CustomerIndex.build(master_customers(frame, normalizer), normalizer, aliases)
    return CustomerMatcher(index, normalizer, Thresholds(0.9, 0.6), workers=1)


def _one(matcher: CustomerMatcher, name: str, address: str = "", province: str = "北京市",
         city: str = "北京市"):
    return matcher.match([RawBuyer(name, address, province, city)])[0]


def test_street_of_an_address() -> None:
    assert street_of("广东省广州市白云区朝阳路601号") == "朝阳路601号"
    assert street_of("广东省东莞市莞城街道南京路806号") == "南京路806号"
    assert street_of("广州市") == ""


def test_the_buyer_address_street_tells_two_same_named_hospitals_apart(matcher: CustomerMatcher) -> None:
    d = _one(matcher, "中医院", "广东省广州市白云区朝阳路601号", "广东省", "广州市")
    assert (d.status, d.crm_customer_id, d.evidence["street"]) == ("auto", "K01", "agree")
    d = _one(matcher, "中医院", "广东省广州市白云区健康路12号", "广东省", "广州市")
    assert (d.status, d.crm_customer_id) == ("auto", "K02")


def test_a_name_without_district_is_the_city_institution_not_a_district_one(matcher: CustomerMatcher) -> None:
    d = _one(matcher, "妇幼保健院")
    assert (d.status, d.crm_customer_id, d.evidence["tie_break"]) == ("auto", "K03", "no_district")
    d = _one(matcher, "东城区妇幼保健院")
    assert (d.status, d.crm_customer_id) == ("auto", "K04")


def test_community_centres_of_two_districts_stay_in_review(matcher: CustomerMatcher) -> None:
    d = _one(matcher, "金桥社区卫生服务中心")
    assert d.status == "review"
    assert {c["crm_customer_id"] for c in d.candidates[:2]} == {"K12", "K13"}


def test_twin_pharmacies_stay_in_review_unless_the_official_name_is_written(matcher: CustomerMatcher) -> None:
    assert _one(matcher, "北京春天大药房").status == "review"
    assert _one(matcher, "北京市春天药房").status == "review"
    d = _one(matcher, "北京市春天大药方")  # a slip, otherwise letter for letter K10's name
    assert (d.status, d.crm_customer_id) == ("auto", "K10")


def test_chain_outlet_written_as_brand_and_branch(matcher: CustomerMatcher) -> None:
    assert branch_without_city("国药控股国大药房北京建设路店", "北京") == "国药控股国大药房建设路店"
    assert branch_without_city("北京协和医院", "北京") == ""
    d = _one(matcher, "国药控股国大药房(建设路店)")
    assert (d.status, d.crm_customer_id) == ("auto", "K06")
    d = _one(matcher, "国大药房(公园路店)")
    assert (d.status, d.crm_customer_id) == ("auto", "K07")


def test_alias_table_entry_attaches_to_the_named_hospital_only(matcher: CustomerMatcher) -> None:
    d = _one(matcher, "南京医科大学第一附属医院", province="江苏省", city="南京市")
    assert (d.status, d.crm_customer_id) == ("auto", "K08")


OWN = MasterProduct("P007", "注射用泮托拉唑钠", "康泮", "40mg*1支", "注射剂", 1, 500, True, 18.6)
OTHER = MasterProduct("P017", "注射用泮托拉唑钠", "潘妥洛克", "40mg*1支", "注射剂", 1, 400, False, 35.6)


def test_price_tells_two_makers_identical_generics_apart() -> None:
    m = ProductMatcher([OWN, OTHER], 0.9, 0.6)
    assert m.match("注射用泮托拉唑钠", "40mg*1支").status == "review"
    d = m.match("注射用泮托拉唑钠", "40mg*1支", prices=Prices(box=17.7))
    assert (d.status, d.product_id, d.evidence["price"]) == ("auto", "P007", "agree")
    d = m.match("注射用泮托拉唑钠", "40mg*1支", prices=Prices(case=8135.0))  # per case of 500
    assert (d.status, d.product_id) == ("auto", "P007")
    d = m.match("注射用泮托拉唑钠", "40mg*1支", prices=Prices(box=34.0))
    assert (d.status, d.product_id) == ("auto", "P017")


def test_a_feed_of_our_products_only_is_recognised() -> None:
    by_id = {p.product_id: p for p in (OWN, OTHER)}
    auto = ProductDecision("P007", "auto", "fuzzy:generic", 1.0, {}, [])
    review = ProductDecision(None, "review", "ambiguous", 1.0, {}, [])
    comp = ProductDecision("P017", "auto", "fuzzy:brand", 1.0, {}, [])
    codes = ["D1"] * 6 + ["D2"] * 6
    decisions = [auto] * 5 + [review] + [auto] * 5 + [comp]
    assert own_only_feeds(codes, decisions, by_id) == {"D1"}
