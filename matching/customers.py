"""Matching raw buyer and hospital names to the customer master.

Candidate generation (blocking) takes, for every raw name, the master keys of its province (the
province written in the name or address, else the distributor's), scored in one vectorised
`rapidfuzz.process.cdist` call per province, plus keys outside the province that share rare
character bigrams or are exactly equal. Each candidate is then scored on features a steward can
read back in `evidence`: name similarity and which key matched (name, bracketed alias, alias
table), province/city/district agreement, ordinal (第一/第二…), institution type (中医, 妇幼…) and
administrative level (省/市/区), and when the seller writes an address, its street and house number
(a different street costs STREET_CONFLICT). The decision needs both a high score and a clear margin
over the runner-up, so look-alikes (第一人民医院 in two cities) go to review rather than being
guessed. Two tie-breaks only: the raw name is letter for letter (slips and desk suffixes aside) the
official name of exactly one tied candidate, or it names no district and exactly one tied candidate
is not a district institution ('妇幼保健院' → the city's, not '东城区妇幼保健院').
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from matching.divisions import DATA_DIR, short_name
from matching.normalize import ORDINAL, Normalized, Normalizer

if TYPE_CHECKING:
    import numpy as np  # imported where used: a run whose matching is skipped never loads it

TOP_K = 6
MAX_EXTRA = 12
AMBIGUITY_MARGIN = 0.05
STREET_CONFLICT = 0.06  # an address on another street: likely another branch of the same name
DISTRIBUTOR_CITY_BONUS = 0.02  # a buyer in the seller's own city is a little more likely
_GENERIC = ("医院", "人民", "中医", "中心", "妇幼保健院", "保健院", "卫生院", "大学", "附属", "第",
            "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "市", "省", "县", "区")


@dataclass(frozen=True)
class MasterCustomer:
    crm_customer_id: str
    name: str
    province: str
    city: str
    district: str
    norm: Normalized

    @property
    def literal(self) -> str:
        """The name as written, width and punctuation normalised (for exact-name matches)."""
        return self.norm.clean


@dataclass(frozen=True)
class RawBuyer:
    """One raw name to match, with the context its source gives."""

    raw_name: str
    address: str = ""
    context_province: str = ""  # the distributor's (or the tender's) province
    context_city: str = ""
    local_seller: bool = False  # the distributor is known to sell only in its own city
    addresses: int = 1  # distinct addresses this raw name was written with (>1: several buyers)


@dataclass
class Decision:
    status: str  # auto|review|unmatched
    crm_customer_id: str | None
    score: float
    method: str
    evidence: dict[str, object]
    candidates: list[dict[str, object]]


@dataclass(frozen=True)
class AliasEntry:
    alias: str
    full_name: str
    province: str
    city: str


def load_aliases(path: Path | None = None) -> list[AliasEntry]:
    """Known abbreviations of real hospitals (`matching/data/hospital_aliases.csv`)."""
    with (path or DATA_DIR / "hospital_aliases.csv").open(encoding="utf-8", newline="") as fh:
        return [AliasEntry(r["alias"], r["full_name"], short_name(r.get("province", "")),
                           short_name(r.get("city", ""))) for r in csv.DictReader(fh)]


def distinctive(core: str) -> str:
    """The part of a core that is not a generic word ('协和医院' → '协和')."""
    for word in _GENERIC:
        core = core.replace(word, "")
    return core


def _same_institution(full: Normalized, cust: MasterCustomer) -> bool:
    """The alias table's full name is this customer's name: same core, and the places and the
    level the full name writes agree with the customer's."""
    return ((not full.province or full.province == cust.province)
            and (not full.city or full.city == cust.city)
            and (not full.district or full.district == cust.district)
            and full.level == cust.norm.level)


def branch_without_city(core: str, city: str) -> str:
    """'国药控股国大药房北京建设路店' → '国药控股国大药房建设路店': a chain outlet named brand + its
    city + branch is written by sellers as brand + branch ('国药控股国大药房(建设路店)')."""
    if len(city) < 2 or core.startswith(city) or not core.endswith("店"):
        return ""
    head, found, tail = core.partition(city)
    return f"{head}{tail}" if found and len(head) >= 2 and len(tail) >= 2 else ""


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


@dataclass
class CustomerIndex:
    """The master's match keys (name, bracketed aliases, alias-table aliases) with blocks."""

    customers: list[MasterCustomer]
    key_text: list[str] = field(default_factory=list)
    key_owner: list[int] = field(default_factory=list)
    key_kind: list[str] = field(default_factory=list)
    key_level: list[str] = field(default_factory=list)
    key_markers: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    by_province: dict[str, np.ndarray] = field(default_factory=dict)
    exact: dict[str, list[int]] = field(default_factory=dict)
    postings: dict[str, list[int]] = field(default_factory=dict)
    by_district: dict[str, list[int]] = field(default_factory=dict)
    district_names: re.Pattern[str] | None = None

    @classmethod
    def build(cls, customers: Sequence[MasterCustomer], normalizer: Normalizer,
              aliases: Iterable[AliasEntry] = ()) -> CustomerIndex:
        index = cls(list(customers))
        by_full = defaultdict(list)
        for alias in aliases:
            full = normalizer.name(alias.full_name)
            by_full[full.core].append((alias, full))
        for i, cust in enumerate(index.customers):
            index._add(cust.norm.core, i, "name", cust.norm.level)
            for alias_core, level in zip(cust.norm.aliases, cust.norm.alias_levels, strict=True):
                index._add(alias_core, i, "bracket_alias", level)
            branch = branch_without_city(cust.norm.core, cust.city)
            if branch:
                index._add(branch, i, "branch_alias", cust.norm.level)
            for alias, full in by_full.get(cust.norm.core, []):
                if alias.city and cust.city and alias.city != cust.city:
                    continue
                if not _same_institution(full, cust):  # '江苏省人民医院' is not '玄武区人民医院'
                    continue
                index._add(normalizer.literal(alias.alias), i, "alias_literal", "")
                norm = normalizer.name(alias.alias)
                if norm.city in ("", cust.city) and norm.province in ("", cust.province):
                    index._add(norm.core, i, "alias_table", norm.level)
        index.key_markers = [_markers(text, normalizer.rules.types) for text in index.key_text]
        index._build_blocks()
        return index

    def _add(self, text: str, owner: int, kind: str, level: str) -> None:
        if text:
            self.key_text.append(text)
            self.key_owner.append(owner)
            self.key_kind.append(kind)
            self.key_level.append(level)

    def _build_blocks(self) -> None:
        import numpy as np  # noqa: PLC0415 - lazy: 0.5 s of start-up, only matching needs it

        blocks: dict[str, list[int]] = defaultdict(list)
        grams: dict[str, list[int]] = defaultdict(list)
        for k, (text, owner) in enumerate(zip(self.key_text, self.key_owner, strict=True)):
            blocks[self.customers[owner].province].append(k)
            self.exact.setdefault(text, []).append(k)
            for gram in _bigrams(distinctive(text)):
                grams[gram].append(k)
        self.by_province = {p: np.asarray(ks, dtype=np.int64) for p, ks in blocks.items()}
        districts: dict[str, list[int]] = defaultdict(list)
        for k, owner in enumerate(self.key_owner):
            if len(self.customers[owner].district) >= 2:
                districts[self.customers[owner].district].append(k)
        self.by_district = dict(districts)
        names = sorted(districts, key=len, reverse=True)
        self.district_names = re.compile("|".join(map(re.escape, names))) if names else None
        limit = max(8, len(self.key_text) // 100)
        self.postings = {g: ks for g, ks in grams.items() if len(ks) <= limit}


@dataclass(frozen=True)
class Thresholds:
    auto: float
    review: float
    margin: float = AMBIGUITY_MARGIN


class CustomerMatcher:
    """Blocks, scores and decides; one instance per run (it caches normalised names)."""

    def __init__(self, index: CustomerIndex, normalizer: Normalizer, thresholds: Thresholds,
                 workers: int = 2) -> None:
        self.index = index
        self.normalizer = normalizer
        self.thresholds = thresholds
        self.workers = workers
        import numpy as np  # noqa: PLC0415 - lazy (see _build_blocks)

        self._all_keys = np.arange(len(index.key_text), dtype=np.int64)

    def match(self, buyers: Sequence[RawBuyer]) -> list[Decision]:
        buyers = [replace(b, context_province=short_name(b.context_province),
                          context_city=short_name(b.context_city)) for b in buyers]
        norms = [self.normalizer.name(b.raw_name, b.address) for b in buyers]
        candidates = self.candidates(buyers, norms)
        return [self.decide(b, n, c) for b, n, c in zip(buyers, norms, candidates, strict=True)]

    # -- blocking --------------------------------------------------------------------------------
    def block_of(self, buyer: RawBuyer, norm: Normalized) -> str:
        province = norm.province or short_name(buyer.context_province)
        return province if province in self.index.by_province else ""

    def candidates(self, buyers: Sequence[RawBuyer], norms: Sequence[Normalized]) -> list[set[int]]:
        """Key indices worth scoring for each raw name: its block's best, n-gram and exact hits."""
        out: list[set[int]] = [set() for _ in buyers]
        groups: dict[str, list[int]] = defaultdict(list)
        for i, (buyer, norm) in enumerate(zip(buyers, norms, strict=True)):
            groups[self.block_of(buyer, norm)].append(i)
        for block, rows in groups.items():
            keys = self.index.by_province.get(block, self._all_keys) if block else self._all_keys
            self._top_in_block(rows, norms, keys, out)
        for i, norm in enumerate(norms):
            out[i].update(self._extra_keys(norm))
        return out

    def _top_in_block(self, rows: list[int], norms: Sequence[Normalized], keys: np.ndarray,
                      out: list[set[int]]) -> None:
        import numpy as np  # noqa: PLC0415 - lazy (see _build_blocks)

        if not len(keys):
            return
        queries = [norms[i].core for i in rows]
        choices = [self.index.key_text[k] for k in keys]
        scores = process.cdist(queries, choices, scorer=fuzz.ratio, dtype=np.uint8,
                               workers=self.workers)
        k = min(TOP_K, len(keys))
        top = np.argpartition(-scores.astype(np.int16), k - 1, axis=1)[:, :k]
        for row, picks in zip(rows, top, strict=True):
            out[row].update(int(keys[j]) for j in picks)

    def _extra_keys(self, norm: Normalized) -> set[int]:
        found = set(self.index.exact.get(norm.core, ()))
        found.update(self.index.exact.get(norm.full, ()))
        pattern = self.index.district_names
        m = pattern.match(norm.core) if pattern is not None else None
        if m:  # '管城回族中医院': a district written without 区 in front of the name
            rest = norm.core[m.end():]
            found.update(k for k in self.index.by_district[m.group(0)] if self.index.key_text[k] == rest)
        for alias in norm.aliases:
            found.update(self.index.exact.get(alias, ()))
        counts: dict[int, int] = defaultdict(int)
        for gram in _bigrams(distinctive(norm.core)):
            for k in self.index.postings.get(gram, ()):
                counts[k] += 1
        best = sorted((k for k, c in counts.items() if c >= 2), key=lambda k: -counts[k])
        found.update(best[:MAX_EXTRA])
        return found

    # -- scoring ---------------------------------------------------------------------------------
    def _upper_bound(self, norm: Normalized, k: int) -> float:
        """No feature adds more than DISTRIBUTOR_CITY_BONUS to the name similarity, and a written
        province or city that differs costs what `_geo_score` takes off (kept lean: hot path)."""
        index = self.index
        key = index.key_text[k]
        if index.key_kind[k] == "alias_literal":
            return 1.0 if key == norm.full else 0.0
        cand = index.customers[index.key_owner[k]]
        geo = 0.0
        if norm.province and cand.province and norm.province != cand.province:
            geo += 0.5
        if norm.city and cand.city and norm.city != cand.city:
            geo += 0.4
        core = norm.core
        if key == core:
            return 1.0 - geo
        district = cand.district
        if district and core.startswith(district) and core[len(district):] == key:
            return 1.0 - geo
        return name_similarity(core, key) + DISTRIBUTOR_CITY_BONUS - geo

    def decide(self, buyer: RawBuyer, norm: Normalized, keys: set[int]) -> Decision:
        """Score keys best-first by name similarity, an upper bound of the final score, and stop
        once no remaining key can reach the runner-up: the decision is the same as scoring all."""
        per_customer: dict[int, tuple[float, dict[str, object]]] = {}
        best = runner_up = 0.0
        leader = -1
        margin = self.thresholds.margin
        for bound, k in sorted(((self._upper_bound(norm, k), k) for k in keys), reverse=True):
            if bound < runner_up or bound < best - margin:
                break  # cannot change the best, nor make the best ambiguous
            owner = self.index.key_owner[k]
            score, evidence = score_pair(buyer, norm, self.index.customers[owner],
                                         self.index.key_text[k], self.index.key_kind[k],
                                         self.index.key_level[k], self.normalizer.rules.types,
                                         self.index.key_markers[k])
            if owner in per_customer and score <= per_customer[owner][0]:
                continue
            per_customer[owner] = (score, evidence)
            if owner == leader:
                best = score
            elif score > best:
                leader, best, runner_up = owner, score, best
            elif score > runner_up:
                runner_up = score
        ranked = sorted(per_customer.items(),
                        key=lambda kv: (-kv[1][0], not kv[1][1].get("exact_name"), kv[0]))
        return self._outcome(ranked, norm, buyer)

    def _outcome(self, ranked: list[tuple[int, tuple[float, dict[str, object]]]],
                 norm: Normalized, buyer: RawBuyer) -> Decision:
        top = [{"crm_customer_id": self.index.customers[o].crm_customer_id,
                "name": self.index.customers[o].name, "city": self.index.customers[o].city,
                "score": round(s, 4)} for o, (s, _) in ranked[:5]]
        if not ranked:
            return Decision("unmatched", None, 0.0, "no_candidate", {"core": norm.core}, [])
        owner, (best, evidence) = ranked[0]
        second = ranked[1][1][0] if len(ranked) > 1 else 0.0
        evidence = {**evidence, "core": norm.core, "margin": round(best - second, 4)}
        t = self.thresholds
        clear = round(best - second, 6) >= t.margin or _only_exact_name(ranked)
        if not clear and best >= t.auto:
            pick = _only_without_district(ranked, norm, t.margin)
            if pick is not None:
                owner, (best, evidence) = pick
                evidence = {**evidence, "core": norm.core, "margin": 0.0, "tie_break": "no_district"}
                clear = True
        if buyer.addresses > 1:
            evidence["addresses"] = buyer.addresses  # one raw name, several places: several buyers
            clear = False
        if best >= t.auto and clear:
            method = "exact_name" if evidence.get("exact_name") else f"fuzzy:{evidence['key']}"
            return Decision("auto", self.index.customers[owner].crm_customer_id, best, method,
                            evidence, top)
        status = "review" if best >= t.review else "unmatched"
        method = "ambiguous" if best >= t.auto else f"fuzzy:{evidence['key']}"
        return Decision(status, None, best, method, evidence, top)


def _only_without_district(ranked: list[tuple[int, tuple[float, dict[str, object]]]],
                           norm: Normalized, margin: float
                           ) -> tuple[int, tuple[float, dict[str, object]]] | None:
    """Among candidates tied at the top, the one institution whose official name claims no
    district, when the raw name (and its address) names no district either: '妇幼保健院' from a
    city's seller is the city's 妇幼保健院, not one of its district ones ('东城区妇幼保健院'),
    which sellers write with their district."""
    if norm.district or norm.level == "district":
        return None
    best = ranked[0][1][0]
    tied = [r for r in ranked if round(best - r[1][0], 6) < margin]
    plain = [r for r in tied if r[1][1].get("key_level") != "district"]
    return plain[0] if len(plain) == 1 and len(tied) > 1 else None


def _only_exact_name(ranked: list[tuple[int, tuple[float, dict[str, object]]]]) -> bool:
    """The raw name is, letter for letter, the official name of exactly one close candidate."""
    exact = [o for o, (_, ev) in ranked if ev.get("exact_name")]
    return len(exact) == 1 and exact[0] == ranked[0][0]


def _geo_penalty(raw: str, cand: str, penalty: float) -> float:
    return penalty if raw and cand and raw != cand else 0.0


def _geo(raw: str, cand: str) -> str:
    if not raw or not cand:
        return "unknown"
    return "agree" if raw == cand else "conflict"


def name_similarity(core: str, key: str) -> float:
    """rapidfuzz ratio, raised when one name holds the other's distinctive part whole."""
    sim = fuzz.ratio(core, key) / 100.0
    short, long_ = (core, key) if len(core) <= len(key) else (key, core)
    if len(short) >= 3 and short in long_ and len(distinctive(short)) >= 2:
        sim = max(sim, 0.93)
    return sim


def _markers(text: str, types: Sequence[str]) -> tuple[str, frozenset[str]]:
    m = ORDINAL.search(text)
    return (m.group(1) if m else "", frozenset(t for t in types if t in text))


def score_pair(buyer: RawBuyer, norm: Normalized, cand: MasterCustomer, key: str,
               key_kind: str, key_level: str = "", types: Sequence[str] = (),
               key_markers: tuple[str, frozenset[str]] | None = None) -> tuple[float, dict[str, object]]:
    """Score in [0, 1] and the evidence: which features agreed, which conflicted."""
    ev: dict[str, object] = {"key": key_kind}
    if key_kind == "alias_literal":  # the alias's place words belong to the alias ('中山一院')
        if key != norm.full:
            return 0.0, ev
        province, city, district = norm.address_place
        norm = replace(norm, core=key, province=province, city=city, district=district, level="",
                       ordinal="", types=frozenset())
    core, district, level = norm.core, norm.district, norm.level
    if cand.district and core.startswith(cand.district) and core[len(cand.district):] == key:
        core, district, level = key, cand.district, "district"  # '丰台中医院': 区 left out
    sim = 1.0 if key == core else name_similarity(core, key)
    ev["name_sim"] = round(sim, 4)
    if norm.clean and (norm.clean == cand.literal or norm.written == cand.norm.written):
        ev["exact_name"] = True  # letter for letter (slips, desk suffix, spaces aside) its name
    score = sim + _geo_score(buyer, norm, cand, district, ev)
    if norm.street and cand.norm.street:  # the seller wrote an address: its street must fit
        ev["street"] = "agree" if norm.street == cand.norm.street else "conflict"
        score -= STREET_CONFLICT if ev["street"] == "conflict" else 0.0
    score += _marker_score(norm, core, key, key_kind, types, ev, key_markers)
    ev["level"] = _geo(level, key_level)
    ev["key_level"] = key_level
    score -= 0.25 if ev["level"] == "conflict" else 0.0
    return max(0.0, min(1.0, score)), ev


def _geo_score(buyer: RawBuyer, norm: Normalized, cand: MasterCustomer, district: str,
               ev: dict[str, object]) -> float:
    ev["province"] = _geo(norm.province, cand.province)
    ev["city"] = _geo(norm.city, cand.city)
    ev["district"] = _geo(district, cand.district)
    score = -_geo_penalty(norm.province, cand.province, 0.5)
    score -= _geo_penalty(norm.city, cand.city, 0.4)
    score -= {"conflict": 0.2}.get(str(ev["district"]), 0.0)
    if not norm.province and not norm.city:
        ev["distributor_province"] = _geo(buyer.context_province, cand.province)
        ev["distributor_city"] = _geo(buyer.context_city, cand.city)
        score -= 0.1 if ev["distributor_province"] == "conflict" else 0.0
        if buyer.local_seller:  # a city-local distributor: its city is as good as written
            ev["local_seller"] = True
            score -= 0.4 if ev["distributor_city"] == "conflict" else 0.0
        else:
            score += DISTRIBUTOR_CITY_BONUS if ev["distributor_city"] == "agree" else 0.0
    return score


def _marker_score(norm: Normalized, core: str, key: str, key_kind: str, types: Sequence[str],
                  ev: dict[str, object], key_markers: tuple[str, frozenset[str]] | None) -> float:
    """Ordinal (第一/第二) and institution type (中医, 妇幼…) must not contradict."""
    raw_ord, raw_types = _markers(core, types) if core != norm.core else (norm.ordinal, norm.types)
    key_ord, key_types = key_markers if key_markers is not None else _markers(key, types)
    ev["ordinal"] = "agree" if raw_ord == key_ord else "conflict"
    score = -0.3 if ev["ordinal"] == "conflict" else 0.0
    ev["type"] = ("conflict" if raw_types - key_types
                  else "missing" if key_types - raw_types else "agree")
    missing = 0.1 if key_kind == "name" else 0.0  # an abbreviation need not spell out the type
    score -= {"conflict": 0.25, "missing": missing}.get(str(ev["type"]), 0.0)
    return score
