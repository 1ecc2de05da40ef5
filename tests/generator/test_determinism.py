from __future__ import annotations

from pathlib import Path

from generator import generate
from tests.generator.conftest import SMALL


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_mtimes(small_inbox, tmp_path) -> None:
    out, _ = small_inbox
    again = tmp_path / "again"
    generate(again, **SMALL)
    first, second = _snapshot(out), _snapshot(again)
    assert first.keys() == second.keys()
    differing = [k for k in first if first[k] != second[k]]
    assert not differing, differing[:5]


def test_regenerating_into_the_same_folder_replaces_it(tmp_path) -> None:
    out = tmp_path / "inbox"
    generate(out, seed=2, customers=30, months=2)
    (out / "flow" / "stale.csv").write_text("x")
    generate(out, seed=2, customers=30, months=2)
    assert not (out / "flow" / "stale.csv").exists()


def test_refuses_a_foreign_non_empty_folder(tmp_path) -> None:
    import pytest

    from sfe.report import UsageError

    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UsageError):
        generate(tmp_path, customers=30, months=2)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_same_bytes_across_processes_with_different_hash_seeds(tmp_path) -> None:
    """Set/dict iteration order must never leak into the output (PYTHONHASHSEED differs)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from generator import generate; "
            "generate(Path(sys.argv[1]), seed=11, customers=40, months=3)")
    root = Path(__file__).resolve().parents[2]
    for name, hash_seed in (("a", "1"), ("b", "4242")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True, cwd=root, env=env)
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")
