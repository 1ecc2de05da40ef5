"""What really happened: demand at terminals, activities and their lift, the distributor chain,
inventories and ERP sell-in. Produces `Cells` (monthly net boxes per seller, buyer and product)
plus the inventory and sell-in truth. Vectorised with numpy; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from generator.rand import np_rng, py_rng
from generator.world import World

KIND_CUSTOMER, KIND_DISTRIBUTOR, KIND_OUTSIDER = 0, 1, 2


@dataclass
class Cells:
    """One row per (month, seller distributor, buyer, product): the true net boxes sold."""

    month: np.ndarray  # month index
    dist: np.ndarray  # seller distributor index
    kind: np.ndarray  # KIND_*
    buyer: np.ndarray  # index into customers / distributors / outsiders
    prod: np.ndarray  # product index
    qty: np.ndarray  # net boxes (int64, > 0)
    price: np.ndarray  # price per box (2 decimals)

    def __len__(self) -> int:
        return len(self.qty)


@dataclass
class Activity:
    activity_id: str
    activity_type: str
    cust: int
    prod: int
    start: date
    end: date
    cost: float
    lift: float


@dataclass
class Economy:
    months: list[date]
    cells: Cells
    activities: list[Activity]
    # [dist, prod, month] arrays of boxes
    opening: np.ndarray
    purchases: np.ndarray
    sales: np.ndarray
    closing: np.ndarray
    sellin: list[tuple[str, int, date, str, str, int, float]]
    overstocked: list[str]
    volume: float


def month_starts(months: int, last: date = date(2026, 10, 1)) -> list[date]:
    out = []
    y, m = last.year, last.month
    for _ in range(months):
        out.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _season(d: date) -> float:
    base = {1: 1.02, 2: 0.82, 3: 1.05, 4: 1.0, 5: 0.98, 6: 1.0, 7: 0.95, 8: 0.96, 9: 1.02,
            10: 0.94, 11: 1.04, 12: 1.12}
    return base[d.month]


def _adoption(world: World, seed: int, n_months: int):
    """Which own products each customer buys, from when, and how many boxes a month on average."""
    rng = np_rng(seed, "adoption")
    own = [i for i, p in enumerate(world.products) if p.is_own]
    pop = np.linspace(1.6, 0.6, len(own))
    pop = pop / pop.sum()
    counts = {"三甲": (4, 8), "三乙": (3, 6), "二甲": (2, 5), "二乙": (2, 4), "一级": (1, 3), "未定级": (1, 2)}
    share = {"hospital": (0.006, 0.03), "pharmacy": (0.02, 0.06), "clinic": (0.02, 0.05),
             "distributor_outlet": (0.02, 0.05)}
    cust, prod, base, start, stop = [], [], [], [], []
    for ci, c in enumerate(world.customers):
        lo, hi = counts.get(c.level, (1, 3)) if c.ctype == "hospital" else (1, 4)
        k = int(min(len(own), rng.integers(lo, hi + 1)))
        chosen = rng.choice(len(own), size=k, replace=False, p=pop)
        for j in chosen:
            p = world.products[own[j]]
            s_lo, s_hi = share[c.ctype]
            mean = c.potential / 12 * rng.uniform(s_lo, s_hi) / p.list_price
            cust.append(ci)
            prod.append(own[j])
            base.append(max(mean, 0.6))
            start.append(int(rng.integers(1, n_months)) if rng.random() < 0.15 and n_months > 2 else 0)
            stop.append(int(rng.integers(n_months // 2, n_months)) if rng.random() < 0.04 else n_months)
    return (np.array(cust), np.array(prod), np.array(base), np.array(start), np.array(stop))


def build_activities(world: World, seed: int, months: list[date], cust: np.ndarray,
                     prod: np.ndarray, base: np.ndarray) -> list[Activity]:
    """Marketing activities at hospitals. An effective one lifts the customer's demand for the
    product over the 3 following months by enough to return `roi` x its cost (median ~1, capped
    at +300 %); a quarter of them do nothing."""
    rng = py_rng(seed, "activities")
    kinds = [("academic_meeting", (20000, 80000), 0.6), ("department_meeting", (2000, 8000), 0.7),
             ("sponsorship", (10000, 50000), 0.4), ("other", (1000, 5000), 0.3)]
    acts: list[Activity] = []
    first, last = months[0], month_end(months[-1])
    span = (last - first).days
    for pair in range(len(cust)):
        c = world.customers[int(cust[pair])]
        if c.ctype != "hospital":
            continue
        rate = {"三甲": 0.5, "三乙": 0.35, "二甲": 0.2}.get(c.level, 0.05) * len(months) / 12 / 3
        n = int(rate) + (rng.random() < rate - int(rate))
        for _ in range(n):
            kind, (lo, hi), strength = rng.choices(kinds, weights=(3, 5, 1, 1))[0]
            start = first + timedelta(days=rng.randint(0, max(span - 30, 1)))
            days = rng.randint(0, 1) if kind.endswith("meeting") else rng.randint(0, 20)
            cost = float(round(rng.uniform(lo, hi), -2))
            roi = rng.lognormvariate(0.0, 0.7) * strength * 2 if rng.random() < 0.75 else 0.0
            monthly_amount = float(base[pair]) * world.products[int(prod[pair])].list_price
            lift = min(3.0, cost * roi / (monthly_amount * 2.3))
            acts.append(Activity("", kind, int(cust[pair]), int(prod[pair]), start,
                                 start + timedelta(days=days), cost, lift))
    acts.sort(key=lambda a: (a.start, a.cust, a.prod))
    for i, a in enumerate(acts):
        a.activity_id = f"ACT{i + 1:05d}"
    return acts


def _lift_matrix(acts: list[Activity], cust: np.ndarray, prod: np.ndarray,
                 months: list[date]) -> np.ndarray:
    """Multiplier per (pair, month): an activity lifts the 3 months after it ends."""
    lift = np.ones((len(cust), len(months)))
    index = {(int(c), int(p)): i for i, (c, p) in enumerate(zip(cust, prod))}
    mi = {(m.year, m.month): k for k, m in enumerate(months)}
    for a in acts:
        k = mi.get((a.end.year, a.end.month))
        if k is None:
            continue
        pair = index[(a.cust, a.prod)]
        for step, w in ((1, 1.0), (2, 0.8), (3, 0.5)):
            if k + step < len(months):
                lift[pair, k + step] += a.lift * w
    return lift


def _serving(world: World, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary (or -1) distributor of every customer."""
    rng = py_rng(seed, "serving")
    dists = world.distributors
    prim, sec = [], []
    for c in world.customers:
        local1 = [i for i, d in enumerate(dists) if d.province == c.province and d.tier == 1]
        local2 = [i for i, d in enumerate(dists) if d.province == c.province and d.tier == 2
                  and d.city == c.city]
        first = rng.choice(local2) if local2 and rng.random() < 0.55 else rng.choice(local1)
        prim.append(first)
        others = [i for i in local1 + local2 if i != first]
        sec.append(rng.choice(others) if others and rng.random() < 0.12 else -1)
    return np.array(prim), np.array(sec)


def _province_prices(world: World, seed: int) -> dict[tuple[str, int], float]:
    rng = py_rng(seed, "prices")
    return {(prov, pi): round(p.list_price * rng.uniform(0.86, 1.0), 2)
            for prov in sorted({d.province for d in world.distributors})
            for pi, p in enumerate(world.products)}


def terminal_cells(world: World, seed: int, months: list[date], volume: float
                   ) -> tuple[Cells, list[Activity]]:
    rng = np_rng(seed, "demand")
    n_m = len(months)
    cust, prod, base, start, stop = _adoption(world, seed, n_m)
    acts = build_activities(world, seed, months, cust, prod, base)
    lift = _lift_matrix(acts, cust, prod, months)
    growth = 1 + rng.uniform(-0.05, 0.25, size=len(world.products))
    season = np.array([_season(m) for m in months])
    t = np.arange(n_m) / 12.0
    mean = (base[:, None] * season[None, :] * growth[prod][:, None] ** t[None, :] * lift) * volume
    active = (np.arange(n_m)[None, :] >= start[:, None]) & (np.arange(n_m)[None, :] < stop[:, None])
    qty = rng.poisson(mean) * active
    ctypes = np.array([c.ctype for c in world.customers])[cust]
    skip_p = np.where(ctypes == "hospital", 0.05, np.where(ctypes == "pharmacy", 0.18, 0.3))
    qty = qty * (rng.random(qty.shape) >= skip_p[:, None])
    prim, sec = _serving(world, seed)
    use_sec = (sec[cust][:, None] >= 0) & (rng.random(qty.shape) < 0.35)
    dist = np.where(use_sec, sec[cust][:, None], prim[cust][:, None])
    pair_i, month_i = np.nonzero(qty > 0)
    cells_c = _with_outsiders(world, seed, months, volume,
                              (month_i, dist[pair_i, month_i], cust[pair_i], prod[pair_i],
                               qty[pair_i, month_i]))
    return cells_c, acts


def _with_outsiders(world: World, seed: int, months: list[date], volume: float, term) -> Cells:
    rng = np_rng(seed, "outsiders-demand")
    month_i, dist, cust, prod, qty = term
    own = np.array([i for i, p in enumerate(world.products) if p.is_own])
    om, od, ob, op, oq = [], [], [], [], []
    for oi, o in enumerate(world.outsiders):
        local = [i for i, d in enumerate(world.distributors) if d.province == o.province]
        d = local[oi % len(local)]
        for p in rng.choice(own, size=int(rng.integers(1, 3)), replace=False):
            for m in range(len(months)):
                if rng.random() < 0.5:
                    om.append(m), od.append(d), ob.append(oi), op.append(int(p))
                    oq.append(max(1, int(rng.integers(1, 10) * volume)))
    kind = np.concatenate([np.full(len(qty), KIND_CUSTOMER), np.full(len(oq), KIND_OUTSIDER)])
    prices = _province_prices(world, seed)
    cells = Cells(np.concatenate([month_i, om]).astype(np.int32),
                  np.concatenate([dist, od]).astype(np.int32), kind.astype(np.int8),
                  np.concatenate([cust, ob]).astype(np.int32),
                  np.concatenate([prod, op]).astype(np.int32),
                  np.concatenate([qty, oq]).astype(np.int64), np.zeros(len(kind)))
    provs = [world.distributors[int(d)].province for d in cells.dist]
    cells.price = np.array([prices[(pv, int(p))] for pv, p in zip(provs, cells.prod)])
    return cells


def _stock_policy(world: World, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = py_rng(seed, "stock-policy")
    target = np.array([rng.uniform(0.7, 1.5) for _ in world.distributors])
    over = rng.sample(range(len(world.distributors)), 3)
    for i in over:
        target[i] = rng.uniform(2.5, 3.5)
    return target, [world.distributors[i].code for i in sorted(over)]


def _run_inventory(sales: np.ndarray, target: float, rng: np.random.Generator):
    """Opening + purchases − sales = closing for one distributor; sales [prod, month]."""
    n_p, n_m = sales.shape
    opening = np.zeros_like(sales)
    purchases = np.zeros_like(sales)
    closing = np.zeros_like(sales)
    stock = np.round(sales[:, 0] * target).astype(np.int64)
    for m in range(n_m):
        opening[:, m] = stock
        want = np.round(target * sales[:, m] * rng.uniform(0.8, 1.25, size=n_p)).astype(np.int64)
        purchases[:, m] = np.maximum(0, want - stock + sales[:, m])
        stock = stock + purchases[:, m] - sales[:, m]
        closing[:, m] = stock
    return opening, purchases, closing


def build_economy(world: World, seed: int, months: list[date], volume: float = 1.0) -> Economy:
    cells, acts = terminal_cells(world, seed, months, volume)
    n_d, n_p, n_m = len(world.distributors), len(world.products), len(months)
    target, over = _stock_policy(world, seed)
    rng = np_rng(seed, "inventory")
    sales = np.zeros((n_d, n_p, n_m), dtype=np.int64)
    np.add.at(sales, (cells.dist, cells.prod, cells.month), cells.qty)
    opening, purchases, closing = (np.zeros_like(sales) for _ in range(3))
    code_idx = {d.code: i for i, d in enumerate(world.distributors)}
    extra: list[tuple[int, int, int, int, int]] = []  # month, seller, buyer dist, prod, qty
    for tier in (2, 1):
        for di, d in enumerate(world.distributors):
            if d.tier != tier:
                continue
            o, p, c = _run_inventory(sales[di], target[di], rng)
            opening[di], purchases[di], closing[di] = o, p, c
            if tier == 2:
                sup = code_idx[d.supplier]
                for pi, mi in zip(*np.nonzero(p)):
                    extra.append((int(mi), sup, di, int(pi), int(p[pi, mi])))
                    sales[sup, pi, mi] += p[pi, mi]
    cells = _append_distributor_cells(cells, extra, world, seed)
    return Economy(months, cells, acts, opening, purchases, sales, closing,
                   _sellin(world, seed, months, purchases), over, volume)


def _append_distributor_cells(cells: Cells, extra, world: World, seed: int) -> Cells:
    if not extra:
        return cells
    arr = np.array(extra, dtype=np.int64)
    prices = _province_prices(world, seed)
    price = np.array([round(prices[(world.distributors[int(s)].province, int(p))] * 0.93, 2)
                      for s, p in zip(arr[:, 1], arr[:, 3])])
    return Cells(np.concatenate([cells.month, arr[:, 0]]).astype(np.int32),
                 np.concatenate([cells.dist, arr[:, 1]]).astype(np.int32),
                 np.concatenate([cells.kind, np.full(len(arr), KIND_DISTRIBUTOR)]).astype(np.int8),
                 np.concatenate([cells.buyer, arr[:, 2]]).astype(np.int32),
                 np.concatenate([cells.prod, arr[:, 3]]).astype(np.int32),
                 np.concatenate([cells.qty, arr[:, 4]]).astype(np.int64),
                 np.concatenate([cells.price, price]))


def _sellin(world: World, seed: int, months: list[date], purchases: np.ndarray):
    """ERP invoices to tier-1 distributors; net per month = their purchases. Credit notes < 0."""
    rng = py_rng(seed, "sellin")
    rows: list[tuple[str, int, date, str, str, int, float]] = []
    n_inv = 0
    for mi, m in enumerate(months):
        last = month_end(m).day
        for di, d in enumerate(world.distributors):
            if d.tier != 1:
                continue
            prods = [pi for pi in range(purchases.shape[1]) if purchases[di, pi, mi] > 0]
            if not prods:
                continue
            n_ship = rng.randint(1, 3)
            splits: list[list[tuple[int, int]]] = [[] for _ in range(n_ship)]
            for pi in prods:
                q = int(purchases[di, pi, mi])
                parts = [q] if n_ship == 1 or q < 10 else _split(q, n_ship, rng)
                for s, part in enumerate(parts):
                    if part:
                        splits[s].append((pi, part))
            for s, lines in enumerate(splits):
                if not lines:
                    continue
                n_inv += 1
                inv = f"SI{m.year}{m.month:02d}{n_inv:06d}"
                day = m + timedelta(days=min(last - 1, rng.randint(s * 9, s * 9 + 8)))
                for ln, (pi, q) in enumerate(lines, start=1):
                    price = round(world.products[pi].list_price * 0.78, 2)
                    credit = rng.random() < 0.03 and q > 5
                    extra = rng.randint(1, max(1, q // 5)) if credit else 0
                    rows.append((inv, ln, day, d.code, world.products[pi].product_id, q + extra,
                                 round((q + extra) * price, 2)))
                    if credit:
                        n_inv += 1
                        cday = min(day + timedelta(days=rng.randint(2, 10)), month_end(m))
                        rows.append((f"CN{m.year}{m.month:02d}{n_inv:06d}", 1, cday, d.code,
                                     world.products[pi].product_id, -extra, round(-extra * price, 2)))
    return rows


def _split(q: int, n: int, rng) -> list[int]:
    cuts = sorted(rng.randint(0, q) for _ in range(n - 1))
    bounds = [0, *cuts, q]
    return [bounds[i + 1] - bounds[i] for i in range(n)]
