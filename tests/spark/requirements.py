"""What a test that starts Spark needs on the machine, as one skip marker for every Spark module."""

from __future__ import annotations

import shutil
from importlib.util import find_spec

import pytest

NEEDS_SPARK = pytest.mark.skipif(
    find_spec("pyspark") is None or shutil.which("java") is None,
    reason="needs the 'spark' extra and a Java runtime (bin/sfe test installs the extra; "
           "install Java 17, e.g. apt-get install openjdk-17-jre)")
