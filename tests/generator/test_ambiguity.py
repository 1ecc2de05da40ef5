"""Which raw names the truth marks ambiguous: hand-made customers, hand-decided answers."""

from __future__ import annotations

import pytest

from generator.ambiguity import AmbiguityIndex, clean
from generator.world import City, Customer

CITIES = [City("北京市", "北京市", "北京", ["朝阳区", "西城区"], 1.0),
          City("广东省", "广州市", "广州", ["越秀区"], 1.0),
          City("广东省", "佛山市", "佛山", ["禅城区"], 1.0)]


def _customer(i: int, name: str, city: City, district: str, aliases: list[str]) -> Customer:
    return Customer(f"C{i}", name, "hospital", "", city.province, city.city, district,
                    f"{city.city}{district}人民路{i}号", None, 0.0, aliases)


BJ, GZ, FS = CITIES
CUSTOMERS = [
    _customer(0, "北京市春天大药房", BJ, "朝阳区", ["北京市春天药房"]),
    _customer(1, "北京春天药店", BJ, "西城区", ["北京春天大药房"]),
    _customer(2, "广州市第四人民医院", GZ, "越秀区", ["广州市四院", "市四院"]),
    _customer(3, "佛山市第四人民医院", FS, "禅城区", ["佛山市四院", "市四院"]),
    _customer(4, "北京市朝阳区金桥社区卫生服务中心", BJ, "朝阳区",
              ["金桥社区卫生服务中心", "金桥社区医院", "朝阳区金桥社区"]),
    _customer(5, "北京市西城区金桥社区卫生服务中心", BJ, "西城区",
              ["金桥社区卫生服务中心", "金桥社区医院", "西城区金桥社区"]),
    _customer(6, "大参林(光明路店)", GZ, "越秀区", ["大参林光明路店"]),
    _customer(7, "大参林(光明路店)", FS, "禅城区", ["大参林光明路店"]),
]
BOTH_GD = ["广州市", "佛山市"]


@pytest.fixture(scope="module")
def index() -> AmbiguityIndex:
    return AmbiguityIndex(CITIES, CUSTOMERS)


@pytest.mark.parametrize(("raw", "customer", "reach", "address", "expected"), [
    # the 药店 twin's trade alias reads as the 大药房 twin's official name without 市
    ("北京春天大药房", 1, ["北京市"], False, ["C0"]),
    # an exact official name names its customer
    ("北京春天药店", 1, ["北京市"], False, []),
    ("北京市春天大药房", 0, ["北京市"], False, []),
    # 市四院 from a province-wide seller could be either city's; from a one-city seller it is not
    ("市四院", 2, BOTH_GD, False, ["C3"]),
    ("市四院 药剂科", 2, BOTH_GD, False, ["C3"]),
    ("市四院", 2, ["广州市"], False, []),
    ("广州市四院", 2, BOTH_GD, False, []),
    ("广东省广州市 市四院", 2, BOTH_GD, False, []),
    # typo of the customer's own official name
    ("佛山市第四人民医阮", 3, BOTH_GD, False, []),
    # a community centre name two districts share; the seller's address tells them apart
    ("金桥社区卫生服务中心", 4, ["北京市"], False, ["C5"]),
    ("金桥社区卫生服务中心", 4, ["北京市"], True, []),
    ("北京市朝阳区 金桥社区卫生服务中心", 4, ["北京市"], False, []),
    # one chain shop name in two cities: even the official name does not decide
    ("大参林（光明路店）", 6, BOTH_GD, False, ["C7"]),
    ("大参林光明路店", 7, ["佛山市"], False, []),
])
def test_other_customers_a_raw_name_could_be(index: AmbiguityIndex, raw: str, customer: int,
                                             reach: list[str], address: bool,
                                             expected: list[str]) -> None:
    assert index.others(raw, customer, reach, address) == expected


def test_clean_undoes_width_spaces_and_department_noise() -> None:
    assert clean("市四院\u3000药剂科") == "市四院"
    assert clean("大参林（光明路店）") == "大参林(光明路店)"
    assert clean("北京  协和医院-门诊药房") == "北京协和医院"


def test_place_words_at_the_start_read_alike(index: AmbiguityIndex) -> None:
    assert index.canon("广东省佛山市佛山万民大药房") == index.canon("佛山市万民大药房") == "佛山万民大药房"
    assert index.canon("北京市春天大药房") == index.canon("北京春天大药房")
    assert index.canon("广东省广州市 市四院".replace(" ", "")) == "广州市四院"  # province dropped
