"""`xdist_group` keeps a group on one worker (tests/xdist_groups.py; pytest-xdist#1386)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPED = '''
import os
import pytest

pytestmark = pytest.mark.xdist_group("one")

@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    with open("workers.txt", "a") as fh:
        fh.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
'''


def test_a_groups_tests_all_run_on_one_worker(tmp_path: Path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
         "-p", "tests.xdist_groups", "-p", "no:cacheprovider", "test_grouped.py"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers


class _Item:
    def __init__(self, module: str, slow: bool = False) -> None:
        self.module, self.slow = module, slow

    def get_closest_marker(self, name: str) -> object:
        return name == "slow" and self.slow or None


def test_modules_with_a_slow_test_come_first_whole_and_in_order():
    from tests.conftest import slow_modules_first

    items = [_Item("a"), _Item("b"), _Item("b", slow=True), _Item("c"), _Item("d", slow=True),
             _Item("d")]
    slow_modules_first(items)  # type: ignore[arg-type]
    assert [(i.module, i.slow) for i in items] == [
        ("b", False), ("b", True), ("d", True), ("d", False), ("a", False), ("c", False)]
