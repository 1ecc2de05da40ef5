"""run_matching end to end on the hand-written fixture: outcomes, IDs, sticky codes, idempotency."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date

import pytest

from matching.pipeline import customer_id_for, run_matching
from sfe.config import Settings
from sfe.warehouse import connect
from tests.matching.conftest import FLOW, RAW_PRODUCTS, create_raw_tables


def _map(settings: Settings) -> dict[tuple[str, str, str], dict]:
    with connect(settings) as con:
        frame = con.sql("select * from matching.customer_source_map").pl()
    return {(r["distributor_code"], r["buyer_code"], r["raw_name"]): r for r in frame.to_dicts()}


def _ids(settings: Settings) -> dict[str, str]:
    with connect(settings) as con:
        rows = con.execute("select crm_customer_id, customer_id from matching.customer_ids").fetchall()
    return dict(rows)


def test_every_auto_match_on_the_fixture_is_right_and_the_rest_is_not_guessed(warehouse: Settings) -> None:
    report = run_matching(warehouse)
    assert report.exit_code == 0
    rows = _map(warehouse)
    assert len(rows) == len(FLOW)
    for dist, code, name, _, truth in FLOW:
        row = rows[(dist, code, name)]
        if truth.startswith("D"):
            assert (row["buyer_kind"], row["buyer_distributor_code"]) == ("distributor", truth), name
        elif truth:
            assert (row["match_status"], row["crm_customer_id"]) == ("auto", truth), name
        else:
            assert row["match_status"] in ("review", "unmatched") and row["crm_customer_id"] is None, name


def test_ambiguous_name_goes_to_review_with_its_candidates(warehouse: Settings) -> None:
    run_matching(warehouse)
    row = _map(warehouse)[("D02", "", "第一人民医院药房")]
    assert row["match_status"] == "review"
    candidates = {c["crm_customer_id"] for c in json.loads(row["candidates"])}
    assert {"C003", "C004"} <= candidates
    evidence = json.loads(row["evidence"])
    assert evidence["margin"] < 0.05 and evidence["ordinal"] == "agree"


def test_evidence_says_which_features_agreed(warehouse: Settings) -> None:
    run_matching(warehouse)
    row = _map(warehouse)[("D01", "B1", "北医三院")]
    evidence = json.loads(row["evidence"])
    assert row["match_method"] == "fuzzy:alias_table"
    assert evidence["key"] == "alias_table" and evidence["distributor_city"] == "agree"


def test_products_map_with_unit_factors_and_unknown_ones_wait_in_review(warehouse: Settings) -> None:
    run_matching(warehouse)
    with connect(warehouse) as con:
        rows = con.execute("select raw_product, raw_spec, product_id, match_status, "
                           "box_factor_min_unit, box_factor_case from matching.product_source_map "
                           "where distributor_code = 'D01'").fetchall()
    got = {(r[0], r[1]): r[2:] for r in rows}
    for dist, name, spec, truth in RAW_PRODUCTS:
        if dist != "D01" or (name, spec) not in got:
            continue
        product_id, status, per_min, per_case = got[(name, spec)]
        if truth:
            assert (product_id, status) == (truth, "auto"), name
        else:
            assert (product_id, status, per_min) == (None, "review", None), name
    assert got[("阿莫西林胶囊", "0.25g*24粒")][2:] == (pytest.approx(1 / 24), 200.0)


def test_running_twice_gives_identical_tables(warehouse: Settings) -> None:
    run_matching(warehouse)
    first = _map(warehouse), _ids(warehouse)
    run_matching(warehouse)
    assert (_map(warehouse), _ids(warehouse)) == first


def test_customer_ids_survive_a_rebuild_from_scratch(warehouse: Settings) -> None:
    run_matching(warehouse)
    before = _ids(warehouse)
    shutil.rmtree(warehouse.warehouse_dir)
    with connect(warehouse) as con:
        create_raw_tables(con)
    run_matching(warehouse)
    assert _ids(warehouse) == before
    assert before["C001"] == customer_id_for("C001") and before["C001"].startswith("CU")


def test_customer_ids_do_not_move_when_a_new_month_and_customer_arrive(warehouse: Settings) -> None:
    run_matching(warehouse)
    before = _ids(warehouse)
    newcomer = ("C999", "苏州市立医院", "hospital", "三甲", "江苏省", "苏州市", "姑苏区", "苏州市姑苏区")
    from tests.matching.conftest import CUSTOMERS
    extra_flow = FLOW + [("D02", "", "苏州市立医院", "", "C999")]
    with connect(warehouse) as con:
        create_raw_tables(con, flow=extra_flow, snapshot=date(2026, 11, 30),
                          customers=CUSTOMERS + [newcomer])
    run_matching(warehouse)
    after = _ids(warehouse)
    assert {k: after[k] for k in before} == before
    assert after["C999"] == customer_id_for("C999")


def test_threshold_changes_never_renumber_customers(warehouse: Settings) -> None:
    run_matching(warehouse)
    before = _ids(warehouse)
    strict = replace(warehouse, thresholds=replace(warehouse.thresholds, match_auto_score=0.99))
    run_matching(strict)
    assert _ids(strict) == before


def test_a_matched_buyer_code_stays_matched_when_the_name_drifts(warehouse: Settings) -> None:
    run_matching(warehouse)
    assert _map(warehouse)[("D02", "S2", "苏州市一院")]["crm_customer_id"] == "C003"
    drifted = [f if f[1] != "S2" else ("D02", "S2", "一院门诊", "", "C003") for f in FLOW]
    with connect(warehouse) as con:
        create_raw_tables(con, flow=drifted)
    run_matching(warehouse)
    row = _map(warehouse)[("D02", "S2", "一院门诊")]
    assert (row["crm_customer_id"], row["match_status"], row["match_method"]) == (
        "C003", "auto", "sticky_code")
    assert json.loads(row["evidence"])["sticky"]["fresh_status"] != "auto"


def test_a_code_keeps_its_match_for_new_spellings_in_the_same_run(warehouse: Settings) -> None:
    flow = FLOW + [("D02", "S1", "一院(十梓街)", "", "C003")]
    with connect(warehouse) as con:
        create_raw_tables(con, flow=flow)
    run_matching(warehouse)
    row = _map(warehouse)[("D02", "S1", "一院(十梓街)")]
    assert (row["crm_customer_id"], row["match_method"]) == ("C003", "buyer_code")


def test_no_master_means_a_clear_error_not_empty_tables(settings: Settings) -> None:
    report = run_matching(settings)
    assert report.exit_code == 1 and "master/customers.csv" in report.summary()


def test_tender_hospitals_and_bidders_are_matched(warehouse: Settings) -> None:
    import polars as pl

    tenders = pl.DataFrame({
        "file_id": [9, 9, 9], "source_row": [2, 3, 4], "sheet": [None, None, None],
        "province": ["江苏省", "江苏省", "北京市"], "tender_name": ["江苏省集采"] * 3,
        "generic_name": ["阿托伐他汀钙片"] * 3, "spec": ["20mg*14片"] * 3,
        "bidder": ["华康制药有限公司", "辉瑞制药有限公司", "华康制药"],
        "result": ["中标", "未中标", "中标"], "hospital_name": ["苏州市一院", "第一人民医院", "北医三院"]})
    with connect(warehouse) as con:
        con.register("_t", tenders.to_arrow())
        con.execute("create table raw.tenders__results as select * from _t")
    report = run_matching(warehouse)
    rows = _map(warehouse)
    assert rows[("江苏省", "", "苏州市一院")]["crm_customer_id"] == "C003"
    assert rows[("江苏省", "", "第一人民医院")]["match_status"] == "review"  # 苏州 or 无锡
    assert rows[("北京市", "", "北医三院")]["crm_customer_id"] == "C001"
    assert report.customer_by_source["tender"]["auto"] == 2
    with connect(warehouse) as con:
        own = dict(con.execute("select bidder, is_own_company from matching.bidder_map").fetchall())
    assert own == {"华康制药有限公司": True, "华康制药": True, "辉瑞制药有限公司": False}


def test_sticky_codes_survive_a_warehouse_rebuild(warehouse: Settings) -> None:
    run_matching(warehouse)
    shutil.rmtree(warehouse.warehouse_dir)
    drifted = [f if f[1] != "S2" else ("D02", "S2", "一院门诊", "", "C003") for f in FLOW]
    with connect(warehouse) as con:
        create_raw_tables(con, flow=drifted)
    run_matching(warehouse)
    assert _map(warehouse)[("D02", "S2", "一院门诊")]["match_method"] == "sticky_code"


# One distributor code written for two buyers (a reused or mis-keyed code, as SC02's C044222 on
# the generated seed 1): '湘雅二院' is C011 by the alias table, '长沙市第一医院' is letter for
# letter C012's official name. Each name keeps its own customer, on every run.
REUSED_CODE = FLOW + [("D03", "K1", "湘雅二院", "", "C011"), ("D03", "K1", "长沙市第一医院", "", "C012")]


def _sticky(settings: Settings) -> list[tuple]:
    with connect(settings) as con:
        return con.execute("select * from matching.sticky_keys order by all").fetchall()


def test_a_code_reused_for_two_buyers_gives_the_same_map_on_the_second_run(warehouse: Settings) -> None:
    with connect(warehouse) as con:
        create_raw_tables(con, flow=REUSED_CODE)
    run_matching(warehouse)
    first, sticky = _map(warehouse), _sticky(warehouse)
    assert first[("D03", "K1", "湘雅二院")]["crm_customer_id"] == "C011"
    assert first[("D03", "K1", "长沙市第一医院")]["crm_customer_id"] == "C012"
    report = run_matching(warehouse)  # nothing new
    assert _map(warehouse) == first and _sticky(warehouse) == sticky
    assert report.sticky_applied == 0


def test_a_sticky_code_does_not_take_a_later_exact_name_of_another_customer(warehouse: Settings) -> None:
    with connect(warehouse) as con:
        create_raw_tables(con, flow=REUSED_CODE[:-1])  # run 1: K1 is '湘雅二院' only: sticky C011
    run_matching(warehouse)
    assert ("flow", "D03", "K1", "C011", "auto") in _sticky(warehouse)
    with connect(warehouse) as con:
        create_raw_tables(con, flow=REUSED_CODE)  # the code comes back with C012's official name
    run_matching(warehouse)
    second, sticky = _map(warehouse), _sticky(warehouse)
    row = second[("D03", "K1", "长沙市第一医院")]
    assert (row["crm_customer_id"], row["match_method"]) == ("C012", "exact_name")
    assert second[("D03", "K1", "湘雅二院")]["crm_customer_id"] == "C011"
    run_matching(warehouse)
    assert _map(warehouse) == second and _sticky(warehouse) == sticky


def test_a_second_build_with_nothing_new_is_up_to_date(warehouse: Settings, monkeypatch) -> None:
    """`sfe build` twice on the reused-code fixture: the second one runs no dbt (dbt replaced by
    a recorder: the point is matching's part of the build's inputs fingerprint)."""
    import transform.build as build_module
    from ingestion.ddl import ensure_tables
    from orchestration.build import build_step

    calls: list[str] = []

    def fake_run_dbt(settings, command, select, console, report, extra_vars=None):
        calls.append(command)
        results = settings.dbt_target_dir / "target" / "run_results.json"
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text("{}", encoding="utf-8")

    monkeypatch.setattr(build_module, "run_dbt", fake_run_dbt)
    with connect(warehouse) as con:
        ensure_tables(con)  # the file registry, part of what the build compares
        create_raw_tables(con, flow=REUSED_CODE)
    assert not build_step(warehouse).up_to_date and calls
    calls.clear()
    report = build_step(warehouse)
    assert report.up_to_date and calls == [], report.summary()
