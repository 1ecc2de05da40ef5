"""Mapping a distributor's product name + spec to `product_id`, with unit factors.

Distributors write products their own way: generic name + dosage form (阿莫西林胶囊), brand
(阿莫仙), spec in its own column or inside the name ('0.25g*24粒', '250mg×24粒/盒'). The spec is
parsed into strengths (converted to mg / ml) and a pack count; the name is compared with rapidfuzz
to the master's generic name, generic name + dosage form and brand. A strength that disagrees
rules a product out; an unknown product (no confident, unambiguous candidate) goes to review with
`product_id` NULL so its rows stay out of the facts until mapped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

_UNITS = {"mg": 1.0, "g": 1000.0, "μg": 0.001, "ug": 0.001, "mcg": 0.001, "ml": 1.0, "l": 1000.0,
          "iu": 1.0, "u": 1.0, "万u": 10000.0, "万单位": 10000.0, "单位": 1.0, "%": 1.0}
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)(万单位|万u|mcg|μg|ug|mg|ml|iu|单位|g|l|u|%)")
_PACK = re.compile(r"(?:[*×x]|/)(\d+)(?:片|粒|支|袋|瓶|丸|贴|枚|揿|喷|s)?(?:/(?:盒|板|瓶|袋))?"
                   r"|(\d+)(?:片|粒|支|袋|瓶|丸|贴|枚)(?:/(?:盒|板|瓶|袋))?")
_SALTS = re.compile(r"^(?:盐酸|硫酸氢|硫酸|苯磺酸|马来酸|甲磺酸|酒石酸|枸橼酸|富马酸|琥珀酸|注射用)+")
_FORMS = ("缓释片", "控释片", "肠溶片", "分散片", "口崩片", "咀嚼片", "泡腾片", "肠溶胶囊", "缓释胶囊",
          "胶囊剂", "胶囊", "片剂", "片", "颗粒", "注射液", "注射剂", "散", "丸", "口服液", "滴丸")
_FORM_MARKERS = ("缓释", "控释", "肠溶", "分散", "口崩", "咀嚼", "泡腾", "胶囊", "颗粒", "注射")
_NOISE = re.compile(r"[\s\u3000·•,，;；:：'\"“”‘’()（）【】\[\]{}<>《》_\-—－]")


def clean_text(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


@dataclass(frozen=True)
class Spec:
    strengths: frozenset[float]
    pack: int | None


def parse_spec(text: str) -> Spec:
    """'0.25g*24粒' → strengths {250.0}, pack 24; '5ml:0.1g×6支' → {5.0, 100.0}, pack 6."""
    t = clean_text(text).replace("×", "*")
    strengths = frozenset(round(float(v) * _UNITS[u], 6) for v, u in _STRENGTH.findall(t))
    packs = [int(a or b) for a, b in _PACK.findall(_STRENGTH.sub("", t)) if (a or b)]
    return Spec(strengths, packs[-1] if packs else None)


def strip_spec(name: str) -> str:
    """The name without any spec written into it ('阿莫西林胶囊0.25g*24粒' → '阿莫西林胶囊')."""
    t = clean_text(name).replace("×", "*")
    return re.split(r"\d", t, maxsplit=1)[0] or t


def molecule(name: str) -> str:
    """'苯磺酸氨氯地平片' → '氨氯地平', '注射用泮托拉唑钠' → '泮托拉唑', '阿托伐他汀钙片' → '阿托伐他汀'."""
    text = _SALTS.sub("", clean_text(name))
    for form in _FORMS:
        if text.endswith(form) and len(text) > len(form) + 1:
            text = text[: -len(form)]
            break
    return re.sub(r"(?:钙|钠|钾|镁)$", "", text) if len(text) > 3 else text


def form_markers(name: str) -> frozenset[str]:
    return frozenset(m for m in _FORM_MARKERS if m in name)


@dataclass(frozen=True)
class MasterProduct:
    product_id: str
    generic_name: str
    brand_name: str
    spec: str
    dosage_form: str
    pack_size: int | None
    case_size: int | None
    is_own: bool | None = None
    list_price: float | None = None

    @property
    def names(self) -> tuple[str, ...]:
        g, b, f = clean_text(self.generic_name), clean_text(self.brand_name), clean_text(self.dosage_form)
        out = [g, b]
        if f and g and not g.endswith(f):
            out.append(g + f)
        return tuple(n for n in out if n)

    @property
    def parsed(self) -> Spec:
        return parse_spec(self.spec)


@dataclass(frozen=True)
class Prices:
    """Median selling price the distributor wrote per unit (NULL when it writes none)."""

    box: float | None = None
    min_unit: float | None = None
    case: float | None = None

    def per_box(self, product: MasterProduct) -> float | None:
        """The box price these rows imply for `product` (min unit × pack, case ÷ case size)."""
        if self.box:
            return self.box
        if self.min_unit and product.pack_size:
            return self.min_unit * product.pack_size
        if self.case and product.case_size:
            return self.case / product.case_size
        return None


PRICE_BAND = (0.6, 1.6)  # distributor price ÷ list price outside this: not this product


@dataclass
class ProductDecision:
    product_id: str | None
    status: str  # auto|review|unmatched
    method: str
    score: float
    evidence: dict[str, object]
    candidates: list[dict[str, object]]


def _name_score(raw_name: str, product: MasterProduct) -> tuple[float, str]:
    """Best of generic name, generic + form, molecule and brand; a brand written out lifts it."""
    best, which = 0.0, ""
    if molecule(raw_name) == molecule(product.generic_name) and len(molecule(raw_name)) >= 2:
        best, which = 0.95, "molecule"
    for label, name in zip(("generic", "brand", "generic_form"), product.names, strict=False):
        score = fuzz.ratio(raw_name, name) / 100.0
        if len(name) >= 2 and name in raw_name:
            score = max(score, 0.95)
        if score > best:
            best, which = score, label
    brand = clean_text(product.brand_name)
    if len(brand) >= 2 and brand in raw_name and which != "brand":
        best, which = min(1.0, max(best, 0.95) + 0.05), f"{which}+brand"
    return best, which


def score_product(raw_name: str, spec: Spec, product: MasterProduct,
                  own: bool | None = None, prices: Prices | None = None) -> tuple[float, dict[str, object]]:
    """Name similarity, minus what the spec, dosage form, manufacturer and price contradict."""
    sim, which = _name_score(raw_name, product)
    master = product.parsed
    ev: dict[str, object] = {"name_sim": round(sim, 4), "name_key": which}
    score = sim
    extra_forms = form_markers(raw_name) - form_markers(clean_text(product.generic_name + product.dosage_form))
    ev["form"] = "conflict" if extra_forms and which != "brand" else "agree"
    score -= 0.3 if ev["form"] == "conflict" else 0.0
    if own is not None and product.is_own is not None:
        ev["manufacturer"] = "agree" if own == bool(product.is_own) else "conflict"
        score -= 0.3 if ev["manufacturer"] == "conflict" else 0.0
    if spec.strengths and master.strengths:
        ev["strength"] = "agree" if spec.strengths & master.strengths else "conflict"
        score -= 0.5 if ev["strength"] == "conflict" else 0.0
    else:
        ev["strength"] = "unknown"
    per_box = prices.per_box(product) if prices is not None else None
    if per_box and product.list_price:  # two makers' identical generics differ in price
        ratio = per_box / product.list_price
        ev["price"] = "agree" if PRICE_BAND[0] <= ratio <= PRICE_BAND[1] else "conflict"
        ev["price_ratio"] = round(ratio, 3)
        score -= 0.3 if ev["price"] == "conflict" else 0.0
    if spec.pack and product.pack_size:
        ev["pack"] = "agree" if spec.pack == product.pack_size else "conflict"
        score -= 0.2 if ev["pack"] == "conflict" else 0.0
    else:
        ev["pack"] = "unknown"
    return max(0.0, min(1.0, score)), ev


class ProductMatcher:
    def __init__(self, products: Sequence[MasterProduct], auto: float, review: float,
                 margin: float = 0.05) -> None:
        self.products = list(products)
        self.auto, self.review, self.margin = auto, review, margin

    def match(self, raw_product: str, raw_spec: str, own: bool | None = None,
              prices: Prices | None = None) -> ProductDecision:
        """`own`: the rows' manufacturer is (True) or is not (False) our company; None unknown.
        `prices`: what the distributor charged for it (a price far from a product's list price
        rules that product out)."""
        name = strip_spec(raw_product)
        spec = parse_spec(f"{raw_product} {raw_spec or ''}")
        scored = sorted(((score_product(name, spec, p, own, prices), p) for p in self.products),
                        key=lambda sp: (-sp[0][0], sp[1].product_id))
        if not scored:
            return ProductDecision(None, "unmatched", "no_master", 0.0, {}, [])
        (best, ev), product = scored[0]
        second = scored[1][0][0] if len(scored) > 1 else 0.0
        ev = {**ev, "margin": round(best - second, 4)}
        top = [{"product_id": p.product_id, "name": f"{p.generic_name} {p.spec}", "score": round(s, 4)}
               for (s, _), p in scored[:5]]
        if best >= self.auto and best - second >= self.margin:
            return ProductDecision(product.product_id, "auto", f"fuzzy:{ev['name_key']}", best, ev, top)
        # an unknown product always goes to review: its rows stay quarantined until mapped
        return ProductDecision(None, "review", "ambiguous" if best >= self.auto else "fuzzy", best, ev, top)
