"""Which months a build rebuilds, from the registry before and after (sfe/build_months.py)."""

from __future__ import annotations

from pathlib import Path

from sfe import build_months

# file_id -> [source, status, period_start, period_end, loaded_at, sha256, superseded_by]
BEFORE = {
    "1": ["flow", "loaded", "2026-01-03", "2026-01-30", "2026-02-05T08:00:00", "a", None],
    "2": ["flow", "loaded", "2026-02-01", "2026-03-31", "2026-04-02T08:00:00", "b", None],
    "3": ["flow", "rejected", None, None, "2026-04-02T08:00:00", "c", None],
}


def test_nothing_changed_rebuilds_no_month():
    assert build_months.changed_months(BEFORE, dict(BEFORE)) == []


def test_a_new_file_rebuilds_every_month_of_its_period():
    after = {**BEFORE,
             "4": ["flow", "partial", "2026-04-28", "2026-06-02", "2026-06-05T08:00:00", "d", None]}
    assert build_months.changed_months(BEFORE, after) == ["2026-04", "2026-05", "2026-06"]


def test_a_superseded_file_rebuilds_its_old_period_and_the_new_ones():
    after = {**BEFORE,
             "2": ["flow", "superseded", "2026-02-01", "2026-03-31", "2026-04-02T08:00:00", "b",
                   5],
             "5": ["flow", "loaded", "2026-02-01", "2026-02-28", "2026-04-09T08:00:00", "e", None]}
    # February from both files, March because file 2's rows left raw
    assert build_months.changed_months(BEFORE, after) == ["2026-02", "2026-03"]


def test_a_removed_file_rebuilds_its_months():
    after = {k: v for k, v in BEFORE.items() if k != "1"}
    assert build_months.changed_months(BEFORE, after) == ["2026-01"]


def test_files_that_never_reached_raw_rebuild_nothing():
    after = {**BEFORE, "6": ["flow", "rejected", None, None, "2026-05-01T08:00:00", "f", None],
             "7": ["flow", "conflict", "2026-01-01", "2026-01-31", "2026-05-01T08:00:00", "g",
                   None]}
    assert build_months.changed_months(BEFORE, after) == []


def test_a_loaded_file_without_a_period_rebuilds_every_month():
    after = {**BEFORE, "8": ["master", "loaded", None, None, "2026-05-01T08:00:00", "h", None]}
    assert build_months.changed_months(BEFORE, after) is None


def test_without_the_last_builds_state_or_with_another_project_every_month(tmp_path: Path):
    assert build_months.months_since_last_build(tmp_path, "k1", BEFORE) is None
    build_months.record(tmp_path, "k1", BEFORE)
    after = {**BEFORE,
             "4": ["flow", "loaded", "2026-04-01", "2026-04-30", "2026-05-05T08:00:00", "d", None]}
    assert build_months.months_since_last_build(tmp_path, "k1", after) == ["2026-04"]
    assert build_months.months_since_last_build(tmp_path, "k2", after) is None


def test_new_matches_keep_the_build_incremental_changed_ones_do_not(tmp_path: Path):
    maps = {"customer_map": {"k1": "v1"}, "product_map": {"p1": "x"}}
    build_months.record(tmp_path, "k", BEFORE, maps)
    grown = {"customer_map": {"k1": "v1", "k2": "v2"}, "product_map": {"p1": "x"}}
    assert build_months.maps_only_grew(tmp_path, grown) is True
    rematched = {"customer_map": {"k1": "v9", "k2": "v2"}, "product_map": {"p1": "x"}}
    assert build_months.maps_only_grew(tmp_path, rematched) is False
    assert build_months.maps_only_grew(tmp_path, {"customer_map": {}, "product_map": {}}) is False


def test_calls_take_their_period_from_raw_and_tenders_reach_no_monthly_mart():
    import duckdb

    con = duckdb.connect()
    con.execute("create schema audit; create schema raw")
    con.execute("create table audit.file_registry (file_id bigint, source varchar, status varchar,"
                " period_start date, period_end date, loaded_at timestamp, sha256 varchar,"
                " superseded_by bigint)")
    con.execute("create table raw.crm__calls (file_id bigint, call_datetime timestamp)")
    con.execute("insert into audit.file_registry values (9, 'calls', 'loaded', null, null,"
                " '2026-06-01 08:00', 's', null), (10, 'tenders', 'loaded', null, null,"
                " '2026-06-01 08:00', 't', null)")
    con.execute("insert into raw.crm__calls values (9, '2026-04-30 23:00'), (9, '2026-05-02 09:00')")
    states = build_months.file_states(con)
    assert states["9"][2:4] == ["2026-04-30", "2026-05-02"]
    assert build_months.changed_months({}, states) == ["2026-04", "2026-05"]
