"""One small generated inbox shared by the generator tests (150 customers, 4 months)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from generator import GenerateResult, generate
from tests.build_once import build_once

SMALL = {"seed": 7, "customers": 150, "months": 4}


@pytest.fixture(scope="session")
def small_inbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateResult]:
    """Generated once per test run, also under xdist (tests/build_once.py)."""
    def _generate(directory: Path) -> tuple[Path, GenerateResult]:
        out = directory / "inbox"
        return out, generate(out, **SMALL)

    return build_once(tmp_path_factory, "generator-small-inbox", _generate)


def read_truth(out: Path, name: str) -> list[dict[str, str]]:
    with open(out / "_truth" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
