"""Company names: buyers that are distributors, and tender bidders that are our own company.

A flow buyer is another distributor (a tier-1 selling to a tier-2) when its buyer code is a
distributor code, or its name or one of the master's aliases matches a distributor's name after
normalisation (legal forms 有限公司/股份 removed). Fuzzy hits need a very high score because a
buyer wrongly taken for a distributor disappears from terminal sell-out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from matching.normalize import Normalizer, basic_clean

DISTRIBUTOR_FUZZY_MIN = 92.0
_COMPANY_HINTS = ("公司", "医药", "药业", "商业", "物流", "供应链", "集团", "国药", "九州通", "华润")
OWN_COMPANY_MIN = 90.0


def company_key(name: str, normalizer: Normalizer) -> str:
    """'国药控股 苏州有限公司' → '国药控股苏州'."""
    text = re.sub(r"\([^()]*\)", "", basic_clean(name))  # '(二级商)', '(原XX)'
    return normalizer.canonical(text)


@dataclass(frozen=True)
class DistributorHit:
    distributor_code: str
    method: str  # distributor:code|distributor:name|distributor:alias|distributor:fuzzy
    score: float


class DistributorIndex:
    """Names and aliases of the distributors in the master, for classifying buyers."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str]], normalizer: Normalizer) -> None:
        """rows: (distributor_code, name, aliases '|'-separated, province)."""
        self.normalizer = normalizer
        self.province: dict[str, str] = {}
        self.keys: dict[str, list[tuple[str, str]]] = {}
        for code, name, aliases, province in rows:
            self.province[code] = province or ""
            self._add(name, code, "distributor:name")
            for alias in (aliases or "").split("|"):
                self._add(alias, code, "distributor:alias")
        self._choices = list(self.keys)

    def _add(self, name: str, code: str, method: str) -> None:
        key = company_key(name or "", self.normalizer)
        if len(key) >= 2 and (code, method) not in self.keys.get(key, []):
            self.keys.setdefault(key, []).append((code, method))

    def _pick(self, hits: list[tuple[str, str]], seller_province: str) -> tuple[str, str]:
        """An alias several distributors share ('九州通') means the one in the seller's province."""
        local = [h for h in hits if self.province.get(h[0]) == seller_province]
        return (local or hits)[0]

    def classify(self, buyer_code: str, raw_name: str, seller_province: str = "") -> DistributorHit | None:
        if buyer_code and buyer_code in self.province:
            return DistributorHit(buyer_code, "distributor:code", 1.0)
        key = company_key(raw_name, self.normalizer)
        if key in self.keys:
            code, method = self._pick(self.keys[key], seller_province)
            return DistributorHit(code, method, 1.0)
        if not self._choices or not any(h in raw_name for h in _COMPANY_HINTS):
            return None
        best = process.extractOne(key, self._choices, scorer=fuzz.ratio,
                                  score_cutoff=DISTRIBUTOR_FUZZY_MIN)
        if best is None:
            return None
        code, _ = self._pick(self.keys[best[0]], seller_province)
        return DistributorHit(code, "distributor:fuzzy", best[1] / 100.0)


def own_company_score(bidder: str, company_name: str, normalizer: Normalizer) -> float:
    """0..1 similarity of a tender bidder to our company (containment counts as a match)."""
    a, b = company_key(bidder, normalizer), company_key(company_name, normalizer)
    if not a or not b:
        return 0.0
    if min(len(a), len(b)) >= 3 and (b in a or a in b):
        return 1.0
    return fuzz.ratio(a, b) / 100.0


def is_own_company(score: float) -> bool:
    return score * 100.0 >= OWN_COMPANY_MIN
