"""Which raw buyer names could just as well be another customer's name.

The generator knows how it writes names: a customer's official name or one of its trade aliases,
maybe behind a place prefix, with department noise, a typo, full-width characters or stray
spaces. A raw name is *ambiguous* when, read that way, it is also a rendering of another
customer the same seller could have sold to (a customer in a city the seller sells into), and
nothing else on the row tells them apart (when the seller sends buyer addresses, only a
customer in the same district stays a candidate). Examples: `市四院` from a province-wide
seller, `金桥社区卫生服务中心` when two districts have one, `北京春天大药房` between
`北京市春天大药房` and `北京春天药店` (whose trade alias it is).

`_truth/customer_truth.csv` lists those other customers in `ambiguous_with`, so the matcher's
recall is measured on names a careful reader could match (issue 5: "truly matchable").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from generator import reference as ref
from generator.variants import DEPT_SUFFIX, FULL_WIDTH
from generator.world import City, Customer

_HALF = {wide: narrow for narrow, wide in FULL_WIDTH.items()}  # undoes variants.full_width
_NOISE = sorted({s.strip() for s in DEPT_SUFFIX}, key=len, reverse=True)
_PROVINCE_SUFFIXES = ("省", "市", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区")


def _unwrap(text: str) -> str:
    return text.translate(_HALF).replace(" ", "")


def _strip_noise(text: str) -> str:
    for word in _NOISE:
        if text.endswith(word) and len(text) > len(word):
            return text[: -len(word)]
    return text


def clean(text: str) -> str:
    """Undo width and spacing noise and a trailing department word."""
    return _strip_noise(_unwrap(text))


def readings(text: str) -> set[str]:
    """The cleaned name, and the names each typo the generator makes could have come from (a
    typo may fall in the department word too: 西药方)."""
    base = _unwrap(text)
    out = {base}
    for right, wrong in ref.TYPO_PAIRS:
        if wrong in base:
            out.add(base.replace(wrong, right, 1))
    return {_strip_noise(reading) for reading in out}


def _province_short(province: str) -> str:
    for suffix in _PROVINCE_SUFFIXES:
        if province.endswith(suffix) and len(province) > len(suffix) + 1:
            return province[: -len(suffix)]
    return province


class AmbiguityIndex:
    """Every string the generator could write for each customer, keyed after `canon`.

    A customer is written as its official name or a trade alias, optionally behind the place
    prefix the generator adds (city + district, or province + city); readers treat `广东省` /
    `广东` and `广州市` / `广州` at the start of a name as the same words, so `canon` folds
    them.
    """

    def __init__(self, cities: list[City], customers: list[Customer]) -> None:
        self.customers = customers
        self.provinces = sorted({(c.province, _province_short(c.province)) for c in cities},
                                key=lambda pair: len(pair[0]), reverse=True)
        self.cities = sorted({(c.city, c.short) for c in cities},
                             key=lambda pair: len(pair[0]), reverse=True)
        self.official = [self.canon(clean(c.name)) for c in customers]
        self.by_key: dict[str, set[int]] = defaultdict(set)
        for i, c in enumerate(customers):
            for text in self._renderings(c):
                self.by_key[self.canon(text)].add(i)

    @staticmethod
    def _renderings(c: Customer) -> set[str]:
        prefixes = [c.city + c.district]
        if c.province != c.city:
            prefixes.append(c.province + c.city)
        out = set()
        for name in (c.name, *c.aliases):
            base = clean(name)
            out.add(base)
            if not base.startswith(c.city):
                out.update(prefix + base for prefix in prefixes)
        return out

    def canon(self, text: str) -> str:
        """Fold the place words at the start: `广东省佛山市 佛山X` and `佛山市X` both read `佛山X`."""
        lead = ""
        for full, short in self.provinces:
            for word in (full, short):
                if text.startswith(word):
                    lead, text = short, text[len(word):]
                    break
            if lead:
                break
        city = self._city_at(text)
        if city is None:
            return lead + text
        full, short = city
        text = text[len(full) if text.startswith(full) else len(short):]
        again = self._city_at(text)
        if again == city:  # a prefix glued to a name that already starts with the city
            text = text[len(full) if text.startswith(full) else len(short):]
        return short + text  # a named city makes the province redundant

    def _city_at(self, text: str) -> tuple[str, str] | None:
        return next(((full, short) for full, short in self.cities
                     if text.startswith(full) or text.startswith(short)), None)

    def renders(self, raw: str) -> set[int]:
        """Customers of whom `raw` is a possible rendering."""
        out: set[int] = set()
        for key in self._keys(raw):
            out |= self.by_key.get(key, set())
        return out

    def _keys(self, raw: str) -> set[str]:
        return {self.canon(reading) for reading in readings(raw)}

    def others(self, raw: str, customer: int, cities: Iterable[str],
               same_district: bool) -> list[str]:
        """CRM ids of the other customers `raw` could name, among those the seller could reach.

        A raw name that is the customer's own official name names it, unless it is another
        reachable customer's official name too (two chain shops of one name in two cities).
        """
        own = self.customers[customer]
        reach = set(cities)
        keys = self._keys(raw)
        candidates = []
        for i in self.renders(raw):
            other = self.customers[i]
            if i == customer or other.city not in reach:
                continue
            if same_district and (other.city, other.district) != (own.city, own.district):
                continue
            candidates.append(i)
        if self.official[customer] in keys and \
                not any(self.official[i] in keys for i in candidates):
            return []
        return sorted(self.customers[i].crm_id for i in candidates)
