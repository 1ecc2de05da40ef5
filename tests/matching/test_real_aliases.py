"""Real hospital abbreviations (tests/data/real_hospital_aliases.csv, from public knowledge).

The master holds every full name of the file plus look-alike confusers (other hospitals of the
same universities and cities: 北京大学第六医院, 中山大学附属第六医院, 武汉 and 福建 协和 …). Each
abbreviation is matched as a distributor in that hospital's city would send it.

Two runs: with the shipped alias table (`matching/data/hospital_aliases.csv`, which holds these
abbreviations, so this measures the production set-up, not generalisation) and with the alias
table switched off (rules only: what the normaliser and scorer work out on their own).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from matching.customers import (CustomerIndex, CustomerMatcher, MasterCustomer, RawBuyer, Thresholds,
                                load_aliases)
from matching.divisions import Divisions
from matching.normalize import NameRules, Normalizer
from sfe.config import Thresholds as SettingsThresholds

DATA = Path(__file__).resolve().parents[1] / "data" / "real_hospital_aliases.csv"
DEFAULTS = SettingsThresholds()


def _setup(with_alias_table: bool) -> tuple[CustomerMatcher, list[tuple[str, str, str, str]]]:
    frame = pl.read_csv(DATA, infer_schema=False).fill_null("")
    hospitals = frame.select("full_name", "province", "city").unique().sort("full_name")
    normalizer = Normalizer(NameRules.load(), Divisions.load().extend(
        (p, c, "") for p, c in hospitals.select("province", "city").iter_rows()))
    customers = [MasterCustomer(f"R{i:03d}", name, p, c, "", normalizer.name(name))
                 for i, (name, p, c) in enumerate(hospitals.iter_rows())]
    index = CustomerIndex.build(customers, normalizer, load_aliases() if with_alias_table else ())
    matcher = CustomerMatcher(index, normalizer, Thresholds(DEFAULTS.match_auto_score,
                                                            DEFAULTS.match_review_score))
    by_name = {c.name: c.crm_customer_id for c in customers}
    cases = [(r["raw_name"], r["province"], r["city"], by_name[r["full_name"]])
             for r in frame.filter(pl.col("role") == "alias").to_dicts()]
    return matcher, cases


def _measure(with_alias_table: bool) -> dict[str, float]:
    matcher, cases = _setup(with_alias_table)
    decisions = matcher.match([RawBuyer(raw, "", p, c) for raw, p, c, _ in cases])
    auto = [(d, truth) for d, (_, _, _, truth) in zip(decisions, cases, strict=True) if d.status == "auto"]
    correct = sum(d.crm_customer_id == truth for d, truth in auto)
    return {"names": len(cases), "auto": len(auto), "correct": correct,
            "review": sum(d.status == "review" for d in decisions),
            "precision": correct / len(auto) if auto else 1.0, "recall": correct / len(cases)}


def test_the_real_alias_set_is_large_enough() -> None:
    frame = pl.read_csv(DATA, infer_schema=False)
    assert frame.filter(pl.col("role") == "alias")["full_name"].n_unique() >= 60
    assert frame.filter(pl.col("role") == "alias").height >= 90


def test_real_aliases_with_the_alias_table_are_matched_precisely() -> None:
    result = _measure(with_alias_table=True)
    assert result["precision"] >= 0.99, result
    assert result["recall"] >= 0.95, result


def test_rules_alone_never_guess_wrong_on_real_aliases() -> None:
    """Without the table many abbreviations are out of reach (协和, 301); none may be wrong."""
    result = _measure(with_alias_table=False)
    assert result["precision"] >= 0.99, result
    assert result["recall"] >= 0.25, result


@pytest.mark.parametrize(("raw", "city", "full"), [
    ("协和医院", "北京", "北京协和医院"),
    ("协和医院", "武汉", "华中科技大学同济医学院附属协和医院"),
    ("协和医院", "福州", "福建医科大学附属协和医院"),
    ("中山一院", "广州", "中山大学附属第一医院"),
    ("北大三院", "北京", "北京大学第三医院"),
])
def test_the_same_abbreviation_means_the_hospital_of_the_sellers_city(raw: str, city: str, full: str) -> None:
    matcher, _ = _setup(with_alias_table=True)
    province = {"北京": "北京", "武汉": "湖北", "福州": "福建", "广州": "广东"}[city]
    decision = matcher.match([RawBuyer(raw, "", province, city)])[0]
    chosen = next(c.name for c in matcher.index.customers if c.crm_customer_id == decision.crm_customer_id)
    assert (decision.status, chosen) == ("auto", full)
