"""The tiny fixture warehouse (tests/dbt/fixture_warehouse.py) built in full once per test run,
for every module here that starts from "a built warehouse" (a whole dbt build is ~40-60 s on a
small CI machine; each module building its own cost one each)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfe.config import Settings, load_settings
from tests.build_once import build_once
from tests.dbt.fixture_warehouse import create_fixture
from transform.build import BuildReport, build


def fixture_settings(data_dir: Path) -> Settings:
    """A data dir with a code cache of its own: whether a build runs the unit tests depends on
    this warehouse alone here, not on other tests' builds (transform/unit_test_passes.py)."""
    return load_settings(env={}, data_dir=data_dir, cache_dir=data_dir.parent / "code-cache")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, BuildReport]:
    """Built once per run by one xdist worker (tests/build_once.py); tests only read it or
    copy it (`copy_built`), as the other worker may be reading it at the same time."""
    def _build(directory: Path) -> tuple[Settings, BuildReport]:
        settings = fixture_settings(directory / "data")
        create_fixture(settings.working_db)
        return settings, build(settings)

    return build_once(tmp_path_factory, "dbt-fixture-build", _build)


def copy_warehouse(source: Settings, into: Settings) -> Settings:
    """`source`'s warehouse and dbt target folder (the last build's state: the next build is
    incremental on it) in `into`'s data dir; `into`."""
    into.warehouse_dir.mkdir(parents=True)
    shutil.copy(source.working_db, into.working_db)
    shutil.copytree(source.dbt_target_dir, into.dbt_target_dir)
    return into


def copy_built(built: tuple[Settings, BuildReport], into: Settings) -> Settings:
    """The run's built warehouse, copied into `into`'s data dir (dbt opens it for writing)."""
    settings, report = built
    assert report.exit_code == 0, report.summary()
    return copy_warehouse(settings, into)
