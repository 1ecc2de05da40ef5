"""Normalising Chinese institution names into a comparable core plus geography and markers.

`Normalizer.name('北京市海淀区 北大三院 药剂科')` gives core '北大第三医院', city '北京',
district '海淀', level 'district'. The steps, in order:

1. width and punctuation: NFKC (full-width → half-width), every bracket style → '()', spaces and
   punctuation dropped, '第1' → '第一';
2. brackets: a bracketed text that abbreviates the name ('北京大学第三医院（北医三院）') or gives a
   former name becomes an alias; any other bracketed text ('(五一路店)') stays part of the name;
3. geography: leading province / city / district names are taken off the name and kept as fields
   (the address fills what the name does not say); a bare level marker ('市一院') is kept as level;
4. noise: department and desk suffixes (药剂科, 药房, 门诊部 …) and company legal forms;
5. rewrites: university short names (北京大学 → 北大) and abbreviation patterns (附一院 ↔
   附属第一医院, 市一院 ↔ 第一人民医院, 中医医院 ↔ 中医院), both sides rewritten to one form.

All word lists and patterns are data in `matching/data/name_rules.csv`, which stewards extend.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from matching.divisions import DATA_DIR, Divisions, Place

NUMERALS = "一二三四五六七八九十"
_DIGITS = {str(i): n for i, n in enumerate("零一二三四五六七八九", start=0)} | {"10": "十"}
_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")",
                           "{": "(", "}": ")", "「": "(", "」": ")", "<": "(", ">": ")",
                           "《": "", "》": ""})
_DROP = re.compile(r"[\s\u3000·•・,，.。、;；:：'\"“”‘’`~!！?？*#&_\-—－/\\|+=^%$@]")
_ORDINAL_DIGITS = re.compile(r"(?<=第)(10|[1-9])|(10|[1-9])(?=(?:附属)?(?:人民)?医?院)")
_BRACKETED = re.compile(r"\(([^()]*)\)")
ORDINAL = re.compile(f"第([{NUMERALS}]+)")
_LEVEL_MARKER = re.compile("^(省|市|县|区)(?=..)")
_INSTITUTION_END = re.compile(r"(院|中心|所|站|部|店|房|诊所|卫生室|公司)$")
_BRANCH_END = re.compile(r"(店|分店|门店|院区|分院|校区|分部|连锁|[东西南北本新老]院)$")
GENERIC_ALONE = frozenset({"医院", "药房", "大药房", "药店", "诊所", "门诊部", "卫生院"})
_LEVELS = {"省": "province", "市": "city", "县": "district", "区": "district"}


@dataclass(frozen=True)
class NameRules:
    """Word lists and rewrite patterns, loaded from a steward-editable CSV."""

    noise_suffix: tuple[re.Pattern[str], ...]
    dept_suffix: tuple[re.Pattern[str], ...]
    noise_prefix: tuple[re.Pattern[str], ...]
    company_suffix: tuple[re.Pattern[str], ...]
    homophones: tuple[tuple[re.Pattern[str], str], ...]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]
    universities: tuple[tuple[str, str], ...]
    types: tuple[str, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> NameRules:
        rows = _read_csv(path or DATA_DIR / "name_rules.csv")
        by_kind: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_kind.setdefault(row["kind"].strip(), []).append(row)

        def pats(kind: str, fmt: str) -> tuple[re.Pattern[str], ...]:
            return tuple(re.compile(fmt.format(r["pattern"])) for r in by_kind.get(kind, []))

        universities = sorted(((r["pattern"], r["replacement"]) for r in by_kind.get("university", [])),
                              key=lambda pair: len(pair[0]), reverse=True)
        return cls(
            noise_suffix=pats("noise_suffix", "(?:{})$"),
            dept_suffix=pats("dept_suffix", "(?:{})$"),
            noise_prefix=pats("noise_prefix", "^(?:{})"),
            company_suffix=pats("company_suffix", "(?:{})$"),
            homophones=tuple((re.compile(r["pattern"]), r["replacement"] or "")
                             for r in by_kind.get("homophone", [])),
            rewrites=tuple((re.compile(r["pattern"]), r["replacement"] or "")
                           for r in by_kind.get("rewrite", [])),
            universities=tuple(universities),
            types=tuple(sorted((r["pattern"] for r in by_kind.get("type", [])), key=len, reverse=True)),
        )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "") for k, v in row.items()} for row in csv.DictReader(fh)]


@dataclass(frozen=True)
class Normalized:
    """A raw name reduced to what matching compares."""

    raw: str
    clean: str  # width, punctuation and brackets normalised; bracketed non-alias text inline
    core: str  # the canonical name without geography and noise
    aliases: tuple[str, ...]  # canonical cores of bracketed aliases
    alias_levels: tuple[str, ...] = ()  # the level each alias claims ('(江苏省人民医院)' → province)
    province: str = ""
    city: str = ""
    district: str = ""
    level: str = ""  # province|city|district: the level the name itself claims ('市一院' → city)
    ordinal: str = ""  # '一' for 第一…, '' when none
    types: frozenset[str] = frozenset()
    full: str = ""  # `Normalizer.literal` of the name: place words kept
    address_place: tuple[str, str, str] = ("", "", "")  # (province, city, district) of the address
    written: str = ""  # the whole name as written (a typed place prefix kept), slips and desk fixed
    street: str = ""  # street and house number of the address ('朝阳路601号'), '' when none


_STREET = re.compile(r"([\u4e00-\u9fff]{2}(?:大道|路|街|巷|弄))(\d+)号")


def street_of(address: str) -> str:
    """'广东省广州市白云区朝阳路601号' → '朝阳路601号': the last street + house number of an address
    (what tells two same-named institutions of one city apart when the seller writes it)."""
    hits = _STREET.findall(basic_clean(address)) if address else []
    return f"{hits[-1][0]}{hits[-1][1]}号" if hits else ""


def basic_clean(text: str) -> str:
    """Full-width → half-width, one bracket style, no spaces or punctuation, '第1' → '第一'."""
    text = unicodedata.normalize("NFKC", text or "").translate(_BRACKETS)
    text = _DROP.sub("", text)
    text = text.replace("()", "")
    return _ORDINAL_DIGITS.sub(lambda m: _DIGITS.get(m.group(0), m.group(0)), text)


class Normalizer:
    """Turns raw institution names into `Normalized` values; holds no state beyond its tables."""

    def __init__(self, rules: NameRules, divisions: Divisions) -> None:
        self.rules = rules
        self.divisions = divisions
        self._cache: dict[tuple[str, str], Normalized] = {}
        self._canonical: dict[str, str] = {}

    def name(self, raw: str, address: str = "") -> Normalized:
        key = (raw, address)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._name(raw, address)
        return hit

    def _name(self, raw: str, address: str) -> Normalized:
        raw_prefix, raw = self._address_prefix(raw)
        if raw_prefix:
            address = f"{raw_prefix}{address}"
        clean = basic_clean(raw)
        outer, aliases = self._split_brackets(clean)
        place, level, rest = self._geography(outer)
        core = self.canonical(rest)
        addr = self.divisions.find(basic_clean(address)) if address else Place()
        province = place.province or addr.province
        city = place.city or addr.city
        district = place.district or addr.district
        m = ORDINAL.search(core)
        alias_geo = [self._geography(x) for x in aliases]
        alias_pairs = [(self.canonical(rest), lvl) for _, lvl, rest in alias_geo]
        alias_pairs = [(a, lvl) for a, lvl in alias_pairs if a]
        return Normalized(
            raw=raw, clean=outer, core=core,
            aliases=tuple(a for a, _ in alias_pairs), alias_levels=tuple(lvl for _, lvl in alias_pairs),
            province=province, city=city, district=district, level=level,
            ordinal=m.group(1) if m else "",
            types=frozenset(t for t in self.rules.types if t in core),
            full=self.literal(outer), address_place=(addr.province, addr.city, addr.district),
            written=self.literal(raw_prefix + outer) if raw_prefix else self.literal(outer),
            street=street_of(address),
        )

    def literal(self, text: str) -> str:
        """The name with slips and department noise fixed but its place words kept ('中山一院'):
        how alias-table entries are compared when a place word is part of the alias itself."""
        text = basic_clean(text)
        for pattern, repl in self.rules.homophones:
            text = pattern.sub(repl, text)
        return self._strip_noise(text)

    def _address_prefix(self, raw: str) -> tuple[str, str]:
        """'陕西宝鸡市 翠竹社区医院' → ('陕西宝鸡市', '翠竹社区医院'): a place typed in front of the
        name and set apart by a space is an address; it claims no level for the name."""
        parts = unicodedata.normalize("NFKC", raw or "").strip().split(maxsplit=1)
        if (len(parts) == 2 and self.literal(parts[1]) not in GENERIC_ALONE
                and self.divisions.only_places(basic_clean(parts[0])) is not None):
            return basic_clean(parts[0]), parts[1]
        return "", raw

    def _split_brackets(self, clean: str) -> tuple[str, list[str]]:
        aliases: list[str] = []
        outer = _BRACKETED.sub("", clean).replace("(", "").replace(")", "")
        inline: list[str] = []
        for inner in _BRACKETED.findall(clean):
            if self._is_alias(inner, outer):
                aliases.append(inner.removeprefix("原"))
            else:
                inline.append(inner)
        if inline:  # keep branch and campus names where they stand, without the brackets
            outer = clean.replace("(", "").replace(")", "")
            for alias in aliases:
                outer = outer.replace(alias, "", 1)
        return outer, aliases

    @staticmethod
    def _is_alias(inner: str, outer: str) -> bool:
        if len(inner) < 2 or _BRANCH_END.search(inner):
            return False
        if inner.startswith("原") and len(inner) >= 4:
            return True
        if len(inner) >= 4 and inner.endswith(("医院", "保健院", "卫生院", "中心")):
            return True  # a second official name (挂牌名), e.g. '(江苏省人民医院)'
        shared = sum(1 for ch in inner if ch in outer)
        return inner.endswith("院") and shared / len(inner) >= 0.75

    def _geography(self, text: str) -> tuple[Place, str, str]:
        for pattern in self.rules.noise_prefix:
            text = pattern.sub("", text)
        text = self._shorten_universities(text)  # before geography: 北京大学 is not 北京 + 大学
        place = self.divisions.strip_prefix(text, keep=GENERIC_ALONE)
        rest, level = place.rest, place.level
        m = _LEVEL_MARKER.match(rest)
        if m and not self.divisions.starts_with_district(rest):  # 市中区 is a district of 济南
            level = level or _LEVELS[m.group(1)]
            rest = rest[1:]
            inner = self.divisions.strip_prefix(rest, keep=GENERIC_ALONE)  # '徐州 市云龙区…'
            if inner.level:
                place = Place(place.province or inner.province, place.city or inner.city,
                              inner.district or place.district, inner.level, inner.rest)
                level, rest = inner.level, inner.rest
        return place, level, rest

    def canonical(self, text: str) -> str:
        """Noise off, universities shortened, abbreviation patterns rewritten to one form."""
        hit = self._canonical.get(text)
        if hit is None:
            hit = self._canonical[text] = self._rewrite(text)
        return hit

    def _rewrite(self, text: str) -> str:
        for pattern, repl in self.rules.homophones:
            text = pattern.sub(repl, text)
        text = self._shorten_universities(self._strip_noise(text))
        for pattern, repl in self.rules.rewrites:
            text = pattern.sub(repl, text)
        m = _LEVEL_MARKER.match(text)
        return text[1:] if m and not self.divisions.starts_with_district(text) else text

    def _shorten_universities(self, text: str) -> str:
        for full, short in self.rules.universities:
            if full in text:
                text = text.replace(full, short)
        return text

    def _strip_noise(self, text: str) -> str:
        for pattern in self.rules.company_suffix:
            stripped = pattern.sub("", text)
            if len(stripped) >= 2:
                text = stripped
        changed = True
        while changed:
            changed = False
            for pattern in self.rules.dept_suffix:
                stripped = pattern.sub("", text)
                if stripped != text and len(stripped) >= 2:
                    text, changed = stripped, True
            for pattern in self.rules.noise_suffix:
                stripped = pattern.sub("", text)
                if stripped != text and len(stripped) >= 2 and _INSTITUTION_END.search(stripped):
                    text, changed = stripped, True
        return text
