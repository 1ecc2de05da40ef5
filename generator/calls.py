"""CRM call log: reps call the HCPs of their territory driven by grade (plan A 8, B 4, C 2, D 1
a month) with each rep's own habits: over-calling A doctors, under-calling C/D, late or missing
post-call reports. Vectorised per month (numpy + polars)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from generator.delivery import FileRecord
from generator.economy import Economy, month_end
from generator.rand import np_rng
from generator.world import World
from generator.writers import set_arrival

CALL_PLAN = {"A": 8, "B": 4, "C": 2, "D": 1}
GRADE_BIAS = {"A": 1.15, "B": 1.0, "C": 0.75, "D": 0.6}
NEXT_STEPS = ["跟进处方情况", "安排科室会", "递送文献资料", "邀请参加学术会议", "确认进院进度",
              "回访用药反馈", "约见科主任", ""]
CHANNELS = ["face_to_face", "remote", "meeting"]
EPOCH = date(1970, 1, 1)


def alignment_on(world: World, day: date) -> dict[str, str]:
    out = {}
    for c, t, _, a, b in world.alignment:
        if a <= day and (b is None or b >= day):
            out[c] = t
    return out


def _month_pairs(world: World, m: date, hcps_by_terr: dict[str, list[int]]):
    """(rep index, hcp index, first day, last day) for every rep active in month m."""
    end = month_end(m)
    reps, hcps, lo_days, hi_days, frac = [], [], [], [], []
    for ri, (_, _, terr, a, b) in enumerate(world.reps):
        lo, hi = max(a, m), min(b or end, end)
        if lo > hi:
            continue
        for hi_idx in hcps_by_terr.get(terr, []):
            reps.append(ri)
            hcps.append(hi_idx)
            lo_days.append((lo - EPOCH).days)
            hi_days.append((hi - EPOCH).days)
            frac.append(((hi - lo).days + 1) / end.day)
    return (np.array(reps, dtype=np.int64), np.array(hcps, dtype=np.int64),
            np.array(lo_days, dtype=np.int64), np.array(hi_days, dtype=np.int64), np.array(frac))


def month_calls(world: World, m: date, rng: np.random.Generator, rep_factor: np.ndarray,
                rep_ontime: np.ndarray, first_id: int) -> pl.DataFrame:
    terr_of = alignment_on(world, month_end(m))
    by_terr: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(world.hcps):
        t = terr_of.get(h.crm_id)
        if t:
            by_terr[t].append(i)
    rep, hcp, lo, hi, frac = _month_pairs(world, m, by_terr)
    grades = np.array([h.grade for h in world.hcps])[hcp] if len(hcp) else np.zeros(0, str)
    lam = (np.vectorize(CALL_PLAN.get, otypes=[float])(grades) * np.vectorize(GRADE_BIAS.get, otypes=[float])(grades)
           * rep_factor[rep] * frac) if len(hcp) else np.zeros(0)
    k = rng.poisson(lam)
    rep, hcp, lo, hi = (np.repeat(a, k) for a in (rep, hcp, lo, hi))
    n = len(rep)
    day = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    day = np.maximum(lo, day - np.maximum(weekday - 4, 0))
    at = day * 1440 + 510 + rng.integers(0, 541, n)  # minutes since epoch, 08:30-17:30
    roll = rng.random(n)
    ontime = rep_ontime[rep]
    delay = np.where(roll < ontime, rng.integers(20, 23 * 60, n),
                     np.where(roll < ontime + (1 - ontime) * 0.8, rng.integers(25 * 60, 170 * 60, n), -1))
    own = np.array([p.product_id for p in world.products if p.is_own])
    a = rng.integers(0, len(own), n)
    b = (a + 1 + rng.integers(0, len(own) - 1, n)) % len(own)
    two = rng.random(n) < 1 / 3
    prod1, prod2 = own[np.minimum(a, b)], own[np.maximum(a, b)]
    met = rng.choice(np.array(["1", "0", ""]), size=n, p=[0.6, 0.3, 0.1])
    df = pl.DataFrame({
        "rep_id": np.array([r[0] for r in world.reps])[rep] if n else np.zeros(0, str),
        "hcp_id": np.array([h.hcp_id for h in world.hcps])[hcp] if n else np.zeros(0, str),
        "crm_customer_id": np.array([h.crm_id for h in world.hcps])[hcp] if n else np.zeros(0, str),
        "at": (at * 60_000).astype("datetime64[ms]"),
        "channel": rng.choice(np.array(CHANNELS), size=n, p=[0.75, 0.15, 0.10]),
        "products": np.where(two, np.char.add(np.char.add(prod1, "|"), prod2), own[a]) if n else np.zeros(0, str),
        "sub": np.where(delay >= 0, (at + delay) * 60_000, 0).astype("datetime64[ms]"),
        "has_sub": delay >= 0,
        "objective_met": np.where(delay >= 0, met, ""),
        "next_step": np.where(delay >= 0, rng.choice(np.array(NEXT_STEPS), size=n), ""),
    })
    df = df.sort(["at", "rep_id", "hcp_id"]).with_row_index("n", offset=first_id)
    return df.select(
        ("CL" + pl.col("n").cast(pl.Utf8).str.zfill(8)).alias("call_id"), "rep_id", "hcp_id",
        "crm_customer_id", pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("call_datetime"), "channel",
        "products",
        pl.when(pl.col("has_sub")).then(pl.col("sub").dt.strftime("%Y-%m-%d %H:%M:%S"))
        .alias("report_submitted_at"), _blank_to_null("objective_met"), _blank_to_null("next_step"))


def _blank_to_null(name: str) -> pl.Expr:
    """Empty CSV cells (not quoted "") for missing values, like the other system extracts."""
    return pl.when(pl.col(name) != "").then(pl.col(name)).alias(name)


def write_calls(out: Path, world: World, econ: Economy, seed: int, files: list[FileRecord]) -> int:
    rng = np_rng(seed, "calls")
    rep_factor = rng.uniform(0.55, 1.25, len(world.reps))
    rep_ontime = rng.uniform(0.6, 0.97, len(world.reps))
    total = 0
    (out / "calls").mkdir(parents=True, exist_ok=True)
    for m in econ.months:
        df = month_calls(world, m, rng, rep_factor, rep_ontime, total + 1)
        total += df.height
        rel = f"calls/calls_{m:%Y-%m}.csv"
        df.write_csv(out / rel)
        arrival = datetime.combine(month_end(m) + timedelta(days=1), time(2, 0))
        set_arrival(out / rel, arrival)
        files.append(FileRecord(rel, "calls", "loaded", df.height, 0, "", arrival))
    return total
