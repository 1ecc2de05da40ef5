"""Normalising Chinese institution names: one table of cases, each hand-checked."""

from __future__ import annotations

import pytest

from matching.divisions import Divisions, short_name
from matching.normalize import NameRules, Normalizer, basic_clean

MASTER_PLACES = [("北京市", "北京市", "海淀区"), ("北京市", "北京市", "朝阳区"),
                 ("江苏省", "苏州市", "姑苏区"), ("江苏省", "南京市", "鼓楼区"),
                 ("江苏省", "徐州市", "鼓楼区"), ("河南省", "郑州市", "管城回族区"),
                 ("山东省", "济南市", "市中区")]


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(NameRules.load(), Divisions.load().extend(MASTER_PLACES))


# raw name → (core, province, city, district, level)
CASES = [
    # university short names and hospital abbreviations
    ("北京大学第三医院", "北大第三医院", "", "", "", ""),
    ("北京市海淀区 北大三院 药剂科", "北大第三医院", "北京", "北京", "海淀", ""),
    ("　北京市　海淀区　北大三院", "北大第三医院", "北京", "北京", "海淀", "district"),
    ("上海交通大学医学院附属瑞金医院", "交大瑞金医院", "", "", "", ""),
    ("中南大学湘雅二医院", "中南湘雅第二医院", "", "", "", ""),
    ("湘雅二院", "湘雅第二医院", "", "", "", ""),
    ("中国人民解放军总医院", "解放军总医院", "", "", "", ""),
    # 附属第一医院 ↔ 附一院 ↔ 一附院 ↔ 第一附属医院
    ("南京医科大学附属第一医院", "南医大附属第一医院", "", "", "", ""),
    ("南京医科大学第一附属医院", "南医大附属第一医院", "", "", "", ""),
    ("南医大附一院", "南医大附属第一医院", "", "", "", ""),
    ("南医大一附院", "南医大附属第一医院", "", "", "", ""),
    ("郑大一附属医院", "郑大附属第一医院", "", "", "", ""),
    # 市第一人民医院 ↔ 市一院, digits, typos
    ("苏州市第一人民医院", "第一人民医院", "江苏", "苏州", "", "city"),
    ("苏州市一院", "第一人民医院", "江苏", "苏州", "", "city"),
    ("苏州一院", "第一人民医院", "江苏", "苏州", "", "city"),
    ("苏州市第1人民医院", "第一人民医院", "江苏", "苏州", "", "city"),
    ("市一院", "第一人民医院", "", "", "", "city"),
    ("第一人民医院", "第一人民医院", "", "", "", ""),
    ("苏州市第二人名医院", "第二人民医院", "江苏", "苏州", "", "city"),
    # 中医院 ↔ 中医医院, 妇幼, 儿院, 区医院
    ("苏州市中医医院", "中医院", "江苏", "苏州", "", "city"),
    ("苏州市中医院", "中医院", "江苏", "苏州", "", "city"),
    ("苏州市妇幼保健医院", "妇幼保健院", "江苏", "苏州", "", "city"),
    ("苏州妇幼", "妇幼保健院", "江苏", "苏州", "", "city"),
    ("青岛市儿院 西药方", "儿童医院", "山东", "青岛", "", "city"),
    ("苏州市姑苏区人民医院", "人民医院", "江苏", "苏州", "姑苏", "district"),
    ("姑苏区医院", "人民医院", "江苏", "苏州", "姑苏", "district"),
    ("郑州市管城回族区中医医院", "中医院", "河南", "郑州", "管城回族", "district"),
    # province-level institutions keep their level
    ("江苏省人民医院", "人民医院", "江苏", "", "", "province"),
    ("省人医", "人民医院", "", "", "", "province"),
    # department noise and brackets
    ("协和医院门诊药房", "协和医院", "", "", "", ""),
    ("北京协和医院", "协和医院", "北京", "北京", "", "city"),
    ("苏州市中心医院（药库）", "中心医院", "江苏", "苏州", "", "city"),
    ("北京大学第三医院（北医三院）", "北大第三医院", "", "", "", ""),
    ("四川大学华西医院（温江院区）", "川大华西医院温江院区", "", "", "", ""),
    ("ＸＸ医院", "XX医院", "", "", "", ""),
    # pharmacies: 大药房 ↔ 药店 ↔ 药房, the branch stays part of the name
    ("老百姓大药房（五一路店）", "老百姓药房五一路店", "", "", "", ""),
    ("老百姓大药房 五一路店", "老百姓药房五一路店", "", "", "", ""),
    ("北京市回春堂大药房", "回春堂药房", "北京", "北京", "", "city"),
    ("北京回春堂药店", "回春堂药房", "北京", "北京", "", "city"),
    # community health centres
    ("苏州市姑苏区东湖社区卫生服务中心", "东湖社区", "江苏", "苏州", "姑苏", "district"),
    ("东湖社区医院", "东湖社区", "", "", "", ""),
    ("姑苏区东湖社区", "东湖社区", "江苏", "苏州", "姑苏", "district"),
    # places: a bare place + generic word is a name; 朝阳区 is a district; 鼓楼区 is in two cities
    ("北京朝阳医院", "朝阳医院", "北京", "北京", "", "city"),
    ("朝阳区妇幼保健院", "妇幼保健院", "北京", "北京", "朝阳", "district"),
    ("安康医院", "安康医院", "", "", "", ""),
    ("安康 医院", "安康医院", "", "", "", ""),
    ("鼓楼区妇幼保健院", "妇幼保健院", "", "", "鼓楼", "district"),
    ("陕西宝鸡市 翠竹社区医阮", "翠竹社区", "陕西", "宝鸡", "", ""),
    ("北京北京市 市中心医院", "中心医院", "北京", "北京", "", "city"),
    ("市中心医院", "中心医院", "", "", "", "city"),
    ("苏州 市姑苏区东湖社区卫生服务中心", "东湖社区", "江苏", "苏州", "姑苏", "district"),
    ("市中人民医院", "市中人民医院", "", "", "", ""),  # 济南市市中区 written without 区
]


@pytest.mark.parametrize(("raw", "core", "province", "city", "district", "level"), CASES)
def test_normalised_name_has_expected_core_and_places(normalizer: Normalizer, raw: str, core: str,
                                                      province: str, city: str, district: str,
                                                      level: str) -> None:
    norm = normalizer.name(raw)
    assert (norm.core, norm.province, norm.city, norm.district, norm.level) == (
        core, province, city, district, level)


def test_bracketed_abbreviation_is_kept_as_alias(normalizer: Normalizer) -> None:
    norm = normalizer.name("北京大学第三医院（北医三院）")
    assert norm.aliases == ("北医第三医院",)


def test_bracketed_second_official_name_is_an_alias_with_its_level(normalizer: Normalizer) -> None:
    norm = normalizer.name("南京医科大学第一附属医院（江苏省人民医院）")
    assert (norm.core, norm.aliases, norm.alias_levels) == ("南医大附属第一医院", ("人民医院",),
                                                            ("province",))


def test_address_supplies_places_the_name_does_not_state(normalizer: Normalizer) -> None:
    norm = normalizer.name("市一院", "江苏省苏州市姑苏区十梓街188号")
    assert (norm.core, norm.province, norm.city, norm.district) == ("第一人民医院", "江苏", "苏州", "姑苏")


@pytest.mark.parametrize(("raw", "clean"), [
    ("ＡＢＣ医院", "ABC医院"), ("北京　协和 医院", "北京协和医院"), ("【北医三院】", "(北医三院)"),
    ("第１人民医院", "第一人民医院"), ("苏州市3院", "苏州市三院"), ("协和医院·东院", "协和医院东院"),
])
def test_basic_clean_folds_width_spaces_brackets_and_digits(raw: str, clean: str) -> None:
    assert basic_clean(raw) == clean


@pytest.mark.parametrize(("name", "short"), [
    ("江苏省", "江苏"), ("广西壮族自治区", "广西"), ("新疆维吾尔自治区", "新疆"), ("海淀区", "海淀"),
    ("苏州市", "苏州"), ("浦东新区", "浦东"), ("朝阳", "朝阳"), ("区", "区"),
])
def test_short_name_drops_the_division_suffix(name: str, short: str) -> None:
    assert short_name(name) == short


def test_stewards_extend_rules_through_the_csv(tmp_path) -> None:
    rules = tmp_path / "rules.csv"
    base = (NameRules.load.__globals__["DATA_DIR"] / "name_rules.csv").read_text(encoding="utf-8")
    rules.write_text(base + "rewrite,^协和$,协和医院,steward: the short form\n", encoding="utf-8")
    extended = Normalizer(NameRules.load(rules), Divisions.load())
    assert extended.name("协和").core == "协和医院"
    assert Normalizer(NameRules.load(), Divisions.load()).name("协和").core == "协和"
