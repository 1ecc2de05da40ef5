"""Great Expectations on a bounded frame: the rows that can fail plus a sample of the others
give the same statuses, failing rows, samples and messages as the whole tables."""

from __future__ import annotations

import duckdb
import pytest

from quality import gx_runner
from quality.checks import Catalog
from quality.definitions import load_gates, resolve_thresholds
from quality.gates import run_checks, template_variables
from tests.quality.conftest import TODAY, execute
from tests.quality.test_gx import PLANTED_GX

pytestmark = pytest.mark.xdist_group("gx")


def _results(warehouse, monkeypatch, max_rows: int) -> tuple[dict, dict[str, int]]:
    frames: dict[str, int] = {}
    fetch = gx_runner._fetch

    def counting_fetch(con, gate, col_sql, variables, bound):
        frame, total = fetch(con, gate, col_sql, variables, bound)
        frames[gate.name] = len(frame)
        return frame, total

    monkeypatch.setattr(gx_runner, "GX_MAX_ROWS", max_rows)
    monkeypatch.setattr(gx_runner, "_fetch", counting_fetch)
    report = run_checks(warehouse, select=["gx"], today=TODAY)
    return {r.name: (r.status, r.failing_rows, r.message, r.sample)
            for r in report.results}, frames


def test_bounded_frames_give_the_whole_tables_results(warehouse, monkeypatch) -> None:
    for sql in PLANTED_GX.values():
        execute(warehouse, sql)
    whole, whole_frames = _results(warehouse, monkeypatch, 10**12)
    bounded, bounded_frames = _results(warehouse, monkeypatch, 1)
    assert {name: r[0] for name, r in whole.items()} == {n: "fail" for n in PLANTED_GX}
    assert bounded == whole
    # hand-known from the planted rows: fct_sell_out has 2 rows without a product and raw flow
    # 1 row with an unknown unit, so GX saw those plus a sample of 1 other row
    assert bounded_frames["gx_fct_sell_out"] == 3
    assert bounded_frames["gx_staged_flow"] == 2 <= whole_frames["gx_staged_flow"]


def test_clean_tables_pass_on_sql_with_gx_s_own_verdict_and_no_frame(warehouse,
                                                                     monkeypatch) -> None:
    """No row of a clean table can fail: the gate passes on the SQL count, no frame fetched,
    GX not imported; GX run on the same tables (whole frames) gives the same results."""
    whole, _ = _results(warehouse, monkeypatch, 10**12)
    bounded, frames = _results(warehouse, monkeypatch, 1)
    assert bounded == whole and frames == {}
    assert all(status == "pass" for status, *_ in bounded.values())
    con = duckdb.connect(str(warehouse.working_db), read_only=True)
    try:
        gates = [g for g in load_gates().gates if g.type == "gx"]
        variables = template_variables(con, Catalog(con), resolve_thresholds(
            warehouse, load_gates().thresholds), TODAY)
        by_gx = gx_runner.run_gx(con, gates, variables, Catalog(con), max_rows=10**12)
    finally:
        con.close()
    assert {r.name: (r.status, r.failing_rows, r.message, r.sample) for r in by_gx} == bounded
    # hand-known: the clean fixture's fct_sell_out has 36 rows, each gate's count is its table's
    assert bounded["gx_fct_sell_out"][2] == "ok: 7 expectations on 36 rows"


def test_gx_is_imported_only_for_a_table_with_rows_that_can_fail(warehouse,
                                                                 monkeypatch) -> None:
    """Clean data: every GX gate passes without importing GX. A planted bad row: GX judges
    that gate (the others still settle by SQL), it fails, and publishing is refused."""
    from quality.publish import publish

    imported: list[str] = []
    real = gx_runner._gx
    monkeypatch.setattr(gx_runner, "preload", lambda: imported.append("preload"))
    monkeypatch.setattr(gx_runner, "_gx", lambda: imported.append("gx") or real())
    clean = run_checks(warehouse, select=["gx"], today=TODAY)
    assert {r.status for r in clean.results} == {"pass"} and imported == []
    execute(warehouse, PLANTED_GX["gx_fct_sell_out"])
    report = run_checks(warehouse, today=TODAY)
    by_name = {r.name: r for r in report.results}
    assert imported == ["preload", "gx"]
    assert by_name["gx_fct_sell_out"].status == "fail"
    assert by_name["gx_fct_sell_out"].failing_rows == 2  # the two D2 rows of October
    assert "expect_column_values_to_not_be_null(product_id)" in by_name["gx_fct_sell_out"].message
    assert by_name["gx_fct_sell_in"].status == "pass"
    assert report.exit_code == 1
    refused = publish(warehouse)
    assert refused.outcome == "refused" and "gx_fct_sell_out" in refused.reason
