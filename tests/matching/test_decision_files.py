"""Steward decision files are validated line by line on load, and appended safely.

A bad line (misspelt kind, unknown id, broken JSON, wrong field) fails the build with exit 2
naming the file, the line and the field; nothing is skipped or silently remapped. Appends start
on a fresh line and hold a lock, so two stewards saving at once both land.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matching.pipeline import run_matching
from matching.stewardship import (PRODUCT_DECISIONS_FILE, DecisionError, decisions_path,
                                  read_decisions, read_product_decisions, read_sticky_keys,
                                  record_decision, record_product_decision)
from orchestration import cli
from sfe.config import PROJECT_ROOT, Settings
from sfe.report import EXIT_USAGE
from sfe.warehouse import connect

GOOD = {"decision_id": "d1", "kind": "confirm", "source": "flow", "distributor_code": "D02",
        "buyer_code": "", "raw_name": "第一人民医院药房", "crm_customer_id": "C003", "who": "li.na",
        "at": "2026-11-02T09:00:00+00:00", "why": "called them"}
GOOD_PRODUCT = {"decision_id": "p1", "distributor_code": "D03", "raw_product": "不知名药品",
                "raw_spec": "1g", "product_id": "P02", "who": "li.na",
                "at": "2026-11-02T09:00:00+00:00", "why": ""}


def _write(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _line(**changes: object) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False)


def _product_line(**changes: object) -> str:
    return json.dumps({**GOOD_PRODUCT, **changes}, ensure_ascii=False)


def _product_path(settings: Settings) -> Path:
    return settings.stewardship_dir / PRODUCT_DECISIONS_FILE


def test_a_misspelt_kind_is_an_error_not_a_remap(warehouse: Settings) -> None:
    _write(decisions_path(warehouse), _line(), _line(decision_id="d2", kind="rejcet"))
    with pytest.raises(DecisionError) as err:
        run_matching(warehouse)
    message = str(err.value)
    assert f"{decisions_path(warehouse)} line 2, field 'kind'" in message
    assert "'rejcet' is not one of confirm, reject, remap, new_customer" in message
    with connect(warehouse) as con:  # the run stopped before replacing any matching table
        assert con.execute("select count(*) from information_schema.tables "
                           "where table_schema = 'matching'").fetchone() == (0,)


@pytest.mark.parametrize(("line", "field", "says"), [
    (_line(source="flwo"), "source", "'flwo' is not one of flow, tender"),
    (_line(raw_name="  "), "raw_name", "must be a non-empty text"),
    (_line(distributor_code=None), "distributor_code", "must be a non-empty text, not null"),
    (_line(who=""), "who", "needs 'who'"),
    (_line(at="yesterday"), "at", "is not an ISO date-time"),
    (_line(kind="remap", crm_customer_id=None), "crm_customer_id", "needs the crm_customer_id"),
    (_line(crm_customer_id=3), "crm_customer_id", "needs the crm_customer_id it is about (got 3)"),
    (_line(kind="new_customer", crm_customer_id=3), "crm_customer_id", "must be a non-empty text, not 3"),
    (_line(buyer_code=17), "buyer_code", "must be a text, not 17"),
    (_line(crm_custmer_id="C003"), "crm_custmer_id", "unknown field"),
])
def test_a_malformed_customer_decision_names_line_and_field(settings: Settings, line: str,
                                                            field: str, says: str) -> None:
    _write(decisions_path(settings), _line(), line, _line(decision_id="d3"))
    with pytest.raises(DecisionError) as err:
        read_decisions(settings)
    assert f"line 2, field '{field}': " in str(err.value)
    assert says in str(err.value)


@pytest.mark.parametrize(("line", "says"), [
    ('{"decision_id": "d2", "kind": "confirm", "source": "flow"', "is not one complete JSON object"),
    ('["confirm", "C003"]', "is JSON but not an object"),
    ("confirm C003 第一人民医院药房", "is not one complete JSON object"),
])
def test_a_line_that_is_not_one_json_object_is_an_error(settings: Settings, line: str,
                                                        says: str) -> None:
    _write(decisions_path(settings), _line(), line)
    with pytest.raises(DecisionError, match=f"line 2: {says}"):
        read_decisions(settings)


def test_every_bad_line_is_listed_not_only_the_first(settings: Settings) -> None:
    _write(decisions_path(settings), _line(kind="rejcet"), _line(), "{", _line(source="x"))
    with pytest.raises(DecisionError) as err:
        read_decisions(settings)
    assert "line 1, field 'kind'" in str(err.value)
    assert "more problems on line(s) 3, 4" in str(err.value)


def test_blank_lines_and_a_hand_written_new_customer_without_id_are_read(settings: Settings) -> None:
    _write(decisions_path(settings), "", _line(kind="new_customer", crm_customer_id=None,
                                               buyer_code=None, why=None), "   ")
    [decision] = read_decisions(settings)
    # the key record_decision would have given it: NEW- + sha1("flow|D02||第一人民医院药房")[:10]
    assert (decision.crm_customer_id, decision.buyer_code, decision.why) == ("NEW-C93B27933E", "", "")


def test_a_malformed_build_exits_2_with_one_line_and_no_traceback(
        warehouse: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    _write(decisions_path(warehouse), _line(), "{not json", _line(decision_id="d3"))
    code = cli.main(["build", "--json", "--data-dir", str(warehouse.data_dir)])
    out = capsys.readouterr()
    assert code == EXIT_USAGE
    payload = json.loads(out.out)
    assert payload["exit_code"] == EXIT_USAGE
    assert f"{decisions_path(warehouse)} line 2" in payload["error"]
    assert "Traceback" not in out.err
    assert [line for line in out.err.splitlines() if line.startswith("sfe build:")] == [
        f"sfe build: {payload['error']}"]


def test_a_malformed_product_decision_fails_instead_of_being_skipped(warehouse: Settings) -> None:
    _write(_product_path(warehouse), _product_line(), '{"decision_id": "p2", "distributor_code": ')
    with pytest.raises(DecisionError, match=r"product_decisions\.jsonl line 2: "):
        run_matching(warehouse)


@pytest.mark.parametrize(("line", "field"), [
    (_product_line(raw_product=""), "raw_product"),
    (_product_line(product_id=""), "product_id"),
    (_product_line(product_id=2), "product_id"),
    (_product_line(productid="P02"), "productid"),
    (_product_line(who=None), "who"),
])
def test_a_malformed_product_decision_names_line_and_field(settings: Settings, line: str,
                                                           field: str) -> None:
    _write(_product_path(settings), _product_line(), line)
    with pytest.raises(DecisionError, match=f"line 2, field '{field}'"):
        read_product_decisions(settings)


def test_a_product_decision_for_an_unknown_product_fails_the_run(warehouse: Settings) -> None:
    _write(_product_path(warehouse), _product_line(product_id="P99"))
    with pytest.raises(DecisionError) as err:
        run_matching(warehouse)
    assert "line 1, field 'product_id': 'P99' is not in the product master" in str(err.value)


def test_a_replaced_product_decision_may_name_a_retired_product(settings: Settings) -> None:
    _write(_product_path(settings), _product_line(product_id="P99"),
           _product_line(decision_id="p2", product_id=None))
    decisions = read_product_decisions(settings, known_products={"P01", "P02"})
    assert [d.product_id for d in decisions.values()] == [None]


def test_recording_refuses_a_malformed_raw_name_key(settings: Settings) -> None:
    with pytest.raises(DecisionError, match="raw_name must be a non-empty text"):
        record_decision(settings, "confirm", source="flow", distributor_code="D01", raw_name=" ",
                        crm_customer_id="C001", who="li")
    with pytest.raises(DecisionError, match="source 'crm' is not one of flow, tender"):
        record_decision(settings, "confirm", source="crm", distributor_code="D01", raw_name="x",
                        crm_customer_id="C001", who="li")
    with pytest.raises(DecisionError, match="raw_product must be a non-empty text"):
        record_product_decision(settings, distributor_code="D01", raw_product="", product_id="P01",
                                who="li")
    assert not decisions_path(settings).exists()
    assert not _product_path(settings).exists()


def test_an_append_after_a_last_line_without_newline_keeps_both(warehouse: Settings) -> None:
    path = decisions_path(warehouse)
    path.parent.mkdir(parents=True)
    path.write_text(_line(kind="remap", crm_customer_id="C004"), encoding="utf-8")  # no "\n"
    record_decision(warehouse, "reject", source="flow", distributor_code="D01",
                    raw_name="协和医院门诊药房", crm_customer_id="C002", who="wang.fang")
    assert [d.kind for d in read_decisions(warehouse)] == ["remap", "reject"]
    report = run_matching(warehouse)
    assert report.decisions_applied == 2


def test_a_product_append_after_a_last_line_without_newline_keeps_both(settings: Settings) -> None:
    path = _product_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text(_product_line(), encoding="utf-8")
    record_product_decision(settings, distributor_code="D01", raw_product="阿莫仙", product_id="P02",
                            who="li")
    assert len(read_product_decisions(settings)) == 2


_APPEND = """
import sys
from pathlib import Path
from matching.stewardship import record_decision
from sfe.config import load_settings
settings = load_settings(env={{}}, data_dir=Path(sys.argv[1]))
for i in range({count}):
    record_decision(settings, "confirm", source="flow", distributor_code=sys.argv[2],
                    raw_name=f"name {{i}}", crm_customer_id="C001", who=sys.argv[2])
"""


def _stewards(settings: Settings, count: int, *names: str) -> list[subprocess.Popen[bytes]]:
    code = _APPEND.format(count=count)
    return [subprocess.Popen([sys.executable, "-c", code, str(settings.data_dir), name],
                             cwd=PROJECT_ROOT, stderr=subprocess.PIPE) for name in names]


def _finish(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


def test_an_append_waits_for_the_lock_another_steward_holds(settings: Settings) -> None:
    path = decisions_path(settings)
    path.parent.mkdir(parents=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        [proc] = _stewards(settings, 1, "D09")
        time.sleep(3)  # long enough for the child to start and reach the append
        assert proc.poll() is None, "the append did not wait for the lock"
        assert not path.exists() or path.read_text(encoding="utf-8") == ""
        fcntl.flock(lock, fcntl.LOCK_UN)
    _finish([proc])
    assert [d.distributor_code for d in read_decisions(settings)] == ["D09"]


def test_two_stewards_saving_at_once_both_land(settings: Settings) -> None:
    path = decisions_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text(_line(), encoding="utf-8")  # a hand edit left no newline at the end
    _finish(_stewards(settings, 40, "D01", "D02"))
    decisions = read_decisions(settings)
    assert len(decisions) == 81
    assert sorted((d.distributor_code, d.raw_name) for d in decisions[1:]) == sorted(
        (who, f"name {i}") for who in ("D01", "D02") for i in range(40))
    assert len(path.read_text(encoding="utf-8").splitlines()) == 81


def test_a_run_stopped_by_a_bad_decision_line_exits_2(warehouse: Settings, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _write(decisions_path(warehouse), _line(kind="rejcet"))
    inbox = tmp_path / "empty-inbox"
    inbox.mkdir()
    code = cli.main(["run", str(inbox), "--json", "--data-dir", str(warehouse.data_dir)])
    payload = json.loads(capsys.readouterr().out)
    assert code == EXIT_USAGE
    assert (payload["stopped_at"], payload["steps"][-1]["status"]) == ("build", "failed")
    assert "line 1, field 'kind': decision kind 'rejcet'" in payload["steps"][-1]["error"]


def test_a_broken_sticky_keys_file_is_an_error_naming_it(settings: Settings) -> None:
    path = settings.stewardship_dir / "sticky_keys.csv"
    _write(path, "source,distributor_code", '"flow,D01')
    with pytest.raises(DecisionError, match="sticky_keys.csv is not a sticky-keys file"):
        read_sticky_keys(settings)


def test_saving_a_decision_refuses_an_id_the_master_does_not_have(warehouse: Settings) -> None:
    with pytest.raises(DecisionError, match="'C0O3' is in no customer master snapshot"):
        record_decision(warehouse, "remap", source="flow", distributor_code="D02",
                        raw_name="第一人民医院药房", crm_customer_id="C0O3", who="li.na")
    with pytest.raises(DecisionError, match="'P2' is not in the product master"):
        record_product_decision(warehouse, distributor_code="D03", raw_product="不知名药品",
                                raw_spec="1g", product_id="P2", who="li.na")
    assert not decisions_path(warehouse).exists() and not _product_path(warehouse).exists()
    record_product_decision(warehouse, distributor_code="D03", raw_product="不知名药品",
                            raw_spec="1g", product_id=None, who="li.na", why="not ours")
    assert len(read_product_decisions(warehouse)) == 1
