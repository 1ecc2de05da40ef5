"""A group of files written at once (issue 14, ingestion/deferred.py): the rows, quarantine
rows, registry rows and retry keys of a group are held and written once per group, and the
outcome is the one of writing each file on its own: same statuses, reasons, ids, registry
rows, retry keys and quarantined rows; a failed group write is redone file by file; a kill
before the group's commit leaves none of the group."""

from __future__ import annotations

import functools
import signal
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

import ingestion.batching as batching
import ingestion.pipeline as pipeline
from ingestion.batching import GroupedWrites, write_while
from ingestion.pipeline import ingest_inbox
from sfe.config import load_settings
from sfe.signals import Stopped
from tests.ingestion.conftest import flow_csv, kill_child_at_marker


@pytest.fixture(params=["inline", "overlapped"])
def write_mode(request):
    """Each group's held writes written inline, or (as for large groups) in a thread while the
    reader workers parse on: the outcome must not tell them apart."""
    if request.param == "inline":
        yield request.param
        return
    bound = batching.OVERLAP_ROWS
    batching.OVERLAP_ROWS = 0  # every held write through `write_while`
    try:
        yield request.param
    finally:
        batching.OVERLAP_ROWS = bound


def _row(day: str, qty: int = 10, product: str = "阿莫西林胶囊") -> str:
    return f"{day},北京协和医院,{product},0.25g*24,B001,{qty},盒,100"


def _mixed_group(put) -> None:
    """Six files for one group, oldest first (ids 1-6 in this order)."""
    put("flow/D001/march.csv", flow_csv([_row("2026-03-01"), _row("2026-03-31")]))
    put("flow/D001/bad.csv", b"\x00\x01binary")
    v2 = flow_csv([_row("2026-03-01", 7), _row("2026-03-15", 7), _row("2026-03-31", 7)])
    put("flow/D001/march_v2.csv", v2)  # covers march.csv: supersedes it
    put("flow/D001/march_copy.csv", v2)  # same bytes: a duplicate of march_v2
    put("flow/D001/mid.csv", flow_csv([_row("2026-03-20"), _row("2026-04-10")]))  # in part
    put("flow/D002/april.csv", flow_csv([_row("2026-04-05", 5), _row("2026-04-40", 3)]))


def _state(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "registry": con.execute(
                "select file_id, path, status, rows_read, rows_loaded, rows_quarantined, reasons, "
                "period_start, period_end, duplicate_of, superseded_by, conflict_with "
                "from audit.file_registry order by 1").fetchall(),
            "retry": con.execute("select file_id, retry_key from audit.file_retry order by 1"
                                 ).fetchall(),
            "rows": con.execute("select file_id, sale_date, quantity, source_row "
                                "from raw.flow__lines order by all").fetchall(),
            "quarantine": con.execute("select file_id, source_row, reason, raw_values "
                                      "from quarantine.rows order by all").fetchall()}
    finally:
        con.close()


def _one_file_a_commit(monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "GroupedWrites", functools.partial(GroupedWrites, max_files=1))


def test_a_mixed_group_ends_as_hand_computed_and_as_one_file_a_commit(
        settings, inbox, put, tmp_path, monkeypatch, write_mode):
    _mixed_group(put)
    report = ingest_inbox(settings, inbox)
    statuses = [(f.path, f.status, f.file_id) for f in report.files]
    assert statuses == [("flow/D001/march.csv", "superseded", 1),
                        ("flow/D001/bad.csv", "rejected", 2),
                        ("flow/D001/march_v2.csv", "loaded", 3),
                        ("flow/D001/march_copy.csv", "duplicate", 4),
                        ("flow/D001/mid.csv", "conflict", 5),
                        ("flow/D002/april.csv", "partial", 6)]
    grouped = _state(settings.working_db)
    assert [r[:6] + r[9:] for r in grouped["registry"]] == [
        (1, "flow/D001/march.csv", "superseded", 2, 2, 0, None, 3, None),
        (2, "flow/D001/bad.csv", "rejected", 0, 0, 0, None, None, None),
        (3, "flow/D001/march_v2.csv", "loaded", 3, 3, 0, None, None, None),
        (4, "flow/D001/march_copy.csv", "duplicate", 0, 0, 0, 3, None, None),
        (5, "flow/D001/mid.csv", "conflict", 0, 0, 0, None, None, 3),
        (6, "flow/D002/april.csv", "partial", 2, 1, 1, None, None, None)]
    assert [r[0] for r in grouped["retry"]] == [1, 2, 3, 5, 6]  # every file read
    assert [(r[0], r[2]) for r in grouped["rows"]] == [(3, 7.0), (3, 7.0), (3, 7.0), (6, 5.0)]
    assert [(r[0], r[1]) for r in grouped["quarantine"]] == [(6, 3)]  # april's 2nd data row

    _one_file_a_commit(monkeypatch)  # the same inbox into a warehouse of its own
    solo = load_settings(env={}, data_dir=tmp_path / "solo")
    ingest_inbox(solo, inbox)
    assert _state(solo.working_db) == grouped

    monkeypatch.undo()
    again = ingest_inbox(settings, inbox)  # the retry keys are the ones the next run computes
    assert {f.path: f.unchanged_since for f in again.files if f.status in (
        "rejected", "conflict")} == {"flow/D001/bad.csv": report.run_id,
                                     "flow/D001/mid.csv": report.run_id}
    assert _state(settings.working_db) == grouped


class _Counting:
    """The ingest's connection, counting the statements sent to DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.con, name)


def test_a_group_of_files_is_written_with_one_insert_per_table(settings, inbox, put,
                                                               monkeypatch):
    """Eight files, each with a quarantined row and a rejected ninth: one statement each for
    the flow rows, the quarantine rows, the registry rows and the retry keys (was one a file)."""
    for month in range(1, 9):
        put(f"flow/D001/m{month}.csv", flow_csv([_row(f"2026-{month:02d}-05"),
                                                 _row(f"2026-{month:02d}-40")]))
    put("flow/D001/broken.csv", b"\x00\x01binary")
    seen: list[_Counting] = []

    def counted(con, **kw):
        seen.append(_Counting(con))
        return GroupedWrites(seen[-1], **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "GroupedWrites", counted)
    report = ingest_inbox(settings, inbox)
    assert [f.status for f in report.files] == ["partial"] * 8 + ["rejected"]
    statements = seen[0].statements
    for table in ("raw.flow__lines", "quarantine.rows", "audit.file_registry"):
        assert sum(s.startswith(f"insert into {table}") for s in statements) == 1, table
    assert sum("audit.file_retry" in s for s in statements) == 1
    assert statements.count("commit") == 1


def test_a_group_write_that_fails_is_redone_file_by_file_and_blames_one_file(
        settings, inbox, put, monkeypatch, write_mode):
    """The group's one insert fails for one file's rows: the group is rolled back and written
    again one file a commit, where only that file fails; the others load once each."""
    for name, day in (("a", "2026-03-05"), ("b", "2026-04-05"), ("c", "2026-05-05")):
        put(f"flow/D001/{name}.csv", flow_csv([_row(day)]))
    original = pipeline._insert_rows

    def bad_column(con, reg, source, parsed):  # b.csv's rows carry a column raw lacks
        if reg.path.endswith("b.csv"):
            parsed.loaded = parsed.loaded.with_columns(no_such_column=1)
        original(con, reg, source, parsed)

    monkeypatch.setattr(pipeline, "_insert_rows", bad_column)
    report = ingest_inbox(settings, inbox)
    assert [(f.path, f.status) for f in report.files] == [
        ("flow/D001/a.csv", "loaded"), ("flow/D001/b.csv", "rejected"),
        ("flow/D001/c.csv", "loaded")]
    assert "no_such_column" in report.files[1].reasons[0]
    state = _state(settings.working_db)
    assert [(r[1], r[2], r[4]) for r in state["registry"]] == [
        ("flow/D001/a.csv", "loaded", 1), ("flow/D001/b.csv", "rejected", 0),
        ("flow/D001/c.csv", "loaded", 1)]
    assert sorted(str(r[1]) for r in state["rows"]) == ["2026-03-05", "2026-05-05"]


# The real ingest in a child: once the group's held writes are in the database (the commit
# not yet sent) it says so and waits, to be killed there.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import ingestion.deferred as d
    import ingestion.pipeline as p
    from sfe.config import load_settings

    inbox, data, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    original = d.Deferred.write

    def write_then_wait(self, con):
        files = len(self.registry)
        original(self, con)
        if files > 1:
            marker.write_text("written")
            time.sleep(60)

    d.Deferred.write = write_then_wait
    p.ingest_inbox(load_settings(env={}, data_dir=data), inbox)
""")


def test_a_kill_after_the_group_is_written_before_its_commit_leaves_none_of_it(
        settings, inbox, put, tmp_path):
    put("flow/D001/march.csv", flow_csv([_row("2026-03-05")]))
    ingest_inbox(settings, inbox)
    before = _state(settings.working_db)
    put("flow/D001/april.csv", flow_csv([_row("2026-04-05"), _row("2026-04-40")]))
    put("flow/D001/may.csv", flow_csv([_row("2026-05-05")]))
    put("flow/D001/broken.csv", b"\x00\x01binary")
    kill_child_at_marker(CHILD, inbox, settings.data_dir, tmp_path / "written", "wrote a group")
    assert _state(settings.working_db) == before  # nothing of the three files
    report = ingest_inbox(settings, inbox)
    assert [(f.path, f.status, f.file_id) for f in report.files] == [
        ("flow/D001/march.csv", "duplicate", 1), ("flow/D001/april.csv", "partial", 2),
        ("flow/D001/may.csv", "loaded", 3), ("flow/D001/broken.csv", "rejected", 4)]
    state = _state(settings.working_db)
    assert [(r[0], str(r[1])) for r in state["rows"]] == [
        (1, "2026-03-05"), (2, "2026-04-05"), (3, "2026-05-05")]
    assert [r[0] for r in state["quarantine"]] == [2]
    assert [r[0] for r in state["retry"]] == [1, 2, 3, 4]  # every file read



def test_a_group_past_its_held_rows_writes_them_early_and_still_commits_once(
        settings, inbox, put, monkeypatch):
    """Large files: the rows held past `max_held_rows` go into the open transaction at the
    file's end (bounded memory), the group still ends in one commit with every row once."""
    for month in range(1, 5):
        put(f"flow/D001/m{month}.csv", flow_csv([_row(f"2026-{month:02d}-05"),
                                                 _row(f"2026-{month:02d}-06")]))
    seen: list[_Counting] = []

    def counted(con, **kw):
        seen.append(_Counting(con))
        return GroupedWrites(seen[-1], **kw, max_held_rows=3)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "GroupedWrites", counted)
    report = ingest_inbox(settings, inbox)
    assert [f.status for f in report.files] == ["loaded"] * 4
    statements = seen[0].statements
    # 2 + 2 rows reach the bound: written after the 2nd and the 4th file
    assert sum(s.startswith("insert into raw.flow__lines") for s in statements) == 2
    assert statements.count("commit") == 1
    assert [(r[0], r[1].month) for r in _state(settings.working_db)["rows"]] == [
        (1, 1), (1, 1), (2, 2), (2, 2), (3, 3), (3, 3), (4, 4), (4, 4)]


# -- the group's write in a thread while the workers parse on (write_while) ------------------

SLOW_QUERY = "select count(*) from range(20000000000) t(a) where a % 7 = 3"  # minutes


def test_the_write_runs_while_meanwhile_is_called_and_its_error_is_raised_here():
    con = duckdb.connect()
    con.execute("create table t (a int)")
    calls: list[float] = []

    def meanwhile(wait: float) -> bool:
        calls.append(wait)
        time.sleep(wait)
        return True

    write_while(lambda: con.execute("insert into t select range from range(3)"), meanwhile, con)
    assert con.execute("select sum(a) from t").fetchone() == (3,)
    with pytest.raises(duckdb.Error, match="boom"):
        write_while(lambda: con.execute("select error('boom')"), meanwhile, con)
    assert con.execute("select 1").fetchone() == (1,)  # usable after the failed write


def test_a_stop_signal_meanwhile_interrupts_the_write_and_is_raised():
    """The first stop signal lands in the waiting thread: the write in the other thread is
    interrupted (not run to its end) and the signal raised; the connection stays usable."""
    con = duckdb.connect()
    ended: list[str] = []

    def write() -> None:
        try:
            con.execute(SLOW_QUERY).fetchall()
            ended.append("ran to its end")
        except duckdb.Error as exc:
            ended.append(type(exc).__name__)
            raise

    def meanwhile(wait: float) -> bool:
        time.sleep(0.2)  # the query is under way
        raise Stopped(signal.SIGTERM)

    with pytest.raises(Stopped):
        write_while(write, meanwhile, con)
    assert ended == ["InterruptException"]
    assert con.execute("select 1").fetchone() == (1,)
