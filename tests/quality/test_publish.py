"""Publishing: only checked, passing data becomes current.duckdb; a failure keeps the last good."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from quality.gates import run_checks
from quality.publish import publish
from quality.published import NoPublishedSnapshot, open_published, published_status
from tests.quality.conftest import TODAY, execute

CHEAP = ["future_dates", "kpi_rates_out_of_bounds", "flow_completeness"]


def check(settings, run_id=None):
    return run_checks(settings, select=CHEAP, today=TODAY, run_id=run_id)


def published_info(settings) -> dict:
    con = open_published(settings)
    try:
        cur = con.execute("select * from audit.publish_info")
        rows = cur.fetchall()
        assert len(rows) == 1
        return dict(zip([d[0] for d in cur.description], rows[0]))
    finally:
        con.close()


def test_nothing_published_yet_is_a_clear_error(warehouse) -> None:
    with pytest.raises(NoPublishedSnapshot, match="sfe run"):
        open_published(warehouse)
    status = published_status(warehouse)
    assert status["data_status"] == "none" and status["published"] is False


def test_publish_refuses_without_a_check(warehouse) -> None:
    report = publish(warehouse)
    assert report.outcome == "refused" and report.exit_code == 1
    assert "sfe check" in report.reason
    assert not warehouse.published_db.exists()


def test_passing_check_publishes_a_stamped_snapshot(warehouse) -> None:
    check(warehouse, "run-1")
    report = publish(warehouse)
    assert report.outcome == "published" and report.exit_code == 0
    info = published_info(warehouse)
    assert info["snapshot_id"] == report.snapshot_id
    assert info["run_id"] == "run-1" and info["gate_status"] == "passed"
    assert info["as_of_date"] == "2026-10-10" and info["as_of_month"] == "2026-10"
    con = open_published(warehouse)
    try:  # the stamp is audit only; dbt's views show it in marts (tests/dbt/test_build.py)
        assert con.execute("select count(*) from marts.fct_sell_out").fetchone()[0] == 36
        assert con.execute("select check_name, status from audit.gate_results "
                           "where run_id = 'run-1' and check_name = 'future_dates'"
                           ).fetchall() == [("future_dates", "pass")]
    finally:
        con.close()
    # the working warehouse still says 'unchecked': only the snapshot is stamped
    wcon = duckdb.connect(str(warehouse.working_db), read_only=True)
    try:
        assert wcon.execute("select distinct data_status from marts.scorecard_weekly"
                            ).fetchall() == [("unchecked",)]
        log = wcon.execute("select outcome, snapshot_id from audit.publish_log").fetchall()
    finally:
        wcon.close()
    assert log == [("published", report.snapshot_id)]
    status = published_status(warehouse)
    assert status["data_status"] == "passed" and status["snapshot_id"] == report.snapshot_id
    doc = json.loads((warehouse.published_dir / "status.json").read_text(encoding="utf-8"))
    assert doc["current"]["snapshot_id"] == report.snapshot_id
    assert doc["last_attempt"]["outcome"] == "published"
    assert doc["last_check"]["status"] == "passed"
    assert (warehouse.published_dir / "snapshots" / f"{report.snapshot_id}.duckdb").exists()


def test_blocking_failure_keeps_the_last_good_snapshot(warehouse) -> None:
    check(warehouse, "run-good")
    good = publish(warehouse)
    execute(warehouse, "update marts.kpi_coverage set coverage_rate = 1.7")
    failed = check(warehouse, "run-bad")
    assert failed.status == "failed"
    # right after the failing check, before any publish, dashboards already know
    assert published_status(warehouse)["data_status"] == "stale"
    refused = publish(warehouse)
    assert refused.outcome == "refused" and refused.exit_code == 1
    assert "kpi_rates_out_of_bounds" in refused.reason
    assert refused.current_snapshot_id == good.snapshot_id
    assert published_info(warehouse)["snapshot_id"] == good.snapshot_id
    con = open_published(warehouse)
    try:  # the bad rate never reached readers
        assert con.execute("select max(coverage_rate) from marts.kpi_coverage").fetchone()[0] == 0.6
    finally:
        con.close()
    status = published_status(warehouse)
    assert status["data_status"] == "stale"
    assert status["snapshot_id"] == good.snapshot_id
    assert "kpi_rates_out_of_bounds" in status["reason"]
    assert status["last_attempt"]["outcome"] == "refused"
    assert status["last_check"]["blocking_failures"] == ["kpi_rates_out_of_bounds"]
    wcon = duckdb.connect(str(warehouse.working_db), read_only=True)
    try:
        log = wcon.execute("select outcome, snapshot_id, reason from audit.publish_log "
                           "order by attempted_at").fetchall()
    finally:
        wcon.close()
    assert [r[:2] for r in log] == [("published", good.snapshot_id),
                                    ("refused", good.snapshot_id)]
    # fixed data, checked again: published again, status back to passed
    execute(warehouse, "update marts.kpi_coverage set coverage_rate = 0.6")
    check(warehouse, "run-fixed")
    assert publish(warehouse).outcome == "published"
    assert published_status(warehouse)["data_status"] == "passed"


def test_data_changed_after_the_check_is_refused(warehouse) -> None:
    check(warehouse)
    execute(warehouse, """insert into marts.fct_sell_in values
                          (date '2026-10-03', '2026-10', 'D2', 'P1', 5, 100)""")
    report = publish(warehouse)
    assert report.outcome == "refused"
    assert "changed after the last check" in report.reason


def test_publish_right_after_the_check_takes_its_fingerprint_from_the_stamp(
        warehouse, monkeypatch) -> None:
    """The check leaves the data's fingerprint with the files' stat: publish right after it
    hashes no table; any write since (here an insert) makes it hash again, and refuse."""
    from quality import store

    hashed: list[int] = []
    real = store.fingerprint
    monkeypatch.setattr(store, "fingerprint", lambda con: hashed.append(1) or real(con))
    check(warehouse, "run-1")
    hashed.clear()
    assert publish(warehouse).outcome == "published" and hashed == []
    # a check's stamp is its own: the run's (`sfe run` trusts it to mean "as the last run,
    # build included, left it", quality/unchanged.py) is not written by a check
    assert not store.stamp_path(warehouse.working_db).exists()
    check(warehouse, "run-2")
    execute(warehouse, """insert into marts.fct_sell_in values
                          (date '2026-10-03', '2026-10', 'D2', 'P1', 5, 100)""")
    hashed.clear()
    report = publish(warehouse)
    assert report.outcome == "refused" and "changed after the last check" in report.reason
    assert hashed == [1, 1]  # the data now and the checked candidate (the check took none)


def test_a_check_defers_its_fingerprint_to_the_candidate_which_holds_the_data(
        warehouse) -> None:
    """`sfe check` hashes no row of the working data: its candidate copy is the data checked,
    fingerprint for fingerprint (the gates write only audit into it)."""
    from quality import candidate, store

    check(warehouse, "run-1")
    con = duckdb.connect(str(warehouse.working_db))
    try:
        run = store.latest_run(con)
        working = store.fingerprint(con)
    finally:
        con.close()
    assert run["fingerprint"] is None
    assert candidate.checked_fingerprint(warehouse, run) == working


def test_publish_after_a_write_that_changed_no_data_compares_content_and_publishes(
        warehouse) -> None:
    """The files written (their stat moved: the check's stamp proves nothing) but every row
    as checked: publish holds the data to the candidate by content, and publishes."""
    check(warehouse, "run-1")
    execute(warehouse, "create table marts.scratch as select 1 as x")
    execute(warehouse, "drop table marts.scratch")
    report = publish(warehouse)
    assert report.outcome == "published", report.reason


def test_only_the_last_snapshots_are_kept(warehouse) -> None:
    settings = replace(warehouse, snapshots_kept=2)
    ids = []
    for i in range(4):
        check(settings, f"run-{i}")
        ids.append(publish(settings).snapshot_id)
    kept = sorted(p.stem for p in (settings.published_dir / "snapshots").glob("*.duckdb"))
    assert kept == sorted(ids[-2:])
    assert published_info(settings)["snapshot_id"] == ids[-1]
    assert published_status(settings)["snapshots"] == kept
    leftovers = [p.name for p in settings.published_dir.rglob(".*") if p.name != "status.json"]
    assert leftovers == []


def test_views_in_the_snapshot_still_resolve(warehouse) -> None:
    """dbt views name the working catalog ("working"."marts"...); they work in the copy."""
    execute(warehouse, 'create view marts.v_sell_out as '
                       'select * from "working"."marts"."fct_sell_out"')
    check(warehouse)
    publish(warehouse)
    con = open_published(warehouse)
    try:
        assert con.execute("select count(*) from marts.v_sell_out").fetchone()[0] == 36
    finally:
        con.close()


def test_publish_command_via_cli(warehouse, capsys) -> None:
    from orchestration import cli

    check(warehouse)
    code = cli.main(["publish", "--json", "--data-dir", str(warehouse.data_dir)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["outcome"] == "published"


def test_disk_full_during_publish_keeps_the_last_good_snapshot(warehouse, monkeypatch) -> None:
    import quality.publish as pub

    check(warehouse)
    good = publish(warehouse)

    def no_space(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pub.shutil, "copyfile", no_space)
    report = publish(warehouse)
    assert report.outcome == "failed" and report.exit_code == 1
    assert "No space left on device" in report.reason
    assert report.current_snapshot_id == good.snapshot_id
    assert published_info(warehouse)["snapshot_id"] == good.snapshot_id
    status = published_status(warehouse)
    assert status["data_status"] == "stale" and status["last_attempt"]["outcome"] == "failed"
    assert [p.name for p in warehouse.published_dir.rglob(".*")] == []
    assert sorted(p.stem for p in (warehouse.published_dir / "snapshots").glob("*.duckdb")) \
        == [good.snapshot_id]


def test_a_corrected_file_with_the_same_row_count_is_not_published_under_the_old_check(
        warehouse) -> None:
    """Issue 11, case 2: check passes, a corrected file is loaded and built (same number of
    rows, other amounts), publish must refuse: that data was never checked."""
    check(warehouse, "run-before")
    execute(warehouse, "update marts.fct_sell_out set amount = amount * 10 "
                       "where distributor_code = 'D2' and month = '2026-10'")
    report = publish(warehouse)
    assert report.outcome == "refused" and report.exit_code == 1
    assert "changed after the last check" in report.reason and "sfe check" in report.reason
    assert not warehouse.published_db.exists()


def test_publish_promotes_the_checked_candidate_not_the_working_file(warehouse) -> None:
    """What readers get is the file the gates ran on: its gate run inside, its data."""
    import quality.candidate as cand

    check(warehouse, "run-c")
    (checked,) = list(cand.candidates_dir(warehouse).glob("*.duckdb"))
    assert checked.stem == "run-c"
    report = publish(warehouse)
    assert report.outcome == "published"
    con = open_published(warehouse)
    try:
        runs = con.execute("select run_id, status from audit.gate_runs").fetchall()
        total = con.execute("select sum(amount) from marts.fct_sell_out").fetchone()[0]
    finally:
        con.close()
    assert runs == [("run-c", "passed")]
    assert total == 6 * (3000 + 2000 + 1500 + 3000 + 2000 + 1500)


def test_an_altered_candidate_is_refused(warehouse) -> None:
    import quality.candidate as cand

    check(warehouse, "run-a")
    path = cand.candidate_path(warehouse, "run-a")
    con = duckdb.connect(str(path))
    try:
        con.execute("update marts.kpi_coverage set coverage_rate = 0.99")
    finally:
        con.close()
    report = publish(warehouse)
    assert report.outcome == "refused" and "altered" in report.reason
    assert "sfe check" in report.reason and not warehouse.published_db.exists()


def test_a_missing_candidate_is_refused(warehouse) -> None:
    import quality.candidate as cand

    check(warehouse, "run-m")
    cand.candidate_path(warehouse, "run-m").unlink()
    report = publish(warehouse)
    assert report.outcome == "refused" and "missing" in report.reason
    assert "sfe check" in report.reason


def test_only_the_latest_candidate_is_kept(warehouse) -> None:
    import quality.candidate as cand

    for i in range(3):
        check(warehouse, f"run-{i}")
    assert sorted(p.name for p in cand.candidates_dir(warehouse).iterdir()) == [
        "run-2.duckdb", "run-2.duckdb.sealed.json"]


def test_a_killed_checks_half_copied_candidate_is_removed(warehouse) -> None:
    import quality.candidate as cand

    folder = cand.candidates_dir(warehouse)
    folder.mkdir(parents=True)
    (folder / ".tmp-killed.duckdb").write_bytes(b"half a file")
    check(warehouse, "run-k")
    assert sorted(p.name for p in folder.iterdir()) == ["run-k.duckdb", "run-k.duckdb.sealed.json"]


def test_a_publish_right_after_the_check_hashes_no_candidate_bytes(warehouse, monkeypatch) -> None:
    """The candidate's sha256 is kept with its stat when the check seals it: a publish while
    nothing has written the file since reads it back; a candidate written since (here: its
    bytes rewritten as they were, so only its stat tells) is hashed again, and published when
    the bytes are still the checked ones."""
    import quality.candidate as cand

    check(warehouse, "run-a")
    path = cand.candidate_path(warehouse, "run-a")
    hashed: list[Path] = []
    real = cand.file_sha256
    monkeypatch.setattr(cand, "file_sha256", lambda p: hashed.append(p) or real(p))
    assert publish(warehouse).outcome == "published" and hashed == []
    path.write_bytes(path.read_bytes())
    assert publish(warehouse).outcome == "published" and hashed == [path]


def test_a_candidate_swapped_for_bytes_of_its_size_with_the_old_mtime_is_refused(warehouse) -> None:
    """The kept sha256 stands only while the file's stat is the sealed one: a file of the same
    size put in its place with the old mtime set back (os.utime) is a new inode and a new
    ctime, so it is hashed, and refused."""
    import os

    import quality.candidate as cand

    check(warehouse, "run-a")
    path = cand.candidate_path(warehouse, "run-a")
    st = path.stat()
    forged = path.with_name("forged.tmp")
    forged.write_bytes(bytes(st.st_size))
    os.utime(forged, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(forged, path)
    report = publish(warehouse)
    assert report.outcome == "refused" and "altered" in report.reason
