"""客户匹配 Matching page: review queue, decisions through matching.stewardship, audit log."""

from __future__ import annotations

import getpass

import duckdb
import polars as pl
import pytest

from matching import stewardship
from tests.dashboards.conftest import add_user, assert_readable_tables, table_with


@pytest.fixture
def fake_stewardship(monkeypatch):
    """matching.stewardship's queue and decisions replaced by in-memory stand-ins that keep
    its contract (a polars queue, StewardDecision records)."""
    recorded: list[dict] = []

    def review_queue(settings, db_path=None):
        return pl.DataFrame([{
            "source": "flow", "distributor_code": "D001", "buyer_code": "B-77",
            "raw_name": "上海一院", "match_score": 0.82, "match_status": "review",
            "candidates": '[{"crm_customer_id": "C1", "name": "上海市第一人民医院", "score": 0.82}]',
            "pending_decision": None}])

    def record_decision(settings, kind, **kw):
        recorded.append({"kind": kind, **kw})

    def read_decisions(settings):
        return [stewardship.StewardDecision(decision_id=f"d{i}", at="2026-11-20T08:00:00",
                                            **{"crm_customer_id": None, "why": "", **r})
                for i, r in enumerate(recorded)]

    for name, fake in (("review_queue", review_queue), ("record_decision", record_decision),
                       ("read_decisions", read_decisions)):
        monkeypatch.setattr(stewardship, name, fake)
    return recorded


def test_matching_page_shows_queue_with_candidates(published, open_page, fake_stewardship):
    at = open_page("match_review")
    queue = table_with(at, "candidates")
    assert queue.iloc[0]["raw_name"] == "上海一院"
    assert "C1" in queue.iloc[0]["candidates"]
    assert at.text_input(key="crm_0").value == "C1"  # top candidate suggested


def test_matching_page_records_a_confirm_decision_as_the_local_account(published, open_page,
                                                                       fake_stewardship):
    """Login off, bound to 127.0.0.1: the decision is the local account's, not a typed name."""
    at = open_page("match_review")
    assert not [t for t in at.text_input if t.key == "who"]  # nobody types who they are
    at.text_input(key="why_0").input("same hospital, abbreviated")
    at.button[0].click().run()
    assert fake_stewardship == [{
        "kind": "confirm", "source": "flow", "distributor_code": "D001", "buyer_code": "B-77",
        "raw_name": "上海一院", "crm_customer_id": "C1", "who": f"local:{getpass.getuser()}",
        "why": "same hospital, abbreviated"}]
    assert any("next build" in s.value for s in at.success)
    log = table_with(at, "who")
    assert list(log["kind"]) == ["确认 Confirm suggested match"]  # the decision in words


def test_matching_page_refuses_anonymous_writes_when_reachable_from_other_machines(
        published, open_page, fake_stewardship):
    """Login off and listening on every interface: no data and no decision form."""
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")
    at = open_page("match_review")
    assert not at.button and not at.dataframe
    assert any("other interfaces" in e.value for e in at.error)
    assert fake_stewardship == []


@pytest.mark.parametrize("role", ["analyst", "sales_ops", "executive"])
def test_matching_page_only_a_steward_records_decisions(published, open_page, fake_stewardship,
                                                       monkeypatch, role):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "someone", role, password=None)
    at = open_page("match_review", user="someone")
    assert table_with(at, "candidates").iloc[0]["raw_name"] == "上海一院"  # sees the queue
    assert not at.button  # but cannot decide
    assert any("steward" in i.value for i in at.info)


def test_matching_page_records_the_signed_in_steward(published, open_page, fake_stewardship,
                                                    monkeypatch):
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "wang.steward", "steward", password=None)
    at = open_page("match_review", user="wang.steward")
    at.button[0].click().run()
    assert [d["who"] for d in fake_stewardship] == ["wang.steward"]


def test_matching_page_without_the_stewards_queue_table_reads_the_snapshots_marts(
        published, open_page):
    """A snapshot without matching.customer_source_map (older builds): the page says so, shows
    the `review` rows of marts.map_customer_source, and offers no decisions."""
    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    con.execute("drop table matching.customer_source_map")
    con.close()
    at = open_page("match_review")
    assert any("matching.customer_source_map" in w.value for w in at.warning)
    queue = table_with(at, "raw_name")
    assert list(queue["raw_name"]) == ["广州人民医院", "上海一院", "鼓楼医院"]  # by amount at stake
    assert not at.button  # read-only: no decisions without the stewards' queue


def test_matching_page_uses_the_real_stewardship_module_on_the_snapshot(published, open_page):
    """matching.stewardship.review_queue reads matching.customer_source_map of the snapshot;
    a decision lands in the append-only decisions file and shows in the log."""
    pytest.importorskip("matching.stewardship")
    at = open_page("match_review")
    queue = table_with(at, "candidates")
    assert list(queue["raw_name"]) == ["广州人民医院", "上海一院", "鼓楼医院"]
    at.button[0].click().run()  # the first (largest) item, its clear best candidate C3
    assert not at.exception
    log = (published / "stewardship" / "decisions.jsonl").read_text(encoding="utf-8")
    assert log.count("广州人民医院") == 1 and '"C3"' in log
    assert list(table_with(at, "who")["raw_name"]) == ["广州人民医院"]


def test_review_queue_is_ordered_by_the_sell_out_at_stake(published, open_page):
    """Match scores say 上海一院 .82 > 广州人民医院 .80 > 鼓楼医院 .75; the money at stake
    (map_customer_review) says 12,000 > 1,500 > 300, and the money decides the order."""
    pytest.importorskip("matching.stewardship")
    at = open_page("match_review")
    queue = table_with(at, "candidates")
    assert list(queue["raw_name"]) == ["广州人民医院", "上海一院", "鼓楼医院"]
    assert list(queue["sell_out_amount"]) == [12000, 1500, 300]
    assert "¥13,800" in [m.value for m in at.metric]


def test_review_queue_shows_candidate_addresses_and_the_evidence(published, open_page):
    pytest.importorskip("matching.stewardship")
    at = open_page("match_review")
    # the chosen (first) name's evidence, under its candidates; the queue's is in its download
    evidence = [c.value for c in at.caption if "依据 Evidence" in c.value]
    assert "名称相似度 Name similarity: 0.80" in evidence[0]
    assert "市 City: 一致 agrees" in evidence[0]
    cands = table_with(at, "address").set_index("crm_customer_id")
    assert cands.loc["C3", "address"] == "中山二路1号" and cands.loc["C3", "city"] == "广州"


def test_tied_candidates_preselect_nothing(published, open_page):
    """鼓楼医院: Nanjing's and Fuzhou's 鼓楼医院 both score .75; confirming the first listed
    would be a coin toss, so no decision and no id are filled in."""
    pytest.importorskip("matching.stewardship")
    at = open_page("match_review")
    at.selectbox(key="item").set_value(2).run()
    assert at.radio(key="kind_2").value is None
    assert at.text_input(key="crm_2").value == ""
    assert any("score the same" in w.value for w in at.warning)
    cands = table_with(at, "address").set_index("crm_customer_id")
    assert set(cands["province"]) == {"江苏", "福建"}
    at.button[0].click().run()  # saving without choosing records nothing
    assert not (published / "stewardship" / "decisions.jsonl").exists()
    assert any("Choose a decision" in e.value for e in at.error)


def test_a_broken_decisions_file_is_a_message_not_a_traceback(published, open_page):
    pytest.importorskip("matching.stewardship")
    path = published / "stewardship" / "decisions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"kind": "confirm"\n', encoding="utf-8")
    at = open_page("match_review")  # open_page asserts no exception
    errors = " ".join(e.value for e in at.error)
    assert "decisions.jsonl" in errors and "line 1" in errors
    assert not at.button  # nothing can be recorded until the file is fixed
    assert list(table_with(at, "raw_name")["raw_name"])[0] == "广州人民医院"  # queue still shown


def test_review_queue_labels_every_column_and_shows_no_none(published, open_page):
    """No name in the fixture has a pending decision: that column reads '—', not None."""
    at = open_page("match_review")
    queue = table_with(at, "pending_decision")
    assert set(queue["pending_decision"]) == {"—"}
    assert_readable_tables(at)


def test_the_queue_shows_names_beside_codes(published, open_page, fake_stewardship):
    """Distributor D001 is 上海医药分销 (dim_distributor); the candidate C1 is named by the
    matcher; the buyer's name as the distributor wrote it stays first."""
    at = open_page("match_review")
    row = table_with(at, "candidates").iloc[0]
    assert row["raw_name"] == "上海一院"
    assert row["distributor_code"] == "上海医药分销 (D001)"
    assert row["candidates"] == "上海市第一人民医院 (C1) 0.82"
    assert at.selectbox(key="item").options == ["上海一院 · 上海医药分销 (D001) · ¥1,500"]
    at.button[0].click().run()  # confirm C1: the log names them too
    log = table_with(at, "who").iloc[0]
    assert log["distributor_code"] == "上海医药分销 (D001)"
    assert log["crm_customer_id"] == "上海市第一人民医院 (C1)"  # dim_customer_address
