"""Issue 15: imports point down only (orchestration > dashboards > stages > sfe), checked by
import-linter with the contracts in pyproject.toml, and no project module is loaded by name."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from sfe.config import PROJECT_ROOT

PACKAGES = ("orchestration", "dashboards", "ingestion", "matching", "transform", "quality",
            "generator", "sfe")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold() -> None:
    proc = _lint(PROJECT_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_an_upward_or_sideways_import_breaks_the_contracts(tmp_path: Path) -> None:
    """The check is real: the same tree plus a floor module importing the top and a stage
    importing another stage fails, naming both."""
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "templates", "data"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "sfe" / "probe_up.py").write_text("import orchestration.pipeline\n", encoding="utf-8")
    (tmp_path / "ingestion" / "probe_side.py").write_text("import quality.gates\n", encoding="utf-8")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "sfe.probe_up -> orchestration.pipeline" in proc.stdout
    assert "ingestion.probe_side -> quality.gates" in proc.stdout


def test_no_project_module_is_imported_by_name() -> None:
    """importlib/__import__ hide an import from the contracts above."""
    pattern = re.compile(r"\bimport_module\(|\b__import__\(")
    found = [f"{path.relative_to(PROJECT_ROOT)}:{n}"
             for package in PACKAGES
             for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_ruff_is_clean() -> None:
    """The rule set in pyproject.toml ([tool.ruff]); `ruff check --fix .` repairs the safe ones."""
    proc = subprocess.run([str(Path(sys.executable).with_name("ruff")), "check", "--no-cache", "."],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
