"""The unchanged-data proof of `sfe run` is a look-up while it is a proof (issue 14): the
fingerprint a run left is reused only when the database files are untouched since and the run
itself wrote no data; a table edited by hand with duckdb between runs is still seen."""

from __future__ import annotations

import os

import duckdb
import pytest

from orchestration import pipeline
from quality import store
from quality.publish import publish
from tests.quality.conftest import execute
from tests.quality.test_unchanged import cheap_gates, check  # noqa: F401 - autouse fixture
from tests.sfe.test_pipeline import FakeReport

NOTHING_LOADED = {"files": [{"path": "flow/D01/2026-10.csv", "status": "duplicate",
                             "rows_loaded": 0, "supersedes": []}]}
NOTHING_BUILT = {"up_to_date": True, "matching": {"unchanged_since": "run-0"}}


@pytest.fixture
def stages(warehouse, monkeypatch) -> dict[str, dict]:
    """ingest and build report what the test sets (default: wrote nothing); check and publish
    are the real ones (cheap gates)."""
    payloads = {"ingest": dict(NOTHING_LOADED), "build": dict(NOTHING_BUILT)}

    def stage(step: str):
        def func(settings, *args, **kwargs):
            if step == "check":
                return check(settings, kwargs["run_id"], kwargs.get("fingerprint"))
            if step == "publish":
                return publish(settings)
            return FakeReport(payload=payloads[step])
        return func

    for step, name in {"ingest": "ingest_inbox", "build": "build_step", "check": "run_checks",
                       "publish": "publish"}.items():
        monkeypatch.setattr(pipeline, name, stage(step))
    return payloads


@pytest.fixture
def scans(monkeypatch) -> list[int]:
    """Counts the hash scans of every table (store.fingerprint)."""
    taken: list[int] = []
    real = store.fingerprint

    def counted(con):
        taken.append(1)
        return real(con)

    monkeypatch.setattr(store, "fingerprint", counted)
    return taken


def test_a_second_run_with_nothing_written_looks_the_fingerprint_up(warehouse, stages,
                                                                     scans) -> None:
    first = pipeline.run_pipeline(warehouse)
    # nothing published to compare with; the check defers its fingerprint to its candidate
    assert first.published_snapshot and scans == []
    second = pipeline.run_pipeline(warehouse)
    assert scans == []
    assert second.headline().startswith("NOTHING NEW")
    assert pipeline.run_pipeline(warehouse).headline().startswith("NOTHING NEW")
    assert scans == []


def test_a_table_edited_by_hand_with_duckdb_between_runs_is_seen(warehouse, stages,
                                                                  scans) -> None:
    first = pipeline.run_pipeline(warehouse)
    pipeline.run_pipeline(warehouse)  # nothing new, looked up
    con = duckdb.connect(str(warehouse.working_db))  # as the duckdb CLI would: same row count
    try:
        con.execute("update marts.fct_sell_out set amount = amount + 1 "
                    "where rowid = (select min(rowid) from marts.fct_sell_out)")
    finally:
        con.close()
    scans.clear()
    third = pipeline.run_pipeline(warehouse)
    assert scans  # the files changed: the data is fingerprinted again
    assert third.published_snapshot not in (None, first.published_snapshot)


def test_rejected_or_conflict_files_judged_again_write_no_data(warehouse, stages,
                                                                scans) -> None:
    """A release re-examines rejected files: registry rows only, so still a look-up."""
    pipeline.run_pipeline(warehouse)
    stages["ingest"] = {"files": [
        {"path": "flow/D01/bad.csv", "status": "rejected", "rows_loaded": 0,
         "rows_quarantined": 0, "supersedes": [], "unchanged_since": None},
        {"path": "flow/D01/late.csv", "status": "conflict", "rows_loaded": 0,
         "rows_quarantined": 0, "supersedes": [], "unchanged_since": None}]}
    scans.clear()
    assert pipeline.run_pipeline(warehouse).headline().startswith("NOTHING NEW")
    assert scans == []


@pytest.mark.parametrize("step, payload", [
    ("ingest", {"files": [{"path": "flow/D01/2026-11.csv", "status": "loaded",
                           "rows_loaded": 12, "supersedes": []}]}),
    ("ingest", {"files": [{"path": "flow/D01/2026-12.csv", "status": "partial",
                           "rows_loaded": 0, "rows_quarantined": 3, "supersedes": []}]}),
    ("ingest", {"files": [{"path": "flow/D01/2026-10b.csv", "status": "duplicate",
                           "rows_loaded": 0, "supersedes": [3]}]}),
    ("build", {"up_to_date": False, "matching": {"unchanged_since": "run-0"}}),
    ("build", {"up_to_date": True, "matching": {"unchanged_since": None}}),
])
def test_a_run_whose_own_steps_wrote_data_checks_it_without_hashing_it(
        warehouse, stages, scans, step, payload) -> None:
    """A new month: its data cannot be the last check's, so no hash of every row (history-
    sized) is taken to tell; the check runs and publishes. The run after it, nothing written,
    is told nothing new by the stamp alone."""
    first = pipeline.run_pipeline(warehouse)
    stages[step] = payload
    scans.clear()
    second = pipeline.run_pipeline(warehouse)
    assert scans == []
    assert second.published_snapshot not in (None, first.published_snapshot)
    stages.update({"ingest": dict(NOTHING_LOADED), "build": dict(NOTHING_BUILT)})
    assert pipeline.run_pipeline(warehouse).headline().startswith("NOTHING NEW")
    assert scans == []


def test_a_step_whose_report_does_not_say_means_comparing_by_content(warehouse, stages,
                                                                      scans) -> None:
    """Unknown is not "written": the data now and the checked data (from the candidate copy,
    the check having deferred its fingerprint) are hashed, found equal: nothing new."""
    pipeline.run_pipeline(warehouse)
    stages["ingest"] = {}
    scans.clear()
    assert pipeline.run_pipeline(warehouse).headline().startswith("NOTHING NEW")
    assert scans == [1, 1]


def test_the_kept_fingerprint_stands_only_while_the_files_are_untouched(warehouse) -> None:
    db = warehouse.working_db
    execute(warehouse, "create table if not exists marts.t as select 1 as x")
    store.record_stamp(db, "abc")
    assert store.stamped(db) == "abc"
    execute(warehouse, "update marts.t set x = 2")  # same size, new ctime
    assert store.stamped(db) is None
    store.record_stamp(db, "def")
    st = os.stat(db)
    with open(db, "r+b") as fh:  # rewritten in place, mtime set back: ctime still moves
        fh.seek(st.st_size - 1)
        last = fh.read(1)
        fh.seek(st.st_size - 1)
        fh.write(last)
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(db).st_mtime_ns == st.st_mtime_ns
    assert store.stamped(db) is None


def test_a_wal_left_by_a_writer_means_no_look_up(warehouse) -> None:
    db = warehouse.working_db
    execute(warehouse, "create table if not exists marts.t as select 1 as x")
    store.record_stamp(db, "abc")
    wal = db.with_name(db.name + ".wal")
    wal.write_bytes(b"pending")
    try:
        assert store.stamped(db) is None
    finally:
        wal.unlink()


def test_the_fingerprint_is_the_digest_of_each_rows_hash_as_before(tmp_path) -> None:
    """The fingerprint hashes a row's columns (hash(c1, .., cn)), not the row as a struct
    (hash(t), as earlier versions did, slower): the digest must not move, or every check a
    published snapshot records would stop matching its unchanged data. Columns of every kind,
    NULLs, a quoted name, two schemas."""
    import hashlib

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute('''
        create schema marts;
        create table marts."odd ""name""" ("a b" varchar, n integer, l integer[], s struct(x int),
                                           d date, m decimal(18, 4), f double);
        insert into marts."odd ""name""" values ('北医三院', 1, [1, 2], {'x': 3}, date '2026-05-01',
            12.3456, 0.1), (null, null, null, null, null, null, null), ('', -7, [], {'x': null},
            date '1999-12-31', -0.0001, 1e300);
        create table main.empty (k varchar);
        create view marts.v as select 1 as one''')
    digest = hashlib.sha256()
    for schema, table in [("main", "empty"), ("marts", 'odd "name"')]:
        quoted = '"' + schema + '"."' + table.replace('"', '""') + '"'
        count, hashed = con.execute(f"select count(*), coalesce(sum(hash(t)::hugeint), 0) "
                                    f"from {quoted} as t").fetchone()
        digest.update(f"t|{schema}.{table}|{count}|{hashed}\n".encode())
    sql = con.execute("select sql from duckdb_views() where view_name = 'v'").fetchone()[0]
    digest.update(f"v|marts.v|{sql}\n".encode())
    assert store.fingerprint(con) == digest.hexdigest()[:16]
    con.close()


def test_the_run_asks_its_match_for_no_raw_digest(warehouse, stages, monkeypatch) -> None:
    """Its next run proves the raw rows by the files' stat (matching/inputs.py)."""
    asked: list[dict] = []
    real = pipeline.build_step

    def build(settings, *args, **kwargs):
        asked.append(kwargs)
        return real(settings, *args, **kwargs)

    monkeypatch.setattr(pipeline, "build_step", build)
    pipeline.run_pipeline(warehouse)
    assert asked and asked[0]["record_raw"] is False
