"""Great Expectations checkpoints over frames fetched from DuckDB.

GX takes ~11 s to import: these tests share one worker (xdist group 'gx') so it is imported once.
"""

from __future__ import annotations

import json

import pytest

from quality.definitions import load_gates
from quality.gates import run_checks
from tests.quality.conftest import TODAY, execute

pytestmark = pytest.mark.xdist_group("gx")

PLANTED_GX = {
    "gx_fct_sell_out": "update marts.fct_sell_out set product_id = null "
                       "where month = '2026-10' and distributor_code = 'D2'",
    "gx_fct_sell_in": "update marts.fct_sell_in set qty_boxes = 5e6 "
                      "where month = '2026-07' and distributor_code = 'D1' and product_id = 'P1'",
    "gx_staged_flow": "update raw.flow__lines set unit = '瓶' where source_row = 3",
    # rate bounds are kpi_rates_out_of_bounds' (declared in the marts' yml), not GX's
    "gx_kpi_coverage": "update marts.kpi_coverage set territory_id = null where month = '2026-09'",
    "gx_kpi_flow_completeness": "update marts.kpi_flow_completeness set month = null "
                                "where month = '2026-06' and distributor_code = 'D3'",
}


def test_every_gx_gate_has_a_planted_case() -> None:
    assert {g.name for g in load_gates().gates if g.type == "gx"} == set(PLANTED_GX)


def test_gx_gates_quiet_on_clean_data_and_fire_on_planted_bad_data(warehouse) -> None:
    clean = run_checks(warehouse, select=["gx"], today=TODAY)
    assert {r.name: r.status for r in clean.results} == {n: "pass" for n in PLANTED_GX}, \
        [r.message for r in clean.results]
    for sql in PLANTED_GX.values():
        execute(warehouse, sql)
    bad = run_checks(warehouse, select=["gx"], today=TODAY)
    by_name = {r.name: r for r in bad.results}
    assert {n: r.status for n, r in by_name.items()} == {n: "fail" for n in PLANTED_GX}
    assert by_name["gx_fct_sell_out"].failing_rows == 2
    assert "expect_column_values_to_not_be_null(product_id)" in by_name["gx_fct_sell_out"].message
    assert by_name["gx_fct_sell_out"].sample[0]["distributor_code"] == "D2"
    assert by_name["gx_staged_flow"].sample[0]["unit"] == "瓶"
    assert by_name["gx_kpi_coverage"].failing_rows == 1
    assert bad.exit_code == 1


def test_sfe_check_json_keeps_gx_noise_off_the_terminal(warehouse, capsys) -> None:
    from orchestration import cli

    code = cli.main(["check", "--json", "--data-dir", str(warehouse.data_dir)])
    out = capsys.readouterr()
    payload = json.loads(out.out)  # stdout is exactly one JSON object
    assert code == payload["exit_code"] == 0, payload
    assert {c["name"] for c in payload["checks"]} == {g.name for g in load_gates().gates}
    assert "Calculating Metrics" not in out.err
    assert "INFO" not in out.err and "great_expectations" not in out.err
