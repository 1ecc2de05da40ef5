"""Realistic, deterministic demo/test data: a whole inbox of messy distributor files plus `_truth/`.

`generate(out, seed=1, customers=2000, months=24, rows=None)` is the entry point (see core.py).
"""

from generator.core import GenerateResult, generate

__all__ = ["GenerateResult", "generate"]
