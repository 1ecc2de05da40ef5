"""An incremental build of the KPI marts equals a full rebuild of the same raw data.

A small generated inbox is loaded without its last month and without a correction file for an
older month (GD01's July `_更正`, which replaces part of July), and built. Then those files
arrive: the next `sfe build` is incremental (it must not fall back to rebuilding every month)
and every KPI mart must equal, row for row, a `--force` (full refresh) build of the same
warehouse. The July correction makes the dependent months matter: July's amounts change, so
year-to-date achievement of August..October and the grades read by later months' coverage
change too; a build that rebuilt only the touched months would leave them stale.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.build import build_step as build
from transform.build import build as dbt_build
from sfe.config import Settings, load_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("dbt_incremental_kpis"),
    pytest.mark.skipif(os.environ.get("SFE_E2E") == "0",
                       reason="builds a generated warehouse three times; SFE_E2E=0 skips it"),
]

MONTHS = 4  # July..October 2026 with the generator's calendar


def _held_back(path: Path, last_month: str) -> bool:
    """Files of the last month (any naming: 202610, 2026-10, 20261031) and the correction."""
    if path.parts[0] in ("master", "_truth") or path.parts[0] == "targets":
        return False
    year, month = last_month[:4], last_month[5:7]
    pattern = rf"{year}-?{month}(\d\d)?(?!\d)|{year}{month}01_{year}{month}\d\d"
    return "更正" in path.name or re.search(pattern, path.name) is not None


def _last_month(inbox: Path) -> str:
    months = sorted(m.group(1) for p in (inbox / "calls").iterdir()
                    if (m := re.search(r"(\d{4}-\d{2})", p.name)))
    return months[-1]


def _marts(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_name like 'kpi%' order by 1").fetchall()]
        return {t: sorted((tuple(_rounded(v) for v in row) for row in con.execute(
            f'select * from marts."{t}"').fetchall()), key=repr) for t in tables}
    finally:
        con.close()


def _rounded(value: object) -> object:
    """Floats to 12 significant digits: sums over the same rows in another order differ in the
    last bits (3415450.1 vs 3415450.100000001)."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object, Path]:
    generator_core = pytest.importorskip("generator.core")
    ingestion_pipeline = pytest.importorskip("ingestion.pipeline")
    root = tmp_path_factory.mktemp("incremental_kpis")
    full_inbox, inbox = root / "generated", root / "inbox"
    settings = load_settings(env={}, data_dir=root / "data")
    generator_core.generate(full_inbox, seed=1, customers=60, months=MONTHS,
                            company=settings.company_name)
    last = _last_month(full_inbox)
    held = []
    for path in sorted(p for p in full_inbox.rglob("*") if p.is_file()):
        rel = path.relative_to(full_inbox)
        if _held_back(rel, last):
            held.append(rel)
            continue
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, inbox / rel)
    assert any("更正" in p.name for p in held) and any(p.parts[0] == "flow" for p in held)
    settings.ensure_dirs()
    ingestion_pipeline.ingest_inbox(settings, inbox)
    first = build(settings)
    assert first.exit_code == 0, first.summary()
    for rel in held:
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(full_inbox / rel, inbox / rel)
    ingestion_pipeline.ingest_inbox(settings, inbox)
    report = build(settings)
    return settings, report, root


def test_new_month_and_a_correction_build_incrementally(incremental):
    settings, report, _ = incremental
    assert report.exit_code == 0, report.summary()
    assert report.rebuilt_all_months is False
    # hand-known: the new month (October) and the corrected one (July), nothing without files
    assert report.kpi_changed_months is not None
    assert "2026-10" in report.kpi_changed_months and "2026-07" in report.kpi_changed_months
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        superseded = con.execute("select count(*) from audit.file_registry "
                                 "where status = 'superseded'").fetchone()[0]
    finally:
        con.close()
    assert superseded >= 1  # the correction replaced part of July


def test_incremental_kpi_marts_equal_a_full_refresh(incremental, tmp_path):
    settings, _, _ = incremental
    incremental_marts = _marts(settings)
    full = load_settings(env={}, data_dir=tmp_path / "full")
    full.warehouse_dir.mkdir(parents=True)
    shutil.copy(settings.working_db, full.working_db)
    report = dbt_build(full, force=True)
    assert report.exit_code == 0, report.summary()
    full_marts = _marts(full)
    assert {"kpi_coverage", "kpi_target_achievement"} <= set(full_marts)
    assert sorted(incremental_marts) == sorted(full_marts)
    for table, rows in full_marts.items():
        assert rows, table if table in ("kpi_coverage", "kpi_target_achievement") else None
        assert incremental_marts[table] == rows, table
