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


def test_older_resend_arriving_late_is_superseded_not_loaded(put, ingest, query):
    put("flow/D001/march_v2.csv", flow_csv([_row("2026-03-01", qty=7), _row("2026-03-31", qty=7)]),
        age=100)
    ingest()
    put("flow/D001/march_v1.csv", flow_csv([_row("2026-03-02"), _row("2026-03-30")]), age=5000)
    report = ingest()
    assert by_path(report)["flow/D001/march_v1.csv"]["status"] == "superseded"
    assert query("select sum(quantity) from raw.flow__lines") == [(14.0,)]


def test_rejected_file_is_retried_and_loads_once_fixed(settings, inbox, put, ingest, query,
                                                       tmp_path):
    from dataclasses import replace

    from ingestion.pipeline import ingest_inbox

    put("flow/D007/march.csv", "开单日,终端,货品,发货量\n2026-03-05,协和,阿莫西林,2\n")
    assert ingest().files[0].status == "rejected"
    mappings = tmp_path / "maps"
    mappings.mkdir()
    (mappings / "D007.yaml").write_text(
        "columns: {开单日: sale_date, 终端: buyer_name, 货品: product_name, 发货量: quantity}\n",
        encoding="utf-8")
    fixed = ingest_inbox(replace(settings, mappings_dir=mappings), inbox)
    assert fixed.files[0].status == "loaded"
    assert query("select file_id, status from audit.file_registry") == [(1, "loaded")]
    assert query("select count(*) from raw.flow__lines") == [(1,)]


def test_inventory_resend_for_same_snapshot_supersedes(put, ingest, query):
    put("inventory/D001/stock_20260331.csv", "品名,数量\n阿莫西林,100\n")
    put("inventory/D001/stock_20260331_fix.csv", "品名,数量\n阿莫西林,90\n")
    ingest()
    assert query("select quantity from raw.inventory__lines") == [(90.0,)]


def test_arrival_time_is_business_local_time_whatever_the_server_zone(put, ingest, query):
    """A file that reached the inbox at 2026-11-11 01:30 in Shanghai (2026-11-10 17:30 UTC)
    arrived on the 11th: late for October, even on a server running in UTC."""
    path = put("flow/D001/oct.csv", flow_csv([_row("2026-10-05")]))
    stamp = dt.datetime(2026, 11, 10, 17, 30, tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))
    ingest()
    assert query("select received_at from audit.file_registry") == [
        (dt.datetime(2026, 11, 11, 1, 30),)]
