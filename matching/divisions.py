"""Chinese administrative divisions: recognising province / city / district in names and addresses.

The table starts from `matching/data/divisions.csv` (every province-level division and the main
prefecture-level cities) and is extended at run time with every province, city and district the
customer master mentions, so the divisions that matter for matching are always known. Recognition
is a longest-match regex over the known names, with or without their suffix (省/市/区/县/自治区…).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "地区",
             "新区", "省", "市", "区", "县", "盟", "旗")
_DISTRICT_INSTITUTIONS = ("人民医院", "中医", "妇幼", "医院", "卫生", "社区")
MUNICIPALITIES = frozenset({"北京", "上海", "天津", "重庆"})


@lru_cache(maxsize=8192)
def short_name(name: str) -> str:
    """'江苏省' → '江苏', '广西壮族自治区' → '广西', '海淀区' → '海淀' (never shorter than 2 chars)."""
    name = (name or "").strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Place:
    """Divisions found in a text, as short names ('' when not found), and what was consumed."""

    province: str = ""
    city: str = ""
    district: str = ""
    level: str = ""  # the deepest division written in front of the name: province|city|district
    rest: str = ""  # the text after the leading divisions


@dataclass
class Divisions:
    """Known divisions: short name → parent, compiled into prefix and search regexes."""

    province_of_city: dict[str, str] = field(default_factory=dict)
    city_of_district: dict[str, str] = field(default_factory=dict)
    provinces: set[str] = field(default_factory=set)
    _prefix: re.Pattern[str] | None = None
    _search: re.Pattern[str] | None = None
    _known: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path | None = None) -> Divisions:
        table = cls()
        with (path or DATA_DIR / "divisions.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                table.add(row["province"], row.get("city") or "", "")
        return table

    def add(self, province: str, city: str, district: str) -> None:
        p, c, d = short_name(province), short_name(city), short_name(district)
        if p:
            self.provinces.add(p)
        if c and p:
            self.province_of_city.setdefault(c, p)
        if p in MUNICIPALITIES:
            self.province_of_city.setdefault(p, p)
        if d and c and d != c:
            known = self.city_of_district.setdefault(d, c)
            if known != c:
                self.city_of_district[d] = ""  # 鼓楼区 is in 南京 and in 徐州: the city stays unknown
        self._prefix = self._search = None

    def extend(self, rows: Iterable[tuple[str | None, str | None, str | None]]) -> Divisions:
        for province, city, district in rows:
            self.add(province or "", city or "", district or "")
        return self

    # -- regexes ---------------------------------------------------------------------------------
    def _names(self) -> list[str]:
        names = self.provinces | set(self.province_of_city) | set(self.city_of_district)
        return sorted((n for n in names if len(n) >= 2), key=len, reverse=True)

    def _compile(self) -> None:
        self._known = frozenset(self.provinces | set(self.province_of_city) | set(self.city_of_district))
        alt = "|".join(re.escape(n) for n in self._names())
        suffix = "(?:" + "|".join(re.escape(s) for s in _SUFFIXES) + ")?"
        self._prefix = re.compile(f"(?:{alt}){suffix}")
        self._search = re.compile(f"({alt})({suffix[3:-2]})?")

    def _kind(self, name: str, token: str = "") -> str:
        suffix = token[len(name):] if token.startswith(name) else ""
        if suffix in ("区", "县", "旗") and name in self.city_of_district:
            return "district"  # 朝阳区 is a district even though 朝阳 is also a city
        if suffix == "市" and name in self.province_of_city:
            return "city"
        if name in self.provinces and name not in MUNICIPALITIES:
            return "province"
        if name in self.province_of_city:
            return "city"
        if name in self.city_of_district:
            return "district"
        return "province"

    def _place_of(self, found: dict[str, str]) -> dict[str, str]:
        if found.get("district") and not found.get("city"):
            found["city"] = self.city_of_district.get(found["district"], "")
        if found.get("city") and not found.get("province"):
            found["province"] = self.province_of_city.get(found["city"], "")
        return found

    def strip_prefix(self, text: str, keep: frozenset[str] = frozenset()) -> Place:
        """Consume the divisions written at the start of a name ('北京市海淀区北大三院').

        A bare place name (no 市/区 suffix) followed only by a word in `keep` is the name itself:
        '安康医院' is a private hospital, not a hospital of 安康市.
        """
        if self._prefix is None:
            self._compile()
        assert self._prefix is not None
        found: dict[str, str] = {}
        level, pos = "", 0
        while True:
            m = self._prefix.match(text, pos)
            if not m or len(text) - m.end() < 2:
                break
            token = m.group(0)
            name = short_name(token)
            if name not in self._all():
                name = token
            if name not in self._all():
                break
            kind = self._kind(name, token)
            if kind == "district" and token == name:
                break  # a bare district name is too often part of a hospital's own name (朝阳医院)
            if kind in found and found[kind] != name:
                break
            if token == name and text[m.end():] in keep:
                break
            found[kind] = name
            if kind == "city" and name in MUNICIPALITIES:
                found["province"] = name
            level, pos = kind, m.end()
        found = self._place_of(found)
        return Place(found.get("province", ""), found.get("city", ""), found.get("district", ""),
                     level, text[pos:])

    def starts_with_district(self, text: str) -> bool:
        """'市中人民医院' starts with the district 市中 (济南市市中区) written without 区; '市中心医院'
        does not (what follows 市中 must be how district hospitals are named)."""
        return any(text.startswith(d) and text[len(d):].startswith(_DISTRICT_INSTITUTIONS)
                   for d in self.city_of_district if d[:1] == text[:1])

    def only_places(self, text: str) -> Place | None:
        """The divisions if `text` is nothing but division names ('陕西宝鸡市'), else None."""
        place = self.strip_prefix(text + "XX")
        return place if place.rest == "XX" and place.level else None

    def _all(self) -> frozenset[str]:
        if self._prefix is None:
            self._compile()
        return self._known

    def find(self, text: str) -> Place:
        """Divisions mentioned anywhere in an address ('江苏省苏州市姑苏区十梓街188号')."""
        if not text:
            return Place()
        if self._search is None:
            self._compile()
        assert self._search is not None
        found: dict[str, str] = {}
        for m in self._search.finditer(text):
            name, suffix = m.group(1), m.group(2) or ""
            kind = self._kind(name, name + suffix)
            if kind == "district" and not suffix:
                continue
            found.setdefault(kind, name)
            if kind == "city" and name in MUNICIPALITIES:
                found.setdefault("province", name)
        found = self._place_of(found)
        return Place(found.get("province", ""), found.get("city", ""), found.get("district", ""))
