""".ci/run installs what the browser test needs where it is missing, Chinese font included:
without one every screenshot shows boxes for the pages' Chinese labels."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _run_ci(tmp_path: Path, font_installed: bool) -> list[str]:
    """.ci/run in a copy of the tree whose `bin/sfe test` is a stub, with apt-get, dpkg and
    id stubbed: returns the apt-get calls it made."""
    tree, stubs = tmp_path / "tree", tmp_path / "stubs"
    (tree / ".ci").mkdir(parents=True)
    (tree / "bin").mkdir()
    stubs.mkdir()
    shutil.copy(CI_RUN, tree / ".ci" / "run")
    _stub(tree / "bin", "sfe", "exit 0")
    log = tmp_path / "apt.log"
    _stub(stubs, "apt-get", f'echo "$*" >> {log}')
    _stub(stubs, "id", "echo 0")
    _stub(stubs, "dpkg", "exit 0" if font_installed else "exit 1")
    subprocess.run(["bash", str(tree / ".ci" / "run")], check=True, capture_output=True,
                   env={"PATH": f"{stubs}:/usr/bin:/bin"}, timeout=60)
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_installs_the_chinese_font_where_it_is_missing(tmp_path):
    calls = _run_ci(tmp_path, font_installed=False)
    install = [c for c in calls if c.startswith("install")]
    assert len(install) == 1  # one apt step with Chromium when that is missing too
    assert "fonts-noto-cjk" in install[0].split()
    assert ("chromium" in install[0].split()) == (not Path("/usr/bin/chromium").exists())


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium missing here: "
                    "CI would install it, which is the other test's case")
def test_ci_installs_nothing_when_chromium_and_the_font_are_there(tmp_path):
    assert _run_ci(tmp_path, font_installed=True) == []
