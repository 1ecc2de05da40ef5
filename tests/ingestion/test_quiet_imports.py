"""An ingest prints what a user needs, not a library's warnings about another engine."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(find_spec("pyspark") is None,
                    reason="the warning comes from pyspark (the `spark` extra), not installed")
def test_the_schemas_import_prints_no_pyspark_pandas_warning() -> None:
    """pandera imports pyspark.pandas when it is installed; pyspark warns about pandas 3."""
    done = subprocess.run([sys.executable, "-W", "default", "-c", "import ingestion.schemas"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert "PySpark does not yet fully support" not in done.stderr, done.stderr
