"""A replaced file's months are rebuilt, and `sfe build --force` equals a fresh build.

The story on top of the tiny fixture (tests/dbt/fixture_warehouse.py): distributor DA sends a
two-month file (file 15: 4 boxes on 12 April, 2 boxes on 3 May). Sales ops then decide that a
one-month file (file 16: 6 boxes on 12 April) replaces it, as `file_decisions.yaml: replace`
does: file 15's rows leave raw and it becomes `superseded` by 16. May held file 15's rows only,
so after the replacement May has no sell-out at all; April holds file 14 (5 boxes) and file 16.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from transform.build import build
from sfe.config import Settings, load_settings
from tests.dbt.built_fixture import copy_built, copy_warehouse
from tests.dbt.fixture_warehouse import create_fixture

pytestmark = pytest.mark.xdist_group("dbt_replaced_months")

_LINE = ("insert into raw.flow__lines (file_id, source_row, distributor_code, sale_date, "
         "buyer_code, buyer_name, product_name, spec, quantity, unit, amount, doc_type) values "
         "(?, ?, 'DA', ?, 'K001', '北医三院', '阿托伐他汀钙片', '10mg*10片', ?, 'box', ?, 'sale')")
_FILE = ("insert into audit.file_registry (file_id, path, sha256, source, distributor_code, "
         "period_start, period_end, received_at, loaded_at, status, rows_read, rows_loaded, "
         "rows_quarantined, run_id) values (?, ?, ?, 'flow', 'DA', ?, ?, ?, ?, 'loaded', ?, ?, 0, "
         "'run2')")


def _settings(data_dir: Path) -> Settings:
    return load_settings(env={}, data_dir=data_dir)


def _sql(settings: Settings, *statements: tuple[str, list]) -> None:
    con = duckdb.connect(str(settings.working_db))
    try:
        for sql, params in statements:
            con.execute(sql, params)
    finally:
        con.close()


def _send_two_month_file(settings: Settings) -> None:
    _sql(settings,
         (_LINE, [15, 2, "2026-04-12", 4.0, 400.0]), (_LINE, [15, 3, "2026-05-03", 2.0, 200.0]),
         (_FILE, [15, "flow/DA/2026-04-05.csv", "sha15", "2026-04-12", "2026-05-03",
                  "2026-05-10 10:00:00", "2026-05-11 08:00:00", 2, 2]))


def _replace_it_with_a_one_month_file(settings: Settings) -> None:
    """What ingestion does for '<file 16>: replace': one transaction, rows and registry."""
    _sql(settings,
         ("delete from raw.flow__lines where file_id = 15", []),
         ("update audit.file_registry set status = 'superseded', superseded_by = 16 "
          "where file_id = 15", []),
         (_LINE, [16, 2, "2026-04-12", 6.0, 600.0]),
         (_FILE, [16, "flow/DA/2026-04.csv", "sha16", "2026-04-12", "2026-04-12",
                  "2026-05-11 10:00:00", "2026-05-12 08:00:00", 1, 1]))


@pytest.fixture(scope="module")
def after_first_file(built, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture built in full (the run's shared build), then file 15 loaded and built
    incrementally."""
    settings = copy_built(built, _settings(tmp_path_factory.mktemp("replaced") / "data"))
    _send_two_month_file(settings)
    report = build(settings, select=["fct_sell_out"])
    assert report.exit_code == 0 and report.rebuilt_all_months is False, report.summary()
    assert _boxes_by_month_and_file(settings)[("2026-05", 15)] == 2.0
    return settings


def _copy(settings: Settings, tmp_path: Path) -> Settings:
    return copy_warehouse(settings, _settings(tmp_path / "data"))  # same matching: incremental


def _boxes_by_month_and_file(settings: Settings) -> dict[tuple[str, int], float]:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        rows = con.execute("select month, file_id, sum(qty_boxes) from marts.fct_sell_out "
                           "where month >= '2026-04' group by all").fetchall()
    finally:
        con.close()
    return {(month, file_id): boxes for month, file_id, boxes in rows}


# hand-computed: April = file 14 (5 boxes) + file 16 (6 boxes); May had file 15's rows only
AFTER_REPLACE = {("2026-04", 14): 5.0, ("2026-04", 16): 6.0}


def test_replacing_a_two_month_file_removes_the_dropped_month_on_an_incremental_build(
        after_first_file, tmp_path):
    """Old code rebuilt only the months of the new file (April): May kept file 15's rows."""
    copy = _copy(after_first_file, tmp_path)
    _replace_it_with_a_one_month_file(copy)
    report = build(copy, select=["fct_sell_out"])
    assert report.exit_code == 0 and report.rebuilt_all_months is False, report.summary()
    assert _boxes_by_month_and_file(copy) == AFTER_REPLACE


def _marts(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        return {t: sorted(con.execute(f'select * from marts."{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        con.close()


@pytest.mark.slow  # two more whole dbt builds
def test_build_force_rebuilds_from_raw_and_equals_a_fresh_build(after_first_file, tmp_path):
    """Old code's --force ran the same incremental build: May's stale rows stayed."""
    forced = _copy(after_first_file, tmp_path / "forced")
    _replace_it_with_a_one_month_file(forced)
    report = build(forced, force=True)
    assert report.exit_code == 0 and report.rebuilt_all_months is True, report.summary()
    assert _boxes_by_month_and_file(forced) == AFTER_REPLACE

    fresh = _settings(tmp_path / "fresh" / "data")  # the same raw, never built before
    create_fixture(fresh.working_db)
    _send_two_month_file(fresh)
    _replace_it_with_a_one_month_file(fresh)
    assert build(fresh).exit_code == 0
    forced_marts, fresh_marts = _marts(forced), _marts(fresh)
    assert sorted(forced_marts) == sorted(fresh_marts) and "fct_sell_out" in fresh_marts
    for table, rows in fresh_marts.items():
        assert forced_marts[table] == rows, table
