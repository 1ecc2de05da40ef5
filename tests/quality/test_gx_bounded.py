"""Great Expectations on a bounded frame: the rows that can fail plus a sample of the others
give the same statuses, failing rows, samples and messages as the whole tables."""

from __future__ import annotations

import pytest

from quality import gx_runner
from quality.gates import run_checks
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


def test_bounded_frames_pass_clean_tables_and_count_all_their_rows(warehouse,
                                                                  monkeypatch) -> None:
    whole, _ = _results(warehouse, monkeypatch, 10**12)
    bounded, frames = _results(warehouse, monkeypatch, 1)
    assert bounded == whole
    assert all(status == "pass" for status, *_ in bounded.values())
    assert max(frames.values()) == 1
