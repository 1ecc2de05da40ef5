"""The registry: idempotent re-runs, re-sends that supersede, partial overlaps held as conflicts."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from sfe.report import UsageError
from tests.ingestion.conftest import by_path, flow_csv

TABLES = ("raw.flow__lines", "raw.inventory__lines", "raw.master__customers", "quarantine.rows")


def _row(day: str, product: str = "阿莫西林胶囊", qty: int = 10) -> str:
    return f"{day},北京协和医院,{product},0.25g*24,B001,{qty},盒,100"


def _snapshot(query) -> dict[str, list[tuple]]:
    snap = {t: sorted(query(f"select * exclude (quarantined_at) from {t}" if "quarantine" in t
                            else f"select * from {t}"), key=str) for t in TABLES}
    snap["registry"] = query("select file_id, path, status, rows_read, rows_loaded, "
                             "rows_quarantined, loaded_at from audit.file_registry order by 1")
    return snap


def test_ingesting_the_same_inbox_twice_changes_nothing(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-05"), _row("2026-03-40")]))
    put("flow/D001/april.csv", flow_csv([_row("2026-04-05")]))
    put("flow/D001/bad.csv", b"\x00\x01binary")
    put("flow/D001/april copy.csv", flow_csv([_row("2026-04-05")]))
    first = ingest()
    before = _snapshot(query)
    second = ingest()
    assert _snapshot(query) == before
    assert [f.status for f in second.files if f.status != "rejected"] == ["duplicate"] * 3
    assert first.exit_code == second.exit_code == 1


def test_resend_covering_the_period_supersedes_exactly_that_file(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")]))
    put("flow/D001/april.csv", flow_csv([_row("2026-04-02")]))
    ingest()
    put("flow/D001/march_v2.csv", flow_csv([_row("2026-03-01", qty=7), _row("2026-03-15", qty=7),
                                            _row("2026-03-31", qty=7)]))
    report = ingest()
    assert by_path(report)["flow/D001/march_v2.csv"]["status"] == "loaded"
    assert query("select path, status, superseded_by from audit.file_registry order by 1") == [
        ("flow/D001/april.csv", "loaded", None), ("flow/D001/march.csv", "superseded", 3),
        ("flow/D001/march_v2.csv", "loaded", None)]
    assert query("select month(sale_date), sum(quantity) from raw.flow__lines group by 1 "
                 "order by 1") == [(3, 21.0), (4, 10.0)]


def test_partial_overlap_is_a_conflict_naming_both_files(put, ingest, query):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")]))
    put("flow/D001/mid.csv", flow_csv([_row("2026-03-20"), _row("2026-04-10")]))
    report = ingest()
    mid = by_path(report)["flow/D001/mid.csv"]
    assert mid["status"] == "conflict" and "march.csv" in mid["reasons"][0]
    assert query("select conflict_with from audit.file_registry where path like '%mid%'") == [(1,)]
    assert query("select count(*) from raw.flow__lines") == [(2,)]
    assert report.exit_code == 1


def _decide(settings, text: str) -> None:
    path = settings.stewardship_dir / "file_decisions.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_conflict_decided_replace_replaces_the_older_file_on_the_next_run(
        put, ingest, query, settings):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")]))
    put("flow/D001/mid.csv", flow_csv([_row("2026-03-20", qty=3), _row("2026-04-10", qty=3)]))
    ingest()
    _decide(settings, "flow/D001/mid.csv: replace\n")
    report = ingest()
    assert by_path(report)["flow/D001/mid.csv"]["status"] == "loaded"
    assert query("select path, status from audit.file_registry order by 1") == [
        ("flow/D001/march.csv", "superseded"), ("flow/D001/mid.csv", "loaded")]
    assert query("select sum(quantity) from raw.flow__lines") == [(6.0,)]


def test_a_conflict_decided_add_loads_beside_the_older_file(put, ingest, query, settings):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")]))
    put("flow/D001/mid.csv", flow_csv([_row("2026-03-20", qty=3), _row("2026-04-10", qty=3)]))
    ingest()
    _decide(settings, "flow/D001/mid.csv: ADD\n")
    ingest()
    assert query("select path, status from audit.file_registry order by 1") == [
        ("flow/D001/march.csv", "loaded"), ("flow/D001/mid.csv", "loaded")]
    assert query("select sum(quantity) from raw.flow__lines") == [(26.0,)]


def test_a_decision_word_other_than_replace_or_add_is_a_usage_error(put, ingest, settings):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01")]))
    _decide(settings, "flow/D001/march.csv: keep both\n")
    with pytest.raises(UsageError, match="replace, add"):
        ingest()


def test_weekly_files_and_product_line_splits_add_up(put, ingest, query):
    put("flow/D001/w1.csv", flow_csv([_row("2026-03-02"), _row("2026-03-08")]))
    put("flow/D001/w2.csv", flow_csv([_row("2026-03-09"), _row("2026-03-15")]))
    put("flow/D001/line_b.csv", flow_csv([_row("2026-03-01", "头孢克肟片"),
                                          _row("2026-03-31", "头孢克肟片")]))
    report = ingest()
    assert [f.status for f in report.files] == ["loaded"] * 3
    assert query("select count(*) from raw.flow__lines") == [(6,)]


def test_a_late_file_inside_a_loaded_period_is_a_conflict_even_with_an_older_mtime(
        put, ingest, query):
    """Arrival order is when the registry first saw a file: an old mtime on a file that arrives
    later does not make it silently 'older'; a person decides (both files named, exit 1)."""
    put("flow/D001/march_v2.csv", flow_csv([_row("2026-03-01", qty=7), _row("2026-03-31", qty=7)]),
        age=100)
    ingest()
    put("flow/D001/march_v1.csv", flow_csv([_row("2026-03-02"), _row("2026-03-30")]), age=5000)
    report = ingest()
    late = by_path(report)["flow/D001/march_v1.csv"]
    assert late["status"] == "conflict" and "march_v2.csv" in late["reasons"][0]
    assert report.exit_code == 1
    assert query("select sum(quantity) from raw.flow__lines") == [(14.0,)]


def test_a_retried_file_first_seen_before_the_file_covering_it_is_superseded(
        settings, inbox, put, ingest, query, tmp_path):
    """A file rejected (no mapping) at its first ingest, fixed after a covering correction was
    loaded, is the older version by arrival: superseded, nothing loaded."""
    from dataclasses import replace

    from ingestion.pipeline import ingest_inbox

    put("flow/D007/march_v1.csv", "开单日,终端,货品,发货量\n2026-03-05,协和,阿莫西林胶囊,2\n")
    assert ingest().files[0].status == "rejected"
    put("flow/D007/march_v2.csv", flow_csv([_row("2026-03-01", qty=7), _row("2026-03-31", qty=7)]))
    assert by_path(ingest())["flow/D007/march_v2.csv"]["status"] == "loaded"
    mappings = tmp_path / "maps"
    mappings.mkdir()
    (mappings / "D007.yaml").write_text(
        "columns: {开单日: sale_date, 终端: buyer_name, 货品: product_name, 发货量: quantity}\n",
        encoding="utf-8")
    report = ingest_inbox(replace(settings, mappings_dir=mappings), inbox)
    assert by_path(report)["flow/D007/march_v1.csv"]["status"] == "superseded"
    assert query("select sum(quantity) from raw.flow__lines") == [(14.0,)]


def _future(path, days: int = 400) -> None:
    stamp = (dt.datetime.now() + dt.timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))


def test_a_future_mtime_does_not_win_over_a_later_correction_and_is_flagged(put, ingest, query):
    """Old code ordered versions by mtime alone: a file stamped a year ahead beat every later
    correction (the correction was dropped as 'an older version')."""
    _future(put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")])))
    first = ingest()
    flagged = by_path(first)["flow/D001/march.csv"]
    assert flagged["status"] == "loaded"
    assert any(r.startswith("future modification time:") for r in flagged["reasons"])
    assert first.totals()["flagged_files"] == ["flow/D001/march.csv"]
    assert "flagged files" in first.summary()
    put("flow/D001/march_fix.csv", flow_csv([_row("2026-03-01", qty=3), _row("2026-03-31", qty=3)]))
    second = ingest()
    assert by_path(second)["flow/D001/march_fix.csv"]["status"] == "loaded"
    assert query("select path, status, superseded_by from audit.file_registry order by 1") == [
        ("flow/D001/march.csv", "superseded", 2), ("flow/D001/march_fix.csv", "loaded", None)]
    assert query("select sum(quantity) from raw.flow__lines") == [(6.0,)]
    assert query("select count(*) from audit.file_registry where reasons[1] like "
                 "'future modification time:%' or reasons[2] like 'future modification time:%'"
                 ) == [(1,)]


def test_first_seen_at_is_kept_when_a_record_is_replaced_and_never_moves(
        settings, inbox, put, ingest, query, tmp_path):
    from dataclasses import replace

    from ingestion.pipeline import ingest_inbox

    put("flow/D007/march.csv", "开单日,终端,货品,发货量\n2026-03-05,协和,阿莫西林,2\n")
    ingest()
    seen = query("select first_seen_at from audit.file_registry")
    mappings = tmp_path / "maps"
    mappings.mkdir()
    (mappings / "D007.yaml").write_text(
        "columns: {开单日: sale_date, 终端: buyer_name, 货品: product_name, 发货量: quantity}\n",
        encoding="utf-8")
    ingest_inbox(replace(settings, mappings_dir=mappings), inbox)
    assert query("select status, first_seen_at from audit.file_registry") == [
        ("loaded", seen[0][0])]


def _march_v1_then_v2(put, ingest) -> bytes:
    v1 = flow_csv([_row("2026-03-01"), _row("2026-03-31")])
    put("flow/D001/march.csv", v1)
    ingest()
    put("flow/D001/march_v2.csv", flow_csv([_row("2026-03-01", qty=7), _row("2026-03-31", qty=7)]))
    assert by_path(ingest())["flow/D001/march_v2.csv"]["status"] == "loaded"
    return v1 if isinstance(v1, bytes) else v1.encode("utf-8")


def test_an_old_version_sent_again_after_its_correction_is_a_conflict_naming_both(
        put, ingest, query):
    """Old code skipped the old bytes as a 'duplicate' with exit 0; the correction stood, but
    nobody was told that the distributor sent the old figures again."""
    v1 = _march_v1_then_v2(put, ingest)
    put("flow/D001/march_again.csv", v1)
    report = ingest()
    again = by_path(report)["flow/D001/march_again.csv"]
    assert again["status"] == "conflict"
    assert "flow/D001/march.csv" in again["reasons"][0]
    assert "flow/D001/march_v2.csv" in again["reasons"][0]
    assert report.exit_code == 1
    assert query("select conflict_with from audit.file_registry where path like '%again%'") == [
        (2,)]
    assert query("select sum(quantity) from raw.flow__lines") == [(14.0,)]
    before = _snapshot(query)
    rerun = ingest()  # still a conflict, nothing rewritten
    assert by_path(rerun)["flow/D001/march_again.csv"]["status"] == "conflict"
    assert _snapshot(query) == before and rerun.exit_code == 1


def test_an_old_version_put_back_at_its_own_path_is_a_conflict(put, ingest, query):
    v1 = _march_v1_then_v2(put, ingest)
    assert by_path(ingest())["flow/D001/march.csv"]["status"] == "duplicate"  # untouched: rerun
    put("flow/D001/march.csv", v1)  # copied in again: a newer mtime
    report = ingest()
    assert by_path(report)["flow/D001/march.csv"]["status"] == "conflict"
    assert report.exit_code == 1
    assert query("select sum(quantity) from raw.flow__lines") == [(14.0,)]


def test_an_old_version_sent_again_and_decided_replace_replaces_the_correction(
        put, ingest, query, settings):
    v1 = _march_v1_then_v2(put, ingest)
    put("flow/D001/march_again.csv", v1)
    ingest()
    _decide(settings, "flow/D001/march_again.csv: replace\n")
    report = ingest()
    assert by_path(report)["flow/D001/march_again.csv"]["status"] == "loaded"
    assert query("select path, status from audit.file_registry where status <> 'superseded' "
                 "order by 1") == [("flow/D001/march_again.csv", "loaded")]
    assert query("select sum(quantity) from raw.flow__lines") == [(20.0,)]


def test_a_registry_without_first_seen_at_is_migrated_and_backfilled(settings, put, ingest,
                                                                     query):
    from sfe.warehouse import connect

    put("flow/D001/march.csv", flow_csv([_row("2026-03-01")]))
    ingest()
    with connect(settings) as con:  # a warehouse from before the column existed
        con.execute("alter table audit.file_registry drop column first_seen_at")
    put("flow/D001/april.csv", flow_csv([_row("2026-04-01")]))
    ingest()
    assert query("select path, first_seen_at = loaded_at, first_seen_at <= loaded_at "
                 "from audit.file_registry order by 1") == [
        ("flow/D001/april.csv", False, True),   # seen when its ingest started
        ("flow/D001/march.csv", True, True)]    # backfilled: when it was loaded


def test_a_two_month_file_replaced_by_decision_keeps_its_period_for_the_month_rebuild(
        put, ingest, query, settings):
    """What the build's month set reads (dbt_project/macros/incremental_months.sql): the
    replaced file stays `superseded` by the new one with its own two-month period, while raw
    holds no April rows any more."""
    put("flow/D001/mar_apr.csv", flow_csv([_row("2026-03-10"), _row("2026-04-12")]))
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01", qty=3), _row("2026-03-31", qty=3)]))
    assert by_path(ingest())["flow/D001/march.csv"]["status"] == "conflict"
    _decide(settings, "flow/D001/march.csv: replace\n")
    assert by_path(ingest())["flow/D001/march.csv"]["status"] == "loaded"
    assert query("select path, status, period_start, period_end, superseded_by "
                 "from audit.file_registry where path = 'flow/D001/mar_apr.csv'") == [
        ("flow/D001/mar_apr.csv", "superseded", dt.date(2026, 3, 10), dt.date(2026, 4, 12), 2)]
    assert query("select count(*) from raw.flow__lines where month(sale_date) = 4") == [(0,)]
