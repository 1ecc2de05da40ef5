"""Gates about each month's own rows read only the months changed since the last passed check
(quality/check_months.py): a month whose files and build inputs did not change holds the rows
that passed then. The clean warehouse (conftest.py) has one flow file for May..October; the
months come from the registry (file periods) as `sfe build` records them."""

from __future__ import annotations

import duckdb
import pytest

from quality import check_months
from quality.definitions import Gate, GateSet, load_gates, resolve_thresholds, rules_digest
from quality.gates import run_checks
from tests.quality.conftest import TODAY, execute
from sfe import build_months

BOUNDED = ["achievement_reconciles", "facts_cover_raw_months"]

# June breaks both bounded gates: T1's P1 actual no longer adds up to the facts, and June's
# facts lose the raw flow behind them
BROKEN_JUNE = """
    update marts.kpi_target_achievement set actual_amount = 1
    where month = '2026-06' and territory_id = 'T1' and product_id = 'P1';
    delete from raw.flow__lines where sale_date = date '2026-06-10'"""


@pytest.fixture
def registered(warehouse):
    """The clean warehouse with a registry as ingestion keeps it (source, period, load)."""
    execute(warehouse, """
        alter table audit.file_registry add column source varchar;
        alter table audit.file_registry add column period_start date;
        alter table audit.file_registry add column period_end date;
        alter table audit.file_registry add column loaded_at timestamp;
        alter table audit.file_registry add column sha256 varchar;
        alter table audit.file_registry add column superseded_by bigint;
        update audit.file_registry set source = 'flow', period_start = date '2026-05-01',
            period_end = date '2026-10-31', loaded_at = timestamp '2026-11-01 09:00:00',
            sha256 = 'a1'""")
    return warehouse


def _new_file(settings, file_id: int, month: str) -> None:
    execute(settings, f"""insert into audit.file_registry values ({file_id}, 'flow/D2/{month}.csv',
        'loaded', 'flow', date '{month}-01', last_day(date '{month}-01'),
        timestamp '2026-11-15 09:00:00', 'h{file_id}', null)""")


def _built(settings, key: str = "k1", maps: dict | None = None) -> None:
    """What a successful `sfe build` records: its key, the registry it built, its matches."""
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        files = build_months.file_states(con)
    finally:
        con.close()
    settings.dbt_target_dir.mkdir(parents=True, exist_ok=True)
    build_months.record(settings.dbt_target_dir, key, files, maps)


def _statuses(settings) -> dict[str, str]:
    report = run_checks(settings, today=TODAY)
    return {r.name: r.status for r in report.results if r.name in BOUNDED} | {
        "run": report.status}


def test_after_a_passed_check_the_month_gates_read_only_the_changed_months(registered):
    _built(registered)
    assert _statuses(registered) == {"achievement_reconciles": "pass",
                                     "facts_cover_raw_months": "pass", "run": "passed"}
    execute(registered, BROKEN_JUNE)  # behind the build's back: June's files did not change
    _new_file(registered, 3, "2026-10")
    _built(registered)
    # October is read (changed), June is not: it passed on the last check
    assert _statuses(registered)["run"] == "passed"
    _new_file(registered, 4, "2026-06")  # now a June file changes: June is read again
    _built(registered)
    failed = {"achievement_reconciles": "fail", "facts_cover_raw_months": "fail", "run": "failed"}
    assert _statuses(registered) == failed
    # a failed check keeps nothing: the next one reads every month, even with nothing new
    assert _statuses(registered) == failed


def test_without_a_passed_check_every_month_is_read(registered):
    _built(registered)
    execute(registered, BROKEN_JUNE)
    assert _statuses(registered)["run"] == "failed"


def _months(settings, digest: str) -> list[str] | None:
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        return check_months.months_to_check(settings, con, digest)
    finally:
        con.close()


def test_every_month_when_the_rules_the_build_or_its_record_differ(registered):
    gates = load_gates()
    digest = rules_digest(gates, resolve_thresholds(registered, gates.thresholds))
    assert _months(registered, digest) is None  # no passed check yet
    _built(registered)
    assert run_checks(registered, today=TODAY).status == "passed"
    assert _months(registered, digest) == []  # nothing changed since
    _new_file(registered, 3, "2026-09")
    assert _months(registered, digest) == ["2026-09"]  # loaded, not built yet: read too
    assert _months(registered, "other rules") is None
    _built(registered, key="k2")  # another project, var, matching or master
    assert _months(registered, digest) is None
    build_months.record(registered.dbt_target_dir, None, None)  # a build failed or runs
    assert _months(registered, digest) is None


def test_a_changed_match_reads_every_month_a_new_one_does_not(registered):
    gates = load_gates()
    digest = rules_digest(gates, resolve_thresholds(registered, gates.thresholds))
    _built(registered, maps={"customer_map": {"北医三院": "C1"}})
    assert run_checks(registered, today=TODAY).status == "passed"
    _built(registered, maps={"customer_map": {"北医三院": "C1", "通州医院": "C7"}})
    assert _months(registered, digest) == []  # a new buyer's rows are in new files
    _built(registered, maps={"customer_map": {"北医三院": "C2"}})  # a steward re-matched it
    assert _months(registered, digest) is None


def test_a_subset_of_gates_keeps_nothing(registered):
    _built(registered)
    assert run_checks(registered, select=BOUNDED, today=TODAY).status == "passed"
    execute(registered, BROKEN_JUNE)
    assert _statuses(registered)["run"] == "failed"


@pytest.mark.parametrize(("months", "where", "dates"), [
    (None, "true", "true"),
    ([], "false", "false"),
    (["2026-05", "2026-10"], "m in ('2026-05', '2026-10')",
     "(d >= date '2026-05-01' and d < date '2026-11-01')"),
    (["2026-12"], "m in ('2026-12')", "(d >= date '2026-12-01' and d < date '2027-01-01')"),
])
def test_the_sql_of_the_months(months, where, dates):
    assert check_months.months_where(months, "m") == where
    assert check_months.dates_where(months, "d") == dates


@pytest.mark.parametrize(("months", "weeks"), [
    (None, "true"),
    ([], "false"),
    # 2026-06-01 is a Monday; 2026-06-30 a Tuesday: its week runs to Sunday 5 July
    (["2026-06"], "(d >= date '2026-06-01' and d < date '2026-07-06')"),
    # 2026-10-01 is a Thursday (its week starts Monday 28 September), 2026-11-30 a Monday
    (["2026-10", "2026-11"], "(d >= date '2026-09-28' and d < date '2026-12-07')"),
    # 2026-05-31 is a Sunday: May's last week ends that day
    (["2026-05"], "(d >= date '2026-04-27' and d < date '2026-06-01')"),
])
def test_the_weeks_that_overlap_the_months(months, weeks):
    assert check_months.weeks_where(months, "d") == weeks


def test_a_warning_that_failed_alone_keeps_every_month_in_the_next_check(registered, monkeypatch):
    """The blocking gates passed, the months-scoped warning failed: nothing is kept, so the
    next check reads June again."""
    june_warning = Gate(
        name="june_units_watch", description="no kpi_target_achievement row in June",
        severity="warning", type="sql",
        sql="select * from marts.kpi_target_achievement where month = '2026-06' "
            "and {{ changed_months_where('month') }}")
    standard = load_gates()
    gates = GateSet((*standard.gates, june_warning), standard.thresholds, standard.source)
    monkeypatch.setattr("quality.gates.load_gates", lambda: gates)
    _built(registered)
    report = run_checks(registered, today=TODAY)
    assert {r.name: r.status for r in report.results}["june_units_watch"] == "fail"
    assert not report.blocking_failures
    con = duckdb.connect(str(registered.working_db), read_only=True)
    try:
        digest = rules_digest(gates, resolve_thresholds(registered, gates.thresholds))
        assert check_months.months_to_check(registered, con, digest) is None
    finally:
        con.close()
    assert {r.name: r.status for r in run_checks(registered, today=TODAY).results}[
        "june_units_watch"] == "fail"


@pytest.mark.parametrize("garbage", ["[1, 2]", '"passed"', "{", ""])
def test_a_damaged_record_of_the_last_passed_check_reads_every_month(registered, garbage):
    """The kept record is a file beside the warehouse: truncated, hand-edited or another
    JSON value, it must mean "every month", never a crash of the check (a list raised
    AttributeError) nor a month left out."""
    gates = load_gates()
    digest = rules_digest(gates, resolve_thresholds(registered, gates.thresholds))
    _built(registered)
    assert run_checks(registered, today=TODAY).status == "passed"
    (registered.warehouse_dir / "last_passed_check_files.json").write_text(garbage,
                                                                         encoding="utf-8")
    assert _months(registered, digest) is None
    execute(registered, BROKEN_JUNE)
    assert _statuses(registered)["run"] == "failed"


def _raw_line(settings, row: int, date: str, quantity: int) -> None:
    sale_date = "null" if date == "null" else f"date '{date}'"
    execute(settings, f"""insert into raw.flow__lines values (1, {row}, null, 'D1', {sale_date},
        'B01', '北医三院', null, '阿莫西林', '0.25g*24', null, 'L1', null, {quantity}, 'box', '盒',
        30, 3000, 'sale')""")


def _gx(settings) -> tuple[str, str]:
    result = next(r for r in run_checks(settings, select=None, today=TODAY).results
                  if r.name == "gx_staged_flow")
    return result.status, result.message


def test_the_row_gates_read_the_changed_months_and_every_row_without_a_date(registered):
    """gx_staged_flow (`rows:` in gates.yml) after a passed check: an implausible quantity in
    an unchanged month was judged when that month was checked; one in a changed month, and a
    line with no date (which no date range can place), are read."""
    _built(registered)
    status, message = _gx(registered)
    assert status == "pass" and "months changed" not in message  # first check: every row
    _raw_line(registered, 90, "2026-06-11", 10_000_000)  # behind the build's back
    _new_file(registered, 3, "2026-10")
    _built(registered)
    con = duckdb.connect(str(registered.working_db), read_only=True)
    october = con.execute("select count(*) from raw.flow__lines where sale_date between "
                          "date '2026-10-01' and date '2026-10-31'").fetchone()[0]
    con.close()
    assert _gx(registered) == (
        "pass", f"ok: 8 expectations on {october} rows (the months changed since the last "
                "passed check)")
    _raw_line(registered, 91, "null", 1)
    _new_file(registered, 4, "2026-09")
    _built(registered)
    status, message = _gx(registered)
    assert status == "fail" and "expect_column_values_to_not_be_null(sale_date): 1 of" in message
    _raw_line(registered, 92, "2026-10-20", 10_000_000)
    _built(registered)
    status, message = _gx(registered)  # the failed check kept nothing: every month is read
    assert status == "fail" and "expect_column_values_to_be_between(quantity): 2 of" in message


def test_the_scorecard_gate_reads_whole_weeks_that_overlap_a_changed_month(registered):
    """scorecard_reconciles after a passed check, July changed: the week of 29 June - 5 July
    straddles June and July and is read; the week of 8 June lies in June alone and is not."""
    _built(registered)
    assert run_checks(registered, today=TODAY).status == "passed"
    execute(registered, """
        update marts.scorecard_weekly set sell_out_amount = 1 where week_start = date '2026-06-08';
        insert into marts.scorecard_weekly (week_start, region_id, sell_out_amount, data_status)
        values (date '2026-06-29', 'RG1', 5, 'unchecked')""")
    _new_file(registered, 3, "2026-07")
    _built(registered)
    result = next(r for r in run_checks(registered, select=None, today=TODAY).results
                  if r.name == "scorecard_reconciles")
    assert result.status == "fail" and result.failing_rows == 1
    assert [str(row["week_start"])[:10] for row in result.sample] == ["2026-06-29"]
