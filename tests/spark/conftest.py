"""Spark tests build throw-away lakes: Derby, the local metastore, commits without an fsync each
(`SFE_SPARK_JAVA_OPTIONS`, profiles.yml), ~17 % off a small Spark build. Never for a kept lake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def throwaway_metastore() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SFE_SPARK_JAVA_OPTIONS", "-Dderby.system.durability=test")
        yield
