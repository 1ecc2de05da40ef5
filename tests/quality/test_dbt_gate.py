"""The dbt_tests gate judges the results of the build that made the checked warehouse, found by
absolute path whatever folder `sfe` runs in; missing or foreign results block publishing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from quality.gates import run_checks
from quality.publish import publish
from orchestration import cli
from transform import build as sfe_build
from transform.dbt_runner import dbt_args
from sfe.config import load_settings
from tests.quality.conftest import TODAY, build_clean_marts, record_dbt_build

FAILING = [{"unique_id": "model.sfe.fct_sell_out", "status": "success", "failures": None},
           {"unique_id": "test.sfe.relationships_fct_sell_out_product_id.5f2e9a1c0d",
            "status": "fail",
            "failures": 4, "message": "Got 4 results, configured to fail if != 0"}]
PASSING = [{"unique_id": "model.sfe.fct_sell_out", "status": "success", "failures": None}]


def dbt_gate(settings):
    report = run_checks(settings, select=["dbt_tests"], today=TODAY)
    return report, report.results[0]


def test_no_build_recorded_blocks_instead_of_skipping(settings) -> None:
    import duckdb

    settings.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.working_db))
    build_clean_marts(con)
    con.close()
    report, result = dbt_gate(settings)
    assert result.status == "fail" and report.exit_code == 1
    assert "run 'sfe build'" in result.message
    assert publish(settings).outcome == "refused"


def test_missing_results_of_this_build_block(warehouse) -> None:
    path = record_dbt_build(warehouse, PASSING, build_id="bld-2", invocation_id="inv-2")
    path.unlink()
    report, result = dbt_gate(warehouse)
    assert result.status == "fail" and "missing" in result.message and "bld-2" in result.message
    assert report.exit_code == 1


def test_an_older_builds_passing_results_are_not_read_in_place_of_this_builds(warehouse) -> None:
    """The latest build's dbt never wrote its results (killed, crashed): the file still on disk
    is the previous build's, all green. It must not vouch for this build."""
    record_dbt_build(warehouse, PASSING, build_id="bld-3", invocation_id="inv-new",
                     written_by="inv-old")
    report, result = dbt_gate(warehouse)
    assert result.status == "fail" and report.exit_code == 1
    assert "inv-old" in result.message and "bld-3" in result.message


def test_the_gate_reads_the_file_the_build_recorded_not_one_under_settings(warehouse) -> None:
    """A stray results file where the old gate looked (dbt_target_dir/run_results.json, all
    green, newer) is ignored: the build's own failing file decides."""
    record_dbt_build(warehouse, FAILING, build_id="bld-4", invocation_id="inv-4")
    (warehouse.dbt_target_dir / "run_results.json").write_text(json.dumps(
        {"metadata": {"invocation_id": "inv-4"}, "results": PASSING}), encoding="utf-8")
    _, result = dbt_gate(warehouse)
    assert result.status == "fail" and "relationships_fct_sell_out_product_id" in result.message


@pytest.mark.parametrize("start_in", ["repo_root", "other_folder"])
def test_relative_data_dir_a_failing_dbt_test_blocks_publish(tmp_path, monkeypatch, capsys,
                                                             start_in: str) -> None:
    """`sfe build --data-dir data` writes dbt results where dbt puts them (--target-path, given
    relative to the project folder by dbt); `sfe check` from the same relative path must read
    exactly those and block on the failing test, from the repo root or any other folder."""
    import duckdb

    root = Path(cli.__file__).resolve().parents[1]
    workdir = root if start_in == "repo_root" else tmp_path / "ops"
    workdir.mkdir(exist_ok=True)
    rel = Path(os.path.relpath(tmp_path / "wh", workdir))  # relative to where sfe starts
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("SFE_CONFIG", raising=False)
    settings = load_settings(env={}, data_dir=rel)
    settings.warehouse_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.working_db))
    build_clean_marts(con)
    con.close()
    args = dbt_args(settings, "build")
    target = Path(args[args.index("--target-path") + 1])
    assert target.is_absolute()  # dbt resolves a relative one against the project folder
    target.mkdir(parents=True)
    (target / "run_results.json").write_text(json.dumps(  # what dbt writes there
        {"metadata": {"invocation_id": "inv-rel"}, "results": FAILING}), encoding="utf-8")
    sfe_build._record_build(settings, sfe_build.BuildReport(invocation_id="inv-rel"), None)

    assert cli.main(["check", "--data-dir", str(rel), "--json", "-q"]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert "dbt_tests" in checked["blocking_failures"]
    dbt = next(c for c in checked["checks"] if c["name"] == "dbt_tests")
    assert dbt["status"] == "fail" and "relationships_fct_sell_out_product_id" in dbt["message"]
    assert cli.main(["publish", "--data-dir", str(rel), "--json", "-q"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["outcome"] == "refused" and "dbt_tests" in refused["reason"]
    assert not (tmp_path / "wh" / "published" / "current.duckdb").exists()
