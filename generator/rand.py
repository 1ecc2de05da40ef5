"""Seeded random sources: one independent, reproducible stream per component.

Components never share a stream, so adding draws in one part of the generator does not change
the data of another part.
"""

from __future__ import annotations

import random
import zlib

import numpy as np


def _mix(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))) & 0xFFFF_FFFF_FFFF


def py_rng(seed: int, name: str) -> random.Random:
    """A `random.Random` for one component (e.g. 'customers', 'flow:JS01')."""
    return random.Random(_mix(seed, name))


def np_rng(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator for one component."""
    return np.random.default_rng(_mix(seed, name))
