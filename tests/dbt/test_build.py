"""dbt warehouse on a tiny hand-written fixture (tests/dbt/fixture_warehouse.py).

The whole dbt project is built once per session (dbt parses per invocation, so every build is
seconds); the tests then read the marts and compare with values computed by hand from the
fixture rows. All tests share one xdist group so the session build runs once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from transform.build import BuildReport, build
from transform.docs import generate_docs
from sfe.config import Settings
from sfe.report import UsageError
from tests.dbt.built_fixture import copy_built, fixture_settings

pytestmark = pytest.mark.xdist_group("dbt_build")

# kpis.md: every mart and the columns it must have (more are allowed)
KPI_COLUMNS: dict[str, list[str]] = {
    "dim_customer": ["customer_id", "crm_customer_id", "name", "customer_type", "level",
                     "province", "city", "grade"],
    "map_customer_source": ["source", "distributor_code", "source_key", "raw_name",
                            "crm_customer_id", "match_status", "match_method", "match_score"],
    "dim_product": ["product_id", "generic_name", "brand_name", "spec", "pack_size", "is_own"],
    "map_product_source": ["distributor_code", "raw_product", "raw_spec", "product_id",
                           "match_method"],
    "dim_territory": ["territory_id", "name", "level", "territory_path", "region_id",
                      "district_id"],
    "bridge_customer_territory": ["crm_customer_id", "territory_id", "product_line", "valid_from",
                                  "valid_to"],
    "dim_distributor": ["distributor_code", "name", "tier", "province", "flow_required"],
    "dim_date": ["date_day"],
    "fct_sell_out": ["sale_date", "month", "distributor_code", "buyer_kind", "crm_customer_id",
                     "raw_buyer_name", "product_id", "qty_boxes", "amount", "territory_id",
                     "source_file", "source_row"],
    "fct_sell_in": ["ship_date", "month", "distributor_code", "product_id", "qty_boxes", "amount"],
    "fct_calls": ["call_date", "month", "rep_id", "hcp_id", "crm_customer_id", "territory_id",
                  "channel", "report_on_time"],
    "kpi_coverage": ["month", "territory_id", "product_id", "target_customers",
                     "covered_customers", "coverage_rate"],
    "kpi_call_activity": ["month", "rep_id", "territory_id", "target_hcps", "reached_hcps", "calls",
                          "planned_calls", "reach_rate", "frequency", "plan_adherence",
                          "report_on_time_rate"],
    "kpi_activity_roi": ["activity_id", "crm_customer_id", "product_id", "cost", "pre_amount",
                         "post_amount", "incremental_amount", "roi"],
    "kpi_expense_ratio": ["month", "territory_id", "cost", "sell_out_amount", "expense_ratio"],
    "kpi_channel_inventory": ["month", "distributor_code", "product_id", "opening_qty",
                              "purchase_qty", "sales_qty", "computed_closing_qty",
                              "reported_closing_qty", "variance_qty", "days_of_inventory"],
    "kpi_target_achievement": ["month", "territory_id", "product_id", "target_amount",
                               "actual_amount", "achievement_rate", "ytd_target_amount",
                               "ytd_actual_amount", "ytd_achievement_rate"],
    "kpi_flow_completeness": ["month", "distributor_code", "expected", "received",
                              "first_received_at", "on_time", "rows", "matched_rows",
                              "match_rate", "quarantined_rows"],
    "kpi_flow_completeness_region": ["month", "region_id", "expected", "received", "on_time",
                                     "completeness_rate", "on_time_rate", "match_rate"],
    "kpi_customer_grade": ["quarter", "crm_customer_id", "score", "grade"],
    "kpi_tender": ["province", "batch", "generic_name", "spec", "bids", "wins", "win_rate",
                   "own_win_price", "lowest_winning_price", "price_gap"],
    "kpi_sellin_sellout": ["month", "distributor_code", "product_id", "sell_in_qty",
                           "sell_out_qty", "ratio"],
    "scorecard_weekly": ["week_start", "region_id", "sell_out_amount", "sell_out_amount_ly",
                         "growth", "mtd_achievement_rate", "ytd_achievement_rate",
                         "coverage_rate", "plan_adherence", "flow_completeness_rate",
                         "distributors_over_doi_threshold", "data_status"],
}


@pytest.fixture
def con(built):
    settings, _ = built
    connection = duckdb.connect(str(settings.working_db), read_only=True)
    yield connection
    connection.close()


def one(con, sql: str, params=()):
    return con.execute(sql, params).fetchone()


def test_build_runs_every_model_test_and_unit_test_green(built):
    _, report = built
    assert report.error is None, report.summary()
    assert report.failures == [], report.summary()
    assert report.exit_code == 0
    assert report.rebuilt_all_months is True  # first build: nothing to be incremental on
    assert report.models.get("success", 0) >= 50
    assert report.tests.get("pass", 0) >= 150
    payload = report.to_dict()
    assert set(payload) >= {"models", "tests", "failures", "seconds"}


def test_a_first_build_runs_every_unit_test_and_remembers_they_passed_on_this_code(built):
    """dbt's own results count the unit tests; all passed, so the installation's cache names
    this code (a new warehouse on it leaves them out: tests/transform/test_unit_test_passes)."""
    from transform import build_state, unit_test_passes

    settings, report = built
    assert report.unit_tests.get("pass", 0) >= 50 and set(report.unit_tests) == {"pass"}
    assert unit_test_passes.passed(settings, build_state.code_state(settings))


def test_build_writes_target_and_logs_under_the_data_dir_not_the_repo(built):
    settings, _ = built
    assert (settings.dbt_target_dir / "target" / "run_results.json").exists()
    assert (settings.dbt_target_dir / "target" / "partial_parse.msgpack").exists()
    assert (settings.dbt_target_dir / "logs" / "dbt.log").exists()
    # dbt's manifest.json is not written by a build (twice ~0.8 s that nothing reads)
    assert not (settings.dbt_target_dir / "target" / "manifest.json").exists()


def test_the_build_results_are_dbts_own_run_results(built):
    """run_results.json, written by sfe since the build passes --no-write-json, is the
    artifact dbt writes: its schema, this build's invocation and every node."""
    import json

    settings, report = built
    results = json.loads((settings.dbt_target_dir / "target" / "run_results.json").read_text())
    assert results["metadata"]["dbt_schema_version"].endswith("/run-results/v6.json")
    assert results["metadata"]["invocation_id"] == report.invocation_id
    done = sum(report.models.values()) + sum(report.tests.values())
    assert len(results["results"]) == done
    assert {r["status"] for r in results["results"]} <= {"success", "pass"}


@pytest.mark.parametrize("mart", sorted(KPI_COLUMNS))
def test_every_mart_of_kpis_md_exists_with_its_columns(con, mart):
    cols = {r[0] for r in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'marts' and table_name = ?", [mart]).fetchall()}
    assert cols, f"marts.{mart} missing"
    assert set(KPI_COLUMNS[mart]) <= cols, set(KPI_COLUMNS[mart]) - cols


def test_schemas_are_exactly_staging_intermediate_marts(con):
    schemas = {r[0] for r in con.execute(
        "select distinct table_schema from information_schema.tables").fetchall()}
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)


def test_every_loaded_flow_row_is_in_fct_once_or_excluded_with_reason(con):
    raw = one(con, "select count(*) from raw.flow__lines")[0]
    fct = one(con, "select count(*) from marts.fct_sell_out")[0]
    excluded = con.execute("select exclusion_reason from intermediate.int_sell_out_lines_excluded"
                           ).fetchall()
    assert raw == fct + len(excluded) == 11
    assert excluded == [("unknown_product",)]


def test_units_convert_to_boxes_and_amount_falls_back_to_price(con):
    rows = dict(con.execute("select source_row, qty_boxes from marts.fct_sell_out "
                            "where file_id = 10").fetchall())
    assert rows == {2: 10.0, 3: 20.0, 4: 5.0}  # box, 1 case = 20 boxes, 50 min units = 5 boxes
    amounts = dict(con.execute("select source_row, amount from marts.fct_sell_out "
                               "where file_id = 10").fetchall())
    assert amounts == {2: 1000.0, 3: 2000.0, 4: 500.0}  # file, list price, unit price


def test_sale_is_credited_to_the_territory_aligned_on_the_sale_date(con):
    rows = con.execute("select sale_date::varchar, territory_id from marts.fct_sell_out "
                       "where crm_customer_id = 'C2' order by sale_date").fetchall()
    assert rows == [("2026-02-10", "T1"), ("2026-02-20", "T2")]


def test_coverage_first_quarter_uses_level_then_grades(con):
    q = ("select target_customers, covered_customers, coverage_rate from marts.kpi_coverage "
         "where month = ? and territory_id = ? and product_id = 'P1'")
    assert one(con, q, ["2026-01", "D1"]) == (2, 2, 1.0)   # 三甲 C1 + 三乙 C4
    assert one(con, q, ["2026-02", "T1"]) == (1, 0, 0.0)   # C1 net -2 boxes: not covered
    assert one(con, q, ["2026-04", "D1"]) == (4, 1, 0.25)  # Q1 grades A/B/C all count
    assert one(con, q, ["2026-04", "N1"]) == (4, 1, 0.25)  # roll-up to the top


def test_target_achievement_month_ytd_and_zero_target(con):
    q = ("select target_amount, actual_amount, achievement_rate, ytd_target_amount, "
         "ytd_actual_amount, ytd_achievement_rate from marts.kpi_target_achievement "
         "where month = ? and territory_id = ? and product_id = 'P1'")
    assert one(con, q, ["2026-02", "T1"]) == (2000.0, 200.0, 0.1, 3000.0, 1200.0, 0.4)
    t2 = one(con, q, ["2026-02", "T2"])
    assert t2[:3] == (0.0, 600.0, None)  # zero target -> NULL rate
    assert t2[5] == pytest.approx(3.8)


def test_call_activity_over_calling_one_doctor_does_not_cover_another(con):
    row = one(con, "select target_hcps, reached_hcps, calls, planned_calls, reach_rate, frequency, "
                   "plan_adherence, report_on_time_rate from marts.kpi_call_activity "
                   "where month = '2026-01' and rep_id = 'R01'")
    assert row == (2, 2, 12, 12, 1.0, 5.5, 0.75, 0.5)
    idle = one(con, "select reached_hcps, calls, frequency, report_on_time_rate, plan_adherence "
                    "from marts.kpi_call_activity where month = '2026-01' and rep_id = 'R02'")
    assert idle == (0, 0, None, None, 0.0)


def test_channel_inventory_chain_and_distributor_without_flow(con):
    q = ("select opening_qty, purchase_qty, sales_qty, computed_closing_qty, reported_closing_qty, "
         "variance_qty from marts.kpi_channel_inventory where month = ? and distributor_code = ? "
         "and product_id = 'P1'")
    assert one(con, q, ["2026-01", "DA"]) == (0.0, 100.0, 35.0, 65.0, 60.0, -5.0)
    assert one(con, q, ["2026-02", "DA"]) == (60.0, 20.0, 11.0, 69.0, None, None)
    assert one(con, q, ["2026-03", "DA"]) == (69.0, 0.0, 10.0, 59.0, 40.0, -19.0)
    assert one(con, q, ["2026-01", "DB"]) == (0.0, 20.0, 8.0, 12.0, None, None)  # bought from DA
    assert one(con, q, ["2026-02", "DB"]) == (12.0, 0.0, None, None, None, None)  # no flow sent
    doi = one(con, "select days_of_inventory from marts.kpi_channel_inventory "
                   "where month = '2026-03' and distributor_code = 'DA'")[0]
    assert doi == pytest.approx(40 / (56 / 90))


def test_flow_completeness_received_on_time_and_match_rate(con):
    q = ("select expected, received, on_time, rows, matched_rows, match_rate, quarantined_rows "
         "from marts.kpi_flow_completeness where month = ? and distributor_code = ?")
    assert one(con, q, ["2026-01", "DA"]) == (1, 1, 1, 4, 2, 1.0, 2)
    assert one(con, q, ["2026-02", "DA"]) == (1, 1, 0, 4, 3, 0.8, 0)  # arrived 12 March: late
    assert one(con, q, ["2026-02", "DB"]) == (1, 0, 0, 0, 0, None, 0)


def test_flow_completeness_has_one_row_per_distributor_and_no_total_rows(con):
    codes = {r[0] for r in con.execute(
        "select distinct distributor_code from marts.kpi_flow_completeness").fetchall()}
    assert codes == {"DA", "DB"}  # DC need not send and sent nothing
    cols = {r[0] for r in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'kpi_flow_completeness'").fetchall()}
    assert "is_total" not in cols


def test_distributor_region_given_by_name_derived_from_sales_or_none(con):
    rows = con.execute("select distributor_code, region_id, region_source, given_region "
                       "from marts.dim_distributor order by 1").fetchall()
    assert rows == [("DA", "R1", "derived", None), ("DB", "R1", "given", "华北大区"),
                    ("DC", None, "none", None)]


def test_flow_completeness_region_sums_its_distributors_counts(con):
    """February in R1: DA late, DB missing → 1 of 2 received, 0 on time; DA's terminal boxes
    4 + 6 + |-2| matched, 3 (the clinic) not → 12 / 15."""
    row = one(con, "select expected, received, on_time, completeness_rate, on_time_rate, "
                   "match_rate from marts.kpi_flow_completeness_region "
                   "where month = '2026-02' and region_id = 'R1'")
    assert row[:5] == (2, 1, 0, 0.5, 0.0)
    assert row[5] == pytest.approx(12 / 15)


def test_customer_grade_by_cumulative_score_share(con):
    grades = dict(con.execute("select crm_customer_id, grade from marts.kpi_customer_grade "
                              "where quarter = '2026-Q1'").fetchall())
    assert grades == {"C1": "A", "C4": "B", "C2": "C", "C3": "A"}
    score = one(con, "select score from marts.kpi_customer_grade "
                     "where quarter = '2026-Q1' and crm_customer_id = 'C4'")[0]
    assert score == pytest.approx(0.5 * 0.6 + 0.1 / 11)
    assert one(con, "select grade from marts.dim_customer where crm_customer_id = 'C1'") == ("A",)


def test_activity_roi_and_zero_cost(con):
    rows = {r[0]: r[1:] for r in con.execute(
        "select activity_id, pre_amount, post_amount, incremental_amount, roi "
        "from marts.kpi_activity_roi").fetchall()}
    assert rows["A1"] == (1000.0, 1300.0, 300.0, 0.6)
    assert rows["A2"] == (800.0, 0.0, -800.0, None)


def test_tender_own_bids_and_price_gap(con):
    row = one(con, "select bids, wins, win_rate, own_win_price, lowest_winning_price, price_gap "
                   "from marts.kpi_tender where spec = '10mg'")
    assert row == (1, 1, 1.0, 10.0, 9.0, 1.0)


def test_scorecard_has_region_rows_marked_unchecked(con):
    rows = con.execute("select distinct region_id, data_status from marts.scorecard_weekly"
                       ).fetchall()
    assert rows == [("R1", "unchecked")]
    mtd = one(con, "select sell_out_amount, mtd_achievement_rate from marts.scorecard_weekly "
                   "where week_start = '2026-01-05'")
    assert mtd[0] == 1000.0 and mtd[1] == pytest.approx(1000 / 1500)
    # the week of 2 March reads February's flow: R1's own 1 of 2
    assert one(con, "select flow_completeness_rate from marts.scorecard_weekly "
                    "where week_start = '2026-03-02'") == (0.5,)


@pytest.mark.slow  # an incremental dbt build of its own
def test_resent_month_replaces_exactly_that_month_incrementally(built, tmp_path):
    """A corrected February file supersedes the old one: only February changes, once."""
    settings, _ = built
    copy = fixture_settings(tmp_path / "data")
    copy.warehouse_dir.mkdir(parents=True)
    shutil.copy(settings.working_db, copy.working_db)
    copy.dbt_target_dir.mkdir(parents=True)  # same matching and master: incremental run
    shutil.copy(settings.dbt_target_dir / "last_build_inputs.json", copy.dbt_target_dir)
    con = duckdb.connect(str(copy.working_db))
    try:
        con.execute("delete from raw.flow__lines where file_id = 11")
        con.execute("update audit.file_registry set status = 'superseded', superseded_by = 15 "
                    "where file_id = 11")
        con.execute("""insert into raw.flow__lines (file_id, source_row, distributor_code, sale_date,
            buyer_code, buyer_name, product_name, spec, quantity, unit, amount, doc_type)
            values (15, 2, 'DA', '2026-02-11', 'K001', '北医三院', '阿托伐他汀钙片', '10mg*10片',
                    7, 'box', 700, 'sale')""")
        con.execute("""insert into audit.file_registry (file_id, path, source, distributor_code,
            period_start, period_end, received_at, loaded_at, status, rows_read, rows_loaded,
            rows_quarantined) values (15, 'flow/DA/2026-02-v2.csv', 'flow', 'DA', '2026-02-01',
            '2026-02-28', '2026-03-15 09:00:00', '2026-05-11 08:00:00', 'loaded', 1, 1, 0)""")
    finally:
        con.close()
    report = build(copy, select=["fct_sell_out"])
    assert report.exit_code == 0, report.summary()
    assert report.rebuilt_all_months is False
    con = duckdb.connect(str(copy.working_db), read_only=True)
    try:
        by_month = dict(con.execute("select month, count(*) from marts.fct_sell_out group by month"
                                    ).fetchall())
        feb = con.execute("select source_file, qty_boxes from marts.fct_sell_out "
                          "where month = '2026-02'").fetchall()
    finally:
        con.close()
    assert by_month == {"2026-01": 4, "2026-02": 1, "2026-03": 1, "2026-04": 1}
    assert feb == [("flow/DA/2026-02-v2.csv", 7.0)]


@pytest.mark.slow  # dbt docs generate compiles every model
def test_docs_generate_works_on_the_built_warehouse(built, tmp_path):
    settings = copy_built(built, fixture_settings(tmp_path / "data"))  # dbt opens the warehouse for writing
    target = generate_docs(settings)
    assert (target / "index.html").exists()
    assert (target / "catalog.json").exists()


def test_build_without_a_warehouse_says_run_ingest_first(tmp_path):
    with pytest.raises(UsageError, match="sfe ingest"):
        build(fixture_settings(tmp_path / "data"))


def test_build_report_fails_and_names_each_failure():
    from transform.build import BuildFailure

    report = BuildReport(models={"success": 3}, tests={"pass": 5, "fail": 1},
                         failures=[BuildFailure("unique_fct_sell_out_id", "test", "fail",
                                                "Got 2 results, configured to fail if != 0")],
                         seconds=1.5, log_path="/tmp/dbt.log")
    assert report.exit_code == 1
    payload = report.to_dict()
    assert payload["failures"] == [{"name": "unique_fct_sell_out_id", "resource_type": "test",
                                    "status": "fail",
                                    "message": "Got 2 results, configured to fail if != 0"}]
    assert payload["models"] == {"success": 3} and payload["seconds"] == 1.5
    text = report.summary()
    assert "FAILED" in text and "unique_fct_sell_out_id" in text and "/tmp/dbt.log" in text


def test_dim_territory_flattens_the_hierarchy(con):
    row = one(con, "select territory_path, region_id, district_id, level from marts.dim_territory "
                   "where territory_id = 'T2'")
    assert row == ("N1/R1/D1/T2", "R1", "D1", "territory")


def _parsed_manifest(settings: Settings, target: Path) -> Path:
    """dbt's manifest.json of the project as the build parses it (`dbt parse`, which writes
    it; a build does not), in `target`."""
    from dbt.cli.main import dbtRunner

    from transform.dbt_runner import _env, dbt_args, dbt_env

    args = dbt_args(settings, "parse")
    args[args.index("--target-path") + 1] = str(target)
    with _env(dbt_env(settings)):
        assert dbtRunner().invoke(args).success
    return target / "manifest.json"


def test_project_layout_follows_the_house_style(built, tmp_path):
    """DAG integrity: naming per layer, only staging reads sources, grain first in every
    description, a contract on every mart and a unit test on every KPI mart."""
    import json

    settings, _ = built
    manifest = json.loads(_parsed_manifest(settings, tmp_path).read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    unit_tested = {n["model"] for n in manifest.get("unit_tests", {}).values()}
    for name, node in models.items():
        layer = node["fqn"][1]
        assert node["description"].lower().startswith("one row per"), name
        if layer == "staging":
            assert name.startswith("stg_") and "__" in name, name
        else:
            assert not [d for d in node["depends_on"]["nodes"] if d.startswith("source.")], name
        if layer == "intermediate":
            assert name.startswith("int_"), name
        if layer == "marts":
            assert (name.split("_")[0] in {"dim", "fct", "kpi", "map", "bridge", "scorecard"}
                    or name == "data_quality_results"), name
            assert node["config"]["contract"]["enforced"], name
            assert node["schema"] == "marts"
        if name.startswith("kpi_") or name == "scorecard_weekly":
            assert name in unit_tested, f"{name} has no unit test"


def test_changed_matching_or_master_data_triggers_a_rebuild_of_every_month(built, tmp_path):
    from transform.build_state import inputs_fingerprint, needs_full_rebuild

    settings, _ = built
    copy = fixture_settings(tmp_path / "data")
    copy.warehouse_dir.mkdir(parents=True)
    shutil.copy(settings.working_db, copy.working_db)
    copy.dbt_target_dir.mkdir(parents=True)
    shutil.copy(settings.dbt_target_dir / "last_build_inputs.json", copy.dbt_target_dir)
    assert needs_full_rebuild(copy, inputs_fingerprint(copy)) is False
    con = duckdb.connect(str(copy.working_db))
    try:  # a steward confirms the clinic as C3
        con.execute("update matching.customer_source_map set crm_customer_id = 'C3', "
                    "match_status = 'manual' where raw_name = '某某诊所'")
    finally:
        con.close()
    assert needs_full_rebuild(copy, inputs_fingerprint(copy)) is True


def _record_dbt_runs(monkeypatch, fail: bool = False) -> list[str]:
    import transform.build as build_module

    calls: list[str] = []

    def fake_run_dbt(settings, command, select, console, report, extra_vars=None):
        calls.append(command)
        if fail:
            report.failures.append(build_module.BuildFailure("m", "model", "error", "boom"))

    monkeypatch.setattr(build_module, "run_dbt", fake_run_dbt)
    return calls


def test_a_build_with_nothing_new_does_not_rerun_dbt(built, tmp_path, monkeypatch):
    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    calls = _record_dbt_runs(monkeypatch)
    report = build(copy)
    assert calls == [] and report.up_to_date and report.exit_code == 0
    assert "up to date" in report.summary()
    build(copy, force=True)
    # --force rebuilds every table from raw; the unit tests passed on this code already
    assert calls == ["build --full-refresh --exclude test_type:unit"]


def test_a_new_file_or_a_changed_setting_rebuilds(built, tmp_path, monkeypatch):
    from dataclasses import replace

    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    calls = _record_dbt_runs(monkeypatch)
    changed = replace(copy, thresholds=replace(copy.thresholds, doi_threshold_days=99))
    assert not build(changed).up_to_date
    con = duckdb.connect(str(copy.working_db))
    try:  # a file arrives: its registry row is enough to make the build stale
        con.execute("insert into audit.file_registry (file_id, path, status) "
                    "select max(file_id) + 1, 'flow/DA/new.csv', 'loaded' from audit.file_registry")
    finally:
        con.close()
    assert not build(copy).up_to_date
    assert calls == ["build", "build"]


def test_a_failed_build_is_never_taken_as_up_to_date(built, tmp_path, monkeypatch):
    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    calls = _record_dbt_runs(monkeypatch, fail=True)
    assert build(copy, force=True).exit_code != 0
    assert not build(copy).up_to_date  # the same inputs: dbt again
    # the failed build's record is gone: the next one runs the unit tests again too
    assert calls == ["build --full-refresh --exclude test_type:unit", "build"]


def test_unit_tests_rerun_on_a_full_build_only_when_the_project_changed(built, tmp_path,
                                                                       monkeypatch):
    """A full rebuild (--force, or matching changed) of a warehouse whose last successful
    build ran on this project skips the unit tests; an edited model, seed or test runs them,
    as does a warehouse never built (its first build)."""
    import transform.build_state as build_state

    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    calls = _record_dbt_runs(monkeypatch)
    build(copy, force=True)
    assert calls == ["build --full-refresh --exclude test_type:unit"]
    monkeypatch.setattr(build_state, "project_fingerprint", lambda: "an edited model")
    build(copy, force=True)  # the edit: unit tests run, and pass (the fake dbt fails nothing)
    build(copy, force=True)  # the edited project passed them: not run again
    fresh = _copy_of_built(built, tmp_path / "fresh")  # an empty dbt target: a first build
    fresh.dbt_target_dir.mkdir(parents=True)  # (made by dbt, which is faked here)
    build(fresh)
    assert calls[1:] == ["build --full-refresh", "build --full-refresh --exclude test_type:unit",
                         "build"]


def _copy_of_built(built, tmp_path) -> Settings:
    settings, _ = built
    copy = fixture_settings(tmp_path / "data")
    copy.warehouse_dir.mkdir(parents=True)
    shutil.copy(settings.working_db, copy.working_db)
    return copy


def _published_rows(settings: Settings, sql: str) -> list[tuple]:
    from quality.published import open_published

    con = open_published(settings)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


PUBLISH_GATES = ["future_dates", "kpi_rates_out_of_bounds"]


def test_published_scorecard_says_passed_only_after_the_gates_passed(built, tmp_path):
    """dbt's views read the publish stamp: the snapshot says 'passed', the working warehouse
    (never stamped) 'unchecked', and no writer outside dbt touched marts."""
    import datetime as dt

    from quality.gates import run_checks
    from quality.publish import publish

    settings = _copy_of_built(built, tmp_path)
    assert run_checks(settings, select=PUBLISH_GATES, run_id="run-ok",
                      today=dt.date(2026, 12, 31)).status == "passed"
    assert publish(settings).outcome == "published"
    assert _published_rows(settings, "select distinct data_status from marts.scorecard_weekly"
                           ) == [("passed",)]
    results = _published_rows(settings, "select check_name, status, run_status, "
                              "is_published_run from marts.data_quality_results order by 1")
    assert results == [("future_dates", "pass", "passed", True),
                       ("kpi_rates_out_of_bounds", "pass", "passed", True)]
    wcon = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        assert wcon.execute("select distinct data_status from marts.scorecard_weekly"
                            ).fetchall() == [("unchecked",)]
        assert wcon.execute("select count(*), count(*) filter (is_published_run) "
                            "from marts.data_quality_results").fetchone() == (2, 0)
        kinds = dict(wcon.execute(
            "select table_name, table_type from information_schema.tables where "
            "table_schema = 'marts' and table_name in ('scorecard_weekly', "
            "'data_quality_results')").fetchall())
    finally:
        wcon.close()
    assert kinds == {"scorecard_weekly": "VIEW", "data_quality_results": "VIEW"}


def test_a_failed_gate_never_shows_passed(built, tmp_path):
    """A blocking failure: publish refuses, the checked candidate says 'unchecked', and even
    a stamp naming the failed run (written by hand into a copy) reads 'failed', never 'passed'."""
    import datetime as dt

    from quality import candidate
    from quality.gates import run_checks
    from quality.publish import _stamp, publish

    settings = _copy_of_built(built, tmp_path)
    wcon = duckdb.connect(str(settings.working_db))
    try:
        wcon.execute("update marts.kpi_coverage set coverage_rate = 1.7")
    finally:
        wcon.close()
    report = run_checks(settings, select=PUBLISH_GATES, run_id="run-bad",
                        today=dt.date(2026, 12, 31))
    assert report.status == "failed"
    assert publish(settings).outcome == "refused"
    assert not settings.published_db.exists()
    checked = candidate.candidate_path(settings, "run-bad")
    stamped = tmp_path / "stamped.duckdb"
    shutil.copy(checked, stamped)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{checked}' as working (read_only)")
        assert con.execute("select distinct data_status from working.marts.scorecard_weekly"
                           ).fetchall() == [("unchecked",)]
    finally:
        con.close()
    _stamp(stamped, {"snapshot_id": "forced", "published_at": dt.datetime(2026, 12, 31),
                     "run_id": "run-bad", "gate_status": "passed", "as_of_date": None,
                     "warnings": 0, "source_db": "test"}, "working")
    con = duckdb.connect()
    try:
        con.execute(f"attach '{stamped}' as working (read_only)")
        assert con.execute("select distinct data_status from working.marts.scorecard_weekly"
                           ).fetchall() == [("failed",)]
        assert con.execute("select distinct run_status, is_published_run from "
                           "working.marts.data_quality_results").fetchall() == [("failed", True)]
    finally:
        con.close()


def test_matching_reads_the_same_master_snapshot_as_dbt(con):
    """The latest-snapshot rule: dbt's macro (latest_snapshot) and matching/sources.py, which
    runs before dbt, pick the same rows (the fixture's older customer snapshot holds C9)."""
    from matching.sources import load_customer_master, load_distributors, load_products

    pairs = [(load_customer_master, "crm_customer_id", "stg_master__customers"),
             (load_distributors, "distributor_code", "stg_master__distributors"),
             (load_products, "product_id", "stg_master__products")]
    for load, key, model in pairs:
        python_ids = sorted(load(con)[key].to_list())
        dbt_ids = sorted(r[0] for r in con.execute(f"select {key} from staging.{model}").fetchall())
        assert python_ids == dbt_ids and python_ids, model
    assert "C9" not in load_customer_master(con)["crm_customer_id"].to_list()


# The sell-out line guarantees (each line once, never a null id, at most one territory and only
# on matched terminal sales) are tested on the built fact table, not on the crediting view:
# a breach planted below must still fail the build, and so block publishing.
def _plant(settings: Settings, *statements: str) -> None:
    con = duckdb.connect(str(settings.working_db))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def _failed(report: BuildReport) -> set[str]:
    assert report.exit_code != 0, report.summary()
    return {failure.name for failure in report.failures}


# file 10 row 2: C1 (matched terminal, T1) buys 10 boxes on 2026-01-10
_C1_SALE = "from raw.flow__lines where file_id = 10 and source_row = 2"


def test_a_flow_row_loaded_twice_fails_the_build_and_blocks_publishing(built, tmp_path):
    from quality.gates import run_checks
    from quality.publish import publish

    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    _plant(copy, f"insert into raw.flow__lines select * {_C1_SALE}")
    failed = _failed(build(copy, select=["fct_sell_out",
                                         "assert_every_flow_row_in_fct_once_or_excluded"],
                           force=True))
    assert "assert_every_flow_row_in_fct_once_or_excluded" in failed
    gate = run_checks(copy, select=["dbt_tests"]).results[0]
    assert gate.status == "fail" and "assert_every_flow_row_in_fct_once_or_excluded" in gate.message
    assert publish(copy).outcome == "refused"


def test_a_flow_row_without_a_row_number_fails_the_build(built, tmp_path):
    """No id can be built for it: the fact's not_null test names it."""
    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    _plant(copy, "insert into raw.flow__lines select * replace (null as source_row, 99 as "
                 f"file_id) {_C1_SALE}")
    assert "not_null_fct_sell_out_sell_out_line_id" in _failed(
        build(copy, select=["fct_sell_out"], force=True))


@pytest.mark.parametrize(("planted", "test"), [
    # the C1 sale a second time, credited to T2 as well: its id on two rows of the fact
    ("insert into marts.fct_sell_out select * replace ('T2' as territory_id) from "
     "marts.fct_sell_out where file_id = 10 and source_row = 2",
     "assert_every_flow_row_in_fct_once_or_excluded"),
    # the sale to distributor DB (file 10 row 3) credited to a territory
    ("update marts.fct_sell_out set territory_id = 'T1' where file_id = 10 and source_row = 3",
     "assert_no_sale_credited_to_two_territories"),
])
def test_a_double_or_wrong_credit_in_the_fact_fails_its_test(built, tmp_path, planted, test):
    copy = copy_built(built, fixture_settings(tmp_path / "data"))
    _plant(copy, planted)
    assert test in _failed(build(copy, select=[test], force=True))
