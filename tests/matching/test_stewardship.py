"""Steward decisions: recorded with who/when/why, applied on the next run, never lost by a rebuild."""

from __future__ import annotations

import json
import shutil

import pytest

from matching.pipeline import customer_id_for, run_matching
from matching.stewardship import (DecisionError, decisions_path, new_customer_key, read_decisions,
                                  record_decision, review_queue)
from sfe.config import Settings
from sfe.warehouse import connect
from tests.matching.conftest import create_raw_tables


def _row(settings: Settings, dist: str, code: str, name: str) -> dict:
    with connect(settings) as con:
        frame = con.sql("select * from matching.customer_source_map where distributor_code = $d "
                        "and buyer_code = $c and raw_name = $n", params={"d": dist, "c": code, "n": name}).pl()
    return frame.to_dicts()[0]


def test_review_queue_lists_review_rows_with_candidates(warehouse: Settings) -> None:
    run_matching(warehouse)
    queue = review_queue(warehouse)
    assert "第一人民医院药房" in queue["raw_name"].to_list()
    first = queue.filter(queue["raw_name"] == "第一人民医院药房").to_dicts()[0]
    assert json.loads(first["candidates"])[0]["crm_customer_id"] in {"C003", "C004"}
    assert first["pending_decision"] is None
    with_unmatched = review_queue(warehouse, include_unmatched=True)
    assert with_unmatched.height > queue.height


def test_confirm_is_applied_on_the_next_run_and_survives_a_full_rebuild(warehouse: Settings) -> None:
    run_matching(warehouse)
    record_decision(warehouse, "confirm", source="flow", distributor_code="D02", buyer_code="",
                    raw_name="第一人民医院药房", crm_customer_id="C003", who="li.na",
                    why="called the pharmacy: it is 苏州市第一人民医院")
    assert review_queue(warehouse).filter(
        review_queue(warehouse)["raw_name"] == "第一人民医院药房")["pending_decision"].to_list() == ["confirm"]
    run_matching(warehouse)
    row = _row(warehouse, "D02", "", "第一人民医院药房")
    assert (row["match_status"], row["crm_customer_id"], row["match_method"]) == (
        "manual", "C003", "steward:confirm")
    shutil.rmtree(warehouse.warehouse_dir)  # the warehouse goes; the decisions file stays
    with connect(warehouse) as con:
        create_raw_tables(con)
    run_matching(warehouse)
    assert _row(warehouse, "D02", "", "第一人民医院药房")["crm_customer_id"] == "C003"


def test_reject_removes_a_wrong_auto_match_and_its_candidate(warehouse: Settings) -> None:
    run_matching(warehouse)
    record_decision(warehouse, "reject", source="flow", distributor_code="D01", buyer_code="",
                    raw_name="协和医院门诊药房", crm_customer_id="C002", who="wang.fang", why="wrong")
    run_matching(warehouse)
    row = _row(warehouse, "D01", "", "协和医院门诊药房")
    assert (row["match_status"], row["crm_customer_id"]) == ("review", None)
    assert "C002" not in {c["crm_customer_id"] for c in json.loads(row["candidates"])}


def test_remap_overrides_a_sticky_code(warehouse: Settings) -> None:
    run_matching(warehouse)
    record_decision(warehouse, "remap", source="flow", distributor_code="D02", buyer_code="S2",
                    raw_name="苏州市一院", crm_customer_id="C005", who="li.na", why="code reused")
    run_matching(warehouse)
    assert _row(warehouse, "D02", "S2", "苏州市一院")["crm_customer_id"] == "C005"
    run_matching(warehouse)  # and the remap is now what sticks
    assert _row(warehouse, "D02", "S2", "苏州市一院")["match_status"] == "manual"


def test_new_customer_gets_a_stable_key_and_customer_id(warehouse: Settings) -> None:
    run_matching(warehouse)
    decision = record_decision(warehouse, "new_customer", source="flow", distributor_code="D03",
                               raw_name="某某诊所", who="zhao.lei", why="private clinic, not in CRM")
    key = new_customer_key("flow", "D03", "", "某某诊所")
    assert decision.crm_customer_id == key
    run_matching(warehouse)
    assert _row(warehouse, "D03", "", "某某诊所")["crm_customer_id"] == key
    with connect(warehouse) as con:
        ids = dict(con.execute("select crm_customer_id, customer_id from matching.customer_ids").fetchall())
    assert ids[key] == customer_id_for(key)


def test_the_latest_decision_for_a_name_wins(warehouse: Settings) -> None:
    for crm in ("C004", "C003"):
        record_decision(warehouse, "remap", source="flow", distributor_code="D02", buyer_code="",
                        raw_name="第一人民医院药房", crm_customer_id=crm, who="li.na")
    run_matching(warehouse)
    assert _row(warehouse, "D02", "", "第一人民医院药房")["crm_customer_id"] == "C003"


def test_decisions_are_stored_with_who_when_and_why(settings: Settings) -> None:
    record_decision(settings, "confirm", source="tender", distributor_code="江苏省",
                    raw_name="苏州一院", crm_customer_id="C003", who="li.na", why="same hospital")
    stored = json.loads(decisions_path(settings).read_text(encoding="utf-8").splitlines()[0])
    assert set(stored) == {"decision_id", "kind", "source", "distributor_code", "buyer_code",
                           "raw_name", "crm_customer_id", "who", "at", "why"}
    assert read_decisions(settings)[0].who == "li.na"


@pytest.mark.parametrize(("kind", "crm", "who", "message"), [
    ("approve", "C001", "li", "not one of"),
    ("confirm", None, "li", "needs the crm_customer_id"),
    ("remap", "C001", " ", "needs 'who'"),
])
def test_bad_decisions_are_refused_with_a_reason(settings: Settings, kind: str, crm: str | None,
                                                 who: str, message: str) -> None:
    with pytest.raises(DecisionError, match=message):
        record_decision(settings, kind, source="flow", distributor_code="D01", raw_name="x",
                        crm_customer_id=crm, who=who)


def test_a_half_written_last_line_fails_naming_the_file_and_line(settings: Settings) -> None:
    record_decision(settings, "confirm", source="flow", distributor_code="D01", raw_name="x",
                    crm_customer_id="C001", who="li")
    with decisions_path(settings).open("a", encoding="utf-8") as fh:
        fh.write('{"decision_id": "abc", "kind": "conf')
    with pytest.raises(DecisionError) as err:
        read_decisions(settings)
    assert f"{decisions_path(settings)} line 2:" in str(err.value)
    assert "not one complete JSON object" in str(err.value)


def test_product_review_queue_lists_unknown_products(warehouse: Settings) -> None:
    from matching.stewardship import product_review_queue

    run_matching(warehouse)
    queue = product_review_queue(warehouse)
    assert set(queue["raw_product"].to_list()) == {"不知名药品"}


def test_a_confirm_after_a_reject_of_the_same_customer_wins(warehouse: Settings) -> None:
    for kind in ("reject", "confirm"):
        record_decision(warehouse, kind, source="flow", distributor_code="D02", buyer_code="",
                        raw_name="第一人民医院药房", crm_customer_id="C004", who="li.na")
    run_matching(warehouse)
    assert _row(warehouse, "D02", "", "第一人民医院药房")["crm_customer_id"] == "C004"


def test_a_decision_for_an_unknown_customer_fails_the_run_naming_line_and_field(
        warehouse: Settings) -> None:
    record_decision(warehouse, "confirm", source="flow", distributor_code="D02",
                    raw_name="第一人民医院药房", crm_customer_id="C003", who="li.na")
    with decisions_path(warehouse).open("a", encoding="utf-8") as fh:  # a hand edit
        fh.write(json.dumps({**json.loads(decisions_path(warehouse).read_text(encoding="utf-8")),
                             "kind": "remap", "crm_customer_id": "C404"}) + "\n")
    with pytest.raises(DecisionError) as err:
        run_matching(warehouse)
    assert f"{decisions_path(warehouse)} line 2, field 'crm_customer_id'" in str(err.value)
    assert "'C404' is in no customer master snapshot" in str(err.value)


def test_a_product_decision_maps_an_unknown_product_with_its_unit_factors(warehouse: Settings) -> None:
    from matching.stewardship import product_review_queue, record_product_decision

    run_matching(warehouse)
    record_product_decision(warehouse, distributor_code="D01", raw_product="不知名药品", raw_spec="1g",
                            product_id="P02", who="li.na", why="the distributor's own name for 阿莫仙")
    shutil.rmtree(warehouse.warehouse_dir)  # decisions live outside the warehouse
    with connect(warehouse) as con:
        create_raw_tables(con)
    run_matching(warehouse)
    with connect(warehouse) as con:
        row = con.execute("select product_id, match_status, match_method, box_factor_case "
                          "from matching.product_source_map where distributor_code = 'D01' "
                          "and raw_product = '不知名药品'").fetchall()[0]
    assert row == ("P02", "manual", "steward:product", 300.0)
    assert "D01" not in product_review_queue(warehouse)["distributor_code"].to_list()
