"""From monthly cells to the order lines a distributor's ERP would list: dates, splits into
several lines, returns, batches, units (box / min unit / case) and prices. Vectorised (numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from generator.economy import KIND_CUSTOMER, KIND_DISTRIBUTOR, Cells
from generator.profiles import Profile
from generator.rand import py_rng
from generator.variants import (customer_variants, distributor_variants, outsider_variants,
                                raw_product_name, raw_spec)
from generator.world import World

UNIT_BOX, UNIT_MIN, UNIT_CASE = 0, 1, 2
EPOCH = date(1970, 1, 1)


@dataclass
class Book:
    """One distributor's naming tables: buyers (with variants) and products."""

    code: str
    keys: np.ndarray  # sorted buyer keys kind*10_000_000 + index
    first: np.ndarray  # first variant row per buyer key
    count: np.ndarray  # variants per buyer key
    names: list[str]  # variant rows
    codes: list[str]  # buyer code per variant row ('' when the distributor has none)
    addresses: list[str]
    prod_names: list[str]  # per product index
    prod_specs: list[str]
    manufacturers: list[str]


def buyer_key(kind: np.ndarray, buyer: np.ndarray) -> np.ndarray:
    return kind.astype(np.int64) * 10_000_000 + buyer.astype(np.int64)


def build_book(world: World, seed: int, prof: Profile, cells: Cells, sel: np.ndarray) -> Book:
    rng = py_rng(seed, f"names:{prof.code}")
    keys = np.unique(buyer_key(cells.kind[sel], cells.buyer[sel]))
    first, count, names, codes, addrs = [], [], [], [], []
    for n, key in enumerate(keys):
        kind, idx = divmod(int(key), 10_000_000)
        if kind == KIND_CUSTOMER:
            c = world.customers[idx]
            variants, addr = customer_variants(c, prof.noise, rng), c.address
        elif kind == KIND_DISTRIBUTOR:
            d = world.distributors[idx]
            variants, addr = distributor_variants(d, rng), f"{d.city}"
        else:
            o = world.outsiders[idx]
            variants, addr = outsider_variants(o), o.city
        first.append(len(names))
        count.append(len(variants))
        code = f"{prof.code_prefix}{rng.randint(1000, 99999):05d}{n % 10}" if prof.code_prefix else ""
        for v in variants:
            names.append(v)
            codes.append(code)
            addrs.append(addr)
    pn, ps, mf = [], [], []
    for p in world.products:
        name, spec = raw_product_name(p, prof.product_style, raw_spec(p, prof.spec_style))
        pn.append(name)
        ps.append(spec)
        mf.append(p.manufacturer)
    return Book(prof.code, keys, np.array(first, dtype=np.int64), np.array(count, dtype=np.int64),
                names, codes, addrs, pn, ps, mf)


@dataclass
class Lines:
    cell: np.ndarray  # global cell index
    day: np.ndarray  # days since 1970-01-01
    qty_box: np.ndarray  # signed boxes of the line
    is_return: np.ndarray
    unit: np.ndarray  # UNIT_*
    qty: np.ndarray  # quantity in the line's unit (signed), float
    price: np.ndarray  # price per unit
    amount: np.ndarray  # signed amount
    name_row: np.ndarray  # index into Book.names
    prod: np.ndarray
    batch_off: np.ndarray  # months between production and sale

    def __len__(self) -> int:
        return len(self.cell)

    def take(self, idx: np.ndarray) -> Lines:
        return Lines(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def empty_lines() -> Lines:
    i, f = np.zeros(0, np.int64), np.zeros(0)
    return Lines(i, i, i, np.zeros(0, bool), np.zeros(0, np.int8), f, f, f, i, i, i)


def _lines_per_cell(qty: np.ndarray, kind: np.ndarray, factor: float, rng) -> np.ndarray:
    if factor <= 1.5:
        k = 1 + rng.poisson(np.where(kind == KIND_DISTRIBUTOR, 0.8, 0.35))
    else:
        mean_q = max(float(qty.mean()), 1.0)
        k = np.maximum(1, np.round(factor * qty / mean_q * rng.uniform(0.7, 1.3, len(qty))))
    return np.minimum(k, np.maximum(qty, 1)).astype(np.int64)


def make_lines(world: World, book: Book, prof: Profile, cells: Cells, idx: np.ndarray,
               month: date, month_days: int, rng: np.random.Generator, factor: float) -> Lines:
    """All lines of the cells `idx` (one distributor, one month), dates inside the month."""
    if len(idx) == 0:
        return empty_lines()
    q = cells.qty[idx]
    kind = cells.kind[idx]
    ret = np.zeros(len(idx), dtype=np.int64)
    is_term = kind != KIND_DISTRIBUTOR
    has_ret = is_term & (rng.random(len(idx)) < 0.03) & (q >= 2)
    ret[has_ret] = 1 + rng.integers(0, np.maximum(q[has_ret] // 4, 1))
    gross = q + ret
    k = _lines_per_cell(gross, kind, factor, rng)
    local = np.repeat(np.arange(len(idx)), k)
    w = rng.random(len(local)) + 0.05
    share = w / np.bincount(local, weights=w)[local]
    spare = (gross - k)[local]
    parts = 1 + np.floor(share * spare).astype(np.int64)
    short = gross - np.bincount(local, weights=parts, minlength=len(idx)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    parts[starts] += short
    day0 = (month - EPOCH).days
    days = day0 + rng.integers(0, month_days, len(local))
    # the return line: after the cell's first sale, same month
    r_cells = np.nonzero(ret)[0]
    r_days = np.minimum(days[starts[r_cells]] + rng.integers(1, 10, len(r_cells)), day0 + month_days - 1)
    local = np.concatenate([local, r_cells])
    qty_box = np.concatenate([parts, -ret[r_cells]])
    days = np.concatenate([days, r_days])
    is_return = np.concatenate([np.zeros(len(parts), bool), np.ones(len(r_cells), bool)])
    return _finish(world, book, prof, cells, idx, local, qty_box, days, is_return, rng)


def _finish(world, book, prof, cells, idx, local, qty_box, days, is_return, rng) -> Lines:
    gcell = idx[local]
    prod = cells.prod[gcell]
    pack = np.array([p.pack_size for p in world.products])[prod]
    case = np.array([p.case_size for p in world.products])[prod]
    injectable = np.array([p.min_unit == "支" for p in world.products])[prod]
    unit = np.zeros(len(local), dtype=np.int8)
    if prof.unit_policy == "min_all":
        unit[:] = UNIT_MIN
    elif prof.unit_policy == "min_injectables":
        unit[injectable] = UNIT_MIN
    elif prof.unit_policy == "case_bulk":
        unit, qty_box, local, days, is_return, gcell, prod, pack, case = _case_split(
            cells, local, qty_box, days, is_return, gcell, prod, pack, case)
    box_price = cells.price[gcell]
    factor = np.where(unit == UNIT_MIN, pack, np.where(unit == UNIT_CASE, 1.0 / case, 1.0))
    qty = np.where(unit == UNIT_CASE, qty_box / case, qty_box * factor)
    price = np.where(unit == UNIT_MIN, np.round(box_price / pack, 4),
                     np.where(unit == UNIT_CASE, np.round(box_price * case, 2), box_price))
    amount = np.round(qty * price, 2)
    keys = buyer_key(cells.kind[gcell], cells.buyer[gcell])
    pos = np.searchsorted(book.keys, keys)
    alt = (book.count[pos] > 1) & (rng.random(len(pos)) < 0.15)
    name_row = book.first[pos] + alt
    order = np.lexsort((gcell, days))
    lines = Lines(gcell, days, qty_box, is_return, unit, qty, price, amount, name_row, prod,
                  rng.integers(2, 8, len(gcell)))
    return lines.take(order)


def _case_split(cells, local, qty_box, days, is_return, gcell, prod, pack, case):
    """Sales to other distributors of a full case or more: a 件 line plus a 盒 line for the rest."""
    to_dist = cells.kind[gcell] == KIND_DISTRIBUTOR
    big = to_dist & (qty_box >= case)
    n_cases = np.where(big, qty_box // case, 0)
    rest = np.where(big, qty_box % case, qty_box)
    extra = big & (rest > 0)
    unit = np.where(big, UNIT_CASE, UNIT_BOX).astype(np.int8)
    qb = np.where(big, n_cases * case, qty_box)
    cat = lambda a, b: np.concatenate([a, b])  # noqa: E731
    return (cat(unit, np.full(extra.sum(), UNIT_BOX, np.int8)), cat(qb, rest[extra]), cat(local, local[extra]),
            cat(days, days[extra]), cat(is_return, is_return[extra]), cat(gcell, gcell[extra]),
            cat(prod, prod[extra]), cat(pack, pack[extra]), cat(case, case[extra]))
