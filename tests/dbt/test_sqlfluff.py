"""sqlfluff (DuckDB dialect, the dbt templater, rules in .sqlfluff) is clean on dbt_project/.

The templater compiles the real project offline; the scratch warehouse and dbt's target/ go to
a temp folder, never into the repo or data/. Slow (dbt compiles every model): marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sfe.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sqlfluff")]


def test_sqlfluff_is_clean_on_the_dbt_project(tmp_path: Path) -> None:
    env = {**os.environ, "SFE_WORKING_DB": str(tmp_path / "lint.duckdb"),
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs")}
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    done = subprocess.run([str(sqlfluff), "lint", "dbt_project", "--processes", "1",
                           "--disable-progress-bar"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    assert done.returncode == 0, (
        "sqlfluff found problems in dbt_project/ (fix them, or `sqlfluff fix dbt_project`):\n"
        + done.stdout[-6000:] + done.stderr[-2000:])
