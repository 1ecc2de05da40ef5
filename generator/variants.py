"""How a distributor writes a buyer's or a product's name: abbreviations, aliases, typos,
full-width characters, stray spaces, address or department glued to the name.
"""

from __future__ import annotations

import random

from generator import reference as ref
from generator.world import Customer, Distributor, Outsider, Product

FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789()ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
FULL_WIDTH[ord(" ")] = 0x3000
DEPT_SUFFIX = [" 药剂科", "药剂科", "(药库)", "-门诊药房", " 住院药房", "药学部", " 西药房"]


def full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def stray_spaces(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text + " "
    i = rng.randint(1, len(text) - 1)
    sep = rng.choice(["  ", " ", "\u3000"])
    return text[:i] + sep + text[i:]


def typo(text: str, rng: random.Random) -> str:
    options = [(a, b) for a, b in ref.TYPO_PAIRS if a in text]
    if not options:
        return text
    a, b = rng.choice(options)
    return text.replace(a, b, 1)


def customer_variants(c: Customer, noise: float, rng: random.Random) -> list[str]:
    """The primary name this distributor uses for the customer, then 0-2 occasional ones."""
    primary = _one_variant(c, noise, rng)
    out = [primary]
    if rng.random() < noise:
        alt = _one_variant(c, noise, rng)
        if alt != primary:
            out.append(alt)
    return out


def _one_variant(c: Customer, noise: float, rng: random.Random) -> str:
    roll = rng.random()
    name = c.name
    if c.aliases and roll < 0.25 + noise * 0.4:
        name = rng.choice(c.aliases)
    elif roll < 0.5 and c.name.startswith(c.city):
        name = c.name  # keep the official name
    if rng.random() < noise * 0.25 and c.ctype == "hospital":
        name = name + rng.choice(DEPT_SUFFIX)
    if rng.random() < noise * 0.2:
        prefix = c.city + c.district if rng.random() < 0.5 or c.province == c.city else c.province + c.city
        name = f"{prefix} {name}" if not name.startswith(c.city) else name
    if rng.random() < noise * 0.15:
        name = typo(name, rng)
    if rng.random() < noise * 0.25:
        name = full_width(name)
    if rng.random() < noise * 0.2:
        name = stray_spaces(name, rng)
    return name.strip()


def distributor_variants(d: Distributor, rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.4:
        first = d.name
    elif roll < 0.8 and d.aliases:
        first = rng.choice(d.aliases)
    else:
        first = f"{d.name}(二级商)"
    return [first]


def outsider_variants(o: Outsider) -> list[str]:
    return [o.name]


SPEC_STYLES = ["{s}*{n}{u}", "{s}×{n}{u}", "{s}*{n}s", "{S}*{n}T", "{s}*{n}{u}/盒", "{s}x{n}"]


def raw_spec(p: Product, style: int) -> str:
    return SPEC_STYLES[style].format(s=p.strength, S=p.strength.upper(), n=p.pack_size, u=p.min_unit)


def raw_product_name(p: Product, style: str, spec_text: str) -> tuple[str, str]:
    """(product_name column, spec column) the way one distributor writes them."""
    if style == "brand_generic":
        return f"{p.brand}({p.generic})", spec_text
    if style == "brand":
        return p.brand, spec_text
    if style == "generic_spec":
        return f"{p.generic} {spec_text}", ""
    if style == "abbrev":
        return p.abbrev + ("片" if p.min_unit == "片" else ""), spec_text
    return p.generic, spec_text
