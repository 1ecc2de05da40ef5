"""Master data of the simulated market: geography, customers, HCPs, products, distributors,
territories, alignment and reps. Pure functions of (seed, sizes); no I/O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from generator import reference as ref
from generator.rand import py_rng

ALIGN_START = date(2023, 1, 1)
PRODUCT_LINE = "ALL"
LINE_SPLIT_EVERY = 8  # 1 customer in 8 is aligned by product line


def align_start(months: list[date]) -> date:
    """Alignments and reps predate the data: 2023-01-01, or earlier for long histories."""
    return min(ALIGN_START, date(months[0].year - 1, 1, 1))


@dataclass
class City:
    province: str
    city: str
    short: str
    districts: list[str]
    weight: float


@dataclass
class Customer:
    crm_id: str
    name: str
    ctype: str  # hospital|pharmacy|clinic|distributor_outlet
    level: str
    province: str
    city: str
    district: str
    address: str
    beds: int | None
    potential: float
    aliases: list[str] = field(default_factory=list)  # other names the trade uses


@dataclass
class Outsider:
    """A real buyer that is not in the CRM (small private clinic, individual): truly unknown."""

    key: str
    name: str
    province: str
    city: str


@dataclass
class Hcp:
    hcp_id: str
    crm_id: str
    name: str
    department: str
    title: str
    grade: str


@dataclass
class Product:
    product_id: str
    generic: str
    brand: str
    spec: str
    strength: str
    dosage_form: str
    pack_size: int
    case_size: int
    list_price: float
    is_own: bool
    min_unit: str
    abbrev: str
    manufacturer: str
    product_line: str = ""  # 产品线 of an own product; empty for competitors


@dataclass
class Distributor:
    code: str
    name: str
    tier: int
    province: str
    city: str
    flow_required: bool
    aliases: list[str]
    supplier: str | None = None  # tier-2: the tier-1 it buys from


@dataclass
class Territory:
    territory_id: str
    parent_id: str
    level: str
    name: str


@dataclass
class World:
    company: str
    cities: list[City]
    customers: list[Customer]
    outsiders: list[Outsider]
    hcps: list[Hcp]
    products: list[Product]
    distributors: list[Distributor]
    territories: list[Territory]
    city_territories: dict[tuple[str, str], list[str]]
    alignment: list[tuple[str, str, str, date, date | None]]
    reps: list[tuple[str, str, str, date, date | None]]

    @property
    def own_products(self) -> list[Product]:
        return [p for p in self.products if p.is_own]

    def dist(self, code: str) -> Distributor:
        return next(d for d in self.distributors if d.code == code)


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(ref.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(ref.SURNAMES) + given


def _city_short(city: str) -> str:
    return city[:-1] if city.endswith("市") else city


def _district_short(district: str) -> str:
    for suffix in ("新区", "区", "街道"):
        if district.endswith(suffix) and len(district) > len(suffix) + 1:
            return district[: -len(suffix)]
    return district


def build_cities() -> list[City]:
    cities = []
    for province, (_, _, _, cmap) in ref.GEO.items():
        for rank, (city, districts) in enumerate(cmap.items()):
            weight = 3.0 if rank == 0 else 1.0
            if len(cmap) == 1:
                weight = 4.0
            cities.append(City(province, city, _city_short(city), districts, weight))
    return cities


def _fill(template: str, city: City, district: str = "") -> str:
    return template.format(c=city.city, s=city.short, d=district, ds=_district_short(district))


def _hospital_pool(city: City, rng: random.Random) -> list[tuple[str, str, list[str], int | None]]:
    """Hospitals of one city, most prominent first: (name, level, aliases, beds)."""
    pool: list[tuple[str, str, list[str], int | None]] = []
    for name, aliases, beds in ref.FAMOUS_HOSPITALS.get(city.city, []):
        pool.append((name, "三甲", list(aliases), beds))
    for template, levels, aliases in ref.CITY_HOSPITALS:
        level = rng.choice(levels)
        pool.append((_fill(template, city), level, [_fill(a, city) for a in aliases], None))
    for district in city.districts:
        for template, levels, aliases in ref.DISTRICT_HOSPITALS:
            pool.append((_fill(template, city, district), rng.choice(levels),
                         [_fill(a, city, district) for a in aliases], None))
    for word in ref.PRIVATE_HOSPITAL_WORDS:
        name = f"{city.short}{word}医院"
        pool.append((name, rng.choice(("一级", "一级", "未定级", "二乙")), [f"{word}医院"], None))
    return pool


_BEDS = {"三甲": (800, 2500), "三乙": (500, 1200), "二甲": (200, 600), "二乙": (100, 300),
         "一级": (20, 100), "未定级": (0, 50)}
_POTENTIAL = {"三甲": (1.5e6, 6e6), "三乙": (6e5, 2e6), "二甲": (3e5, 1e6), "二乙": (1.5e5, 5e5),
              "一级": (5e4, 2e5), "未定级": (2e4, 1e5)}


def _address(rng: random.Random, city: City, district: str) -> str:
    return f"{city.province if city.province != city.city else ''}{city.city}{district}" \
           f"{rng.choice(ref.STREETS)}{rng.randint(1, 899)}号"


def _make_hospital(rng: random.Random, city: City, entry: tuple, crm_id: str) -> Customer:
    name, level, aliases, beds = entry
    district = next((d for d in city.districts if d in name), rng.choice(city.districts))
    lo, hi = _BEDS[level]
    beds = beds if beds is not None else rng.randint(lo, hi)
    plo, phi = _POTENTIAL[level]
    potential = round(rng.uniform(plo, phi), -3)
    return Customer(crm_id, name, "hospital", level, city.province, city.city, district,
                    _address(rng, city, district), beds, potential, aliases)


def _make_other(rng: random.Random, city: City, ctype: str, crm_id: str,
                used: set[tuple[str, str]]) -> Customer:
    district = rng.choice(city.districts)
    for attempt in range(60):
        if ctype == "pharmacy":
            if rng.random() < 0.6:
                chain = rng.choice(ref.PHARMACY_CHAINS)
                street = rng.choice(ref.STREETS)
                name, aliases = f"{chain}({street}店)", [f"{chain}{street}店", f"{chain}（{street}店）"]
                level, potential = "", round(rng.uniform(8e4, 4e5), -3)
            else:
                word = rng.choice(ref.SINGLE_PHARMACY)
                name = f"{city.short}市{word}大药房" if rng.random() < 0.5 else f"{city.short}{word}药店"
                aliases = [name.replace("大药房", "药房").replace("药店", "大药房")]
                level, potential = "", round(rng.uniform(3e4, 1.5e5), -3)
        elif ctype == "clinic":
            if rng.random() < 0.55:
                com = rng.choice(ref.COMMUNITY)
                name = f"{city.city}{district}{com}社区卫生服务中心"
                aliases = [f"{com}社区卫生服务中心", f"{com}社区医院", f"{district}{com}社区"]
                level = "一级"
            else:
                name = f"{city.short}{district}{person_name(rng)}诊所"
                aliases = [name.replace(f"{city.short}{district}", "")]
                level = ""
            potential = round(rng.uniform(2e4, 1.5e5), -3)
        else:
            brand = rng.choice(ref.OUTLET_BRANDS)
            street = rng.choice(ref.STREETS)
            name, aliases = f"{brand}{city.short}{street}店", [f"{brand}({street}店)"]
            level, potential = "", round(rng.uniform(1e5, 3e5), -3)
        if attempt > 40:
            name = f"{name[:-1]}{attempt}号店" if ctype != "clinic" else f"{name}第{attempt}门诊部"
        if (city.city, name) not in used:
            break
    used.add((city.city, name))
    return Customer(crm_id, name, ctype, level, city.province, city.city, district,
                    _address(rng, city, district), None, potential, aliases)


def build_customers(seed: int, n: int, cities: list[City]) -> list[Customer]:
    rng = py_rng(seed, "customers")
    weights = [c.weight for c in cities]
    total_w = sum(weights)
    types = ["hospital"] * 33 + ["pharmacy"] * 42 + ["clinic"] * 20 + ["distributor_outlet"] * 5
    pools = {c.city + c.province: _hospital_pool(c, rng) for c in cities}
    taken = {key: 0 for key in pools}
    used: set[tuple[str, str]] = set()
    customers: list[Customer] = []
    # every city gets its most prominent hospital first, then a weighted draw
    order = list(cities) if n >= len(cities) * 3 else []
    while len(order) < n:
        order.append(rng.choices(cities, weights=weights)[0] if total_w else cities[0])
    for i, city in enumerate(order[:n]):
        crm_id = f"C{i + 1:06d}"
        ctype = "hospital" if i < len(cities) else rng.choice(types)
        key = city.city + city.province
        if ctype == "hospital" and taken[key] < len(pools[key]):
            entry = pools[key][taken[key]]
            taken[key] += 1
            used.add((city.city, entry[0]))
            customers.append(_make_hospital(rng, city, entry, crm_id))
        else:
            ctype = "pharmacy" if ctype == "hospital" else ctype
            customers.append(_make_other(rng, city, ctype, crm_id, used))
    return customers


def build_outsiders(seed: int, n: int, cities: list[City]) -> list[Outsider]:
    rng = py_rng(seed, "outsiders")
    out = []
    for i in range(n):
        city = rng.choice(cities)
        kind = rng.random()
        if kind < 0.5:
            name = f"{rng.choice(city.districts)}{person_name(rng)}诊所"
        elif kind < 0.8:
            name = f"{city.short}{rng.choice(ref.SINGLE_PHARMACY)}医药零售店"
        else:
            name = rng.choice(["零售客户", "个人", "散客", "院外零售"])
        out.append(Outsider(f"X{i + 1:05d}", name, city.province, city.city))
    return out


def build_products(company: str) -> list[Product]:
    products = []
    for i, d in enumerate(ref.PRODUCTS):
        spec = f"{d.strength}*{d.count}{d.min_unit}"
        products.append(Product(
            f"P{i + 1:03d}", d.generic, d.brand, spec, d.strength, d.dosage_form, d.count,
            d.case_size, d.list_price, d.own, d.min_unit, d.abbrev, d.manufacturer or company,
            ref.PRODUCT_LINES.get(d.abbrev, "") if d.own else ""))
    return products


def build_hcps(seed: int, customers: list[Customer]) -> list[Hcp]:
    rng = py_rng(seed, "hcps")
    counts = {"三甲": (6, 10), "三乙": (4, 7), "二甲": (3, 5), "二乙": (2, 4), "一级": (1, 2),
              "未定级": (1, 1)}
    hcps: list[Hcp] = []
    for c in customers:
        if c.ctype == "hospital":
            lo, hi = counts[c.level or "未定级"]
        elif c.ctype == "clinic" and c.level == "一级":
            lo, hi = 1, 2
        else:
            continue
        for _ in range(rng.randint(lo, hi)):
            title = rng.choices(ref.TITLES, weights=(2, 3, 4, 2))[0]
            senior = ref.TITLES.index(title) <= 1
            top = c.level in ("三甲", "三乙")
            weights = (4, 4, 2, 1) if senior and top else (1, 3, 4, 2) if top else (0.5, 2, 4, 4)
            grade = rng.choices("ABCD", weights=weights)[0]
            dept = rng.choice(ref.DEPARTMENTS if c.ctype == "hospital" else ["全科医学科"])
            hcps.append(Hcp(f"H{len(hcps) + 1:06d}", c.crm_id, person_name(rng), dept, title, grade))
    return hcps


def build_distributors(seed: int, cities: list[City]) -> list[Distributor]:
    rng = py_rng(seed, "distributors")
    out: list[Distributor] = []
    by_prov: dict[str, list[City]] = {}
    for c in cities:
        by_prov.setdefault(c.province, []).append(c)
    for province, (pcode, _, pshort, _) in ref.GEO.items():
        capital = by_prov[province][0]
        n1 = 3 if province in ("广东省", "江苏省") else 2
        patterns = rng.sample(ref.TIER1_PATTERNS, n1)
        tier1: list[Distributor] = []
        for name_t, alias_t in patterns:
            code = f"{pcode}{sum(d.province == province for d in out) + 1:02d}"
            name = name_t.format(p=pshort, s=capital.short)
            aliases = [a.format(p=pshort, s=capital.short) for a in alias_t]
            tier1.append(Distributor(code, name, 1, province, capital.city, True, aliases))
            out.extend([tier1[-1]])
        n2 = 2 if len(by_prov[province]) >= 4 else 1
        for k in range(n2):
            city = by_prov[province][min(k + 1, len(by_prov[province]) - 1)]
            word = rng.choice(ref.TIER2_WORDS)
            name = f"{city.short}{word}医药有限公司"
            aliases = [f"{city.short}{word}医药", f"{word}医药", f"{city.city}{word}医药公司"]
            code = f"{pcode}{sum(d.province == province for d in out) + 1:02d}"
            out.append(Distributor(code, name, 2, province, city.city, True, aliases,
                                   supplier=rng.choice(tier1).code))
    # two small tier-2 houses are not contractually required to send flow
    tier2 = [d for d in out if d.tier == 2]
    for d in rng.sample(tier2, min(2, len(tier2))):
        d.flow_required = False
    return out


def build_territories(cities: list[City]) -> tuple[list[Territory], dict[tuple[str, str], list[str]]]:
    terrs = [Territory("T-NAT", "", "nation", "全国")]
    for rid, rname in ref.REGIONS.items():
        terrs.append(Territory(rid, "T-NAT", "region", rname))
    city_terr: dict[tuple[str, str], list[str]] = {}
    n = 0
    for k, (province, (_, rid, pshort, _)) in enumerate(ref.GEO.items()):
        did = f"D-{k + 1:02d}"
        terrs.append(Territory(did, rid, "district", f"{pshort}地区"))
        for c in (c for c in cities if c.province == province):
            groups = 3 if len(c.districts) >= 6 else 2 if c.weight > 1 else 1
            ids = []
            for g in range(groups):
                n += 1
                tid = f"T-{n:03d}"
                part = "/".join(c.districts[g::groups])
                terrs.append(Territory(tid, did, "territory", f"{c.short}{g + 1}组({part})"))
                ids.append(tid)
            city_terr[(province, c.city)] = ids
    return terrs, city_terr


def territory_of(customer: Customer, city_terr: dict[tuple[str, str], list[str]],
                 cities: list[City]) -> str:
    ids = city_terr[(customer.province, customer.city)]
    city = next(c for c in cities if c.city == customer.city and c.province == customer.province)
    idx = city.districts.index(customer.district) if customer.district in city.districts else 0
    return ids[idx % len(ids)]


def build_alignment(seed: int, customers: list[Customer], city_terr, cities, months: list[date]
                    ) -> list[tuple[str, str, str, date, date | None]]:
    """customer → territory, effective-dated; ~4% of customers move territory mid-period; some
    are aligned by product line (by_line)."""
    rng = py_rng(seed, "alignment")
    rows = []
    first, last = months[0], months[-1]
    for i, c in enumerate(customers):
        home = territory_of(c, city_terr, cities)
        siblings = [t for ids in (v for k, v in city_terr.items() if k[0] == c.province)
                    for t in ids if t != home]
        if siblings and rng.random() < 0.04 and len(months) > 2:
            span = (last - first).days
            move = first + timedelta(days=rng.randint(span // 4, span * 3 // 4))
            new = rng.choice(siblings)
            rows.append((c.crm_id, home, PRODUCT_LINE, align_start(months), move - timedelta(days=1)))
            rows.append((c.crm_id, new, PRODUCT_LINE, move, None))
        else:
            rows.extend(by_line(i, (c.crm_id, home, PRODUCT_LINE, align_start(months), None),
                                siblings))
    return rows


def by_line(i: int, row: tuple[str, str, str, date, date | None], siblings: list[str]
            ) -> list[tuple[str, str, str, date, date | None]]:
    """Every LINE_SPLIT_EVERY-th customer is aligned by product line: one row per own line in
    its home territory, or (every other one, when its province has another territory) ALL in
    the home territory and 代谢 in the first sibling territory, so the demo exercises lines
    and 'a line beats ALL'. Chosen by position, no random draws: the other files stay
    byte-identical. The home rows come last, so alignment_on (calls, targets, activities)
    still sees the home territory."""
    if i % LINE_SPLIT_EVERY != LINE_SPLIT_EVERY - 1:
        return [row]
    c, home, _, a, b = row
    if siblings and (i // LINE_SPLIT_EVERY) % 2:
        return [(c, siblings[0], "代谢", a, b), row]
    return [(c, home, line, a, b) for line in sorted(set(ref.PRODUCT_LINES.values()))]


def build_reps(seed: int, territories: list[Territory], months: list[date]
               ) -> list[tuple[str, str, str, date, date | None]]:
    """One rep per lowest-level territory at a time; ~25% turnover, sometimes with a vacancy."""
    rng = py_rng(seed, "reps")
    rows = []
    first, last = months[0], months[-1]
    span = max((last - first).days, 1)
    n = 0
    for t in (t for t in territories if t.level == "territory"):
        n += 1
        rep = f"REP{n:04d}"
        start = min(align_start(months) + timedelta(days=rng.randint(0, 400)), first)
        if rng.random() < 0.25 and len(months) > 2:
            leave = first + timedelta(days=rng.randint(span // 5, span * 4 // 5))
            rows.append((rep, person_name(rng), t.territory_id, start, leave))
            n += 1
            gap = rng.choice((1, 1, 15, 45))
            rows.append((f"REP{n:04d}", person_name(rng), t.territory_id,
                         leave + timedelta(days=gap), None))
        else:
            rows.append((rep, person_name(rng), t.territory_id, start, None))
    return rows


def build_world(seed: int, n_customers: int, months: list[date], company: str) -> World:
    cities = build_cities()
    customers = build_customers(seed, n_customers, cities)
    territories, city_terr = build_territories(cities)
    return World(
        company=company, cities=cities, customers=customers,
        outsiders=build_outsiders(seed, max(5, n_customers // 40), cities),
        hcps=build_hcps(seed, customers), products=build_products(company),
        distributors=build_distributors(seed, cities), territories=territories,
        city_territories=city_terr,
        alignment=build_alignment(seed, customers, city_terr, cities, months),
        reps=build_reps(seed, territories, months))
