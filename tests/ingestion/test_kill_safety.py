"""Kill safety: SIGKILL during a file's load leaves the warehouse as it was before that file,
and the next run loads the file exactly once."""

from __future__ import annotations

import signal
import subprocess
import textwrap
from pathlib import Path

import duckdb

from ingestion.pipeline import ingest_inbox
from tests.ingestion.conftest import flow_csv, kill_child_at_marker

ROWS = 20_000

# Runs the real ingest; after the big file's rows are inserted (transaction still open) it
# says so and waits, so the test can kill it at exactly that point.
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import ingestion.pipeline as p
    from sfe.config import load_settings

    inbox, data, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    original = p._insert_rows

    def slow_insert(con, reg, source, parsed):
        original(con, reg, source, parsed)
        if parsed.loaded.height > 1000:
            marker.write_text("inserted")
            time.sleep(60)

    p._insert_rows = slow_insert
    p.ingest_inbox(load_settings(env={}, data_dir=data), inbox)
""")


def _big_flow(rows: int) -> str:
    body = [f"2026-04-{i % 28 + 1:02d},医院{i % 500},阿莫西林胶囊,0.25g*24,B{i},{i % 50 + 1},盒,"
            f"{(i % 50 + 1) * 10}" for i in range(rows)]
    return flow_csv(body)


def _state(db: Path) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("select count(*), sum(quantity) from raw.flow__lines").fetchall(),
                con.execute("select file_id, path, status, rows_loaded from audit.file_registry "
                            "order by 1").fetchall(),
                con.execute("select count(*) from quarantine.rows").fetchall())
    finally:
        con.close()


def _ingest_killed_at_insert(settings, inbox, tmp_path) -> subprocess.Popen:
    """`sfe ingest` in a child process, SIGKILLed once it reaches the insert of a file's rows."""
    return kill_child_at_marker(CHILD, inbox, settings.data_dir, tmp_path / "inserted",
                                "reached the insert")


def test_sigkill_mid_load_leaves_no_trace_and_rerun_loads_once(settings, inbox, put, tmp_path):
    put("flow/D001/march.csv", flow_csv(["2026-03-05,协和,阿莫西林胶囊,0.25g*24,B1,10,盒,100"]))
    ingest_inbox(settings, inbox)
    before = _state(settings.working_db)
    put("flow/D001/april.csv", _big_flow(ROWS))
    child = _ingest_killed_at_insert(settings, inbox, tmp_path)
    assert child.returncode == -signal.SIGKILL
    assert _state(settings.working_db) == before
    report = ingest_inbox(settings, inbox)
    assert [f.status for f in report.files] == ["duplicate", "loaded"]
    rows, registry, _ = _state(settings.working_db)
    assert rows[0][0] == ROWS + 1
    assert [r[1:] for r in registry] == [("flow/D001/march.csv", "loaded", 1),
                                        ("flow/D001/april.csv", "loaded", ROWS)]
    again = ingest_inbox(settings, inbox)
    assert [f.status for f in again.files] == ["duplicate", "duplicate"]
    assert _state(settings.working_db)[0][0][0] == ROWS + 1


def test_sigkill_loses_the_uncommitted_group_whole_and_rerun_loads_each_file_once(
        settings, inbox, put, tmp_path):
    """Files of one run share a commit (ingestion/batching.py): a file completed earlier in the
    group is lost with it — registry row included — and read again as new by the next run."""
    put("flow/D001/march.csv", flow_csv(["2026-03-05,协和,阿莫西林胶囊,0.25g*24,B1,10,盒,100"]))
    ingest_inbox(settings, inbox)
    before = _state(settings.working_db)
    put("flow/D001/may.csv", flow_csv(["2026-05-05,协和,阿莫西林胶囊,0.25g*24,B1,3,盒,30"]))
    put("flow/D001/april.csv", _big_flow(ROWS))  # newer: read after may.csv, in its group
    _ingest_killed_at_insert(settings, inbox, tmp_path)
    assert _state(settings.working_db) == before  # may.csv went with the group
    report = ingest_inbox(settings, inbox)
    assert [f.status for f in report.files] == ["duplicate", "loaded", "loaded"]
    rows, registry, _ = _state(settings.working_db)
    assert rows == [(ROWS + 2, 10.0 + 3.0 + sum(i % 50 + 1 for i in range(ROWS)))]
    assert [r[1:] for r in registry] == [("flow/D001/march.csv", "loaded", 1),
                                        ("flow/D001/may.csv", "loaded", 1),
                                        ("flow/D001/april.csv", "loaded", ROWS)]
