"""Spark tests build throw-away lakes from a few hundred rows (`SFE_SPARK_JAVA_OPTIONS`,
profiles.yml): Derby, the local metastore, commits without an fsync each (~17 % off a small Spark
build; never for a kept lake), and the JVM compiles with C1 only and collects with one thread:
on two cores such a build is query planning and class loading, and the optimising compiler's
and the parallel collector's threads took the cores from it (the engines' equality Spark build
194 → 131 s). Real data wants the JVM's defaults (docs/scaling.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def small_throwaway_lakes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        # C1 alone gets the 48 MB code cache of a JVM without tiers, and Spark's generated code
        # filled it: "Out of space in CodeCache for adapters" failed a model; the tiered size
        patch.setenv("SFE_SPARK_JAVA_OPTIONS", "-Dderby.system.durability=test "
                                               "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m "
                                               "-XX:+UseSerialGC")
        yield
