"""A generated inbox (seed 7, 60 customers, 3 months) loaded, matched and built once per test
run, for the end-to-end checks of its marts (tests/dbt/test_end_to_end.py) and for stories that
start from "a company's built warehouse" (tests/quality/test_unresolved_lines_run.py): each
built its own, ~40 s a build on a small CI machine. Read it, or copy it (`copy_generated`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfe.config import Settings, load_settings
from tests.build_once import build_once
from transform.report import BuildReport


def _build(directory: Path) -> tuple[Settings, Path, BuildReport]:
    from generator.core import generate
    from ingestion.pipeline import ingest_inbox
    from orchestration.build import build_step  # matching, then dbt

    inbox = directory / "inbox"
    settings = load_settings(env={}, data_dir=directory / "data")
    generate(inbox, seed=7, customers=60, months=3, company=settings.company_name)
    settings.ensure_dirs()
    ingest_inbox(settings, inbox)
    return settings, inbox, build_step(settings)


def generated_warehouse(tmp_path_factory: pytest.TempPathFactory
                        ) -> tuple[Settings, Path, BuildReport]:
    """(settings, inbox, the build's report), shared by every xdist worker of the run."""
    return build_once(tmp_path_factory, "generated-warehouse-seed7", _build)


def copy_generated(shared: tuple[Settings, Path, BuildReport], root: Path
                   ) -> tuple[Settings, Path]:
    """The built data dir and its inbox copied under `root` (mtimes kept: the next run finds
    every file loaded and the build up to date, as in the original)."""
    settings, inbox, report = shared
    assert report.exit_code == 0, report.summary()
    shutil.copytree(settings.data_dir, root / "data")
    shutil.copytree(inbox, root / "inbox")
    return load_settings(env={}, data_dir=root / "data"), root / "inbox"
