"""A file already loaded whose stat (size, mtime, ctime, inode, device) is the one it had when
its bytes were read is not read and hashed again (issue 14: 3.6 s of a no-op run at 1 GB);
any rewrite is still seen, because ctime cannot be set back from user space."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

import ingestion.pipeline as pipeline
from ingestion import registry
from ingestion.pipeline import ingest_inbox
from sfe.config import Settings
from tests.ingestion.conftest import by_path, flow_csv

JAN, FEB = "flow/D001/m01.csv", "flow/D001/m02.csv"


def _row(day: str, qty: int) -> str:
    return f"{day},北京协和医院,阿莫西林胶囊,0.25g*24,B001,{qty},盒,100"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The inbox files whose bytes were read, by name; files count as settled at once."""
    seen: list[str] = []
    real = pipeline._read_whole

    def spy(path: Path) -> bytes:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(pipeline, "_read_whole", spy)
    monkeypatch.setattr(registry, "STAT_SETTLE_NS", 0)
    return seen


@pytest.fixture
def loaded(put, settings: Settings, inbox: Path, reads: list[str]) -> dict[str, Path]:
    files = {JAN: put(JAN, flow_csv([_row("2026-01-05", 10)])),
             FEB: put(FEB, flow_csv([_row("2026-02-05", 10)]))}
    first = ingest_inbox(settings, inbox)
    assert {f.status for f in first.files} == {"loaded"}
    ingest_inbox(settings, inbox)  # read and hashed once more: the stat is recorded
    reads.clear()
    return files


def test_files_loaded_before_with_the_same_stat_are_not_read_again(
        loaded, settings, inbox, reads) -> None:
    again = ingest_inbox(settings, inbox)
    assert reads == []
    for path in (JAN, FEB):
        f = by_path(again)[path]
        assert f["status"] == "duplicate" and f["reasons"][0].startswith("already ingested as file")
    assert ingest_inbox(settings, inbox) and reads == []


def test_a_rewrite_with_the_same_size_and_the_old_mtime_put_back_is_read(
        loaded, settings, inbox, reads) -> None:
    path = loaded[JAN]
    before = os.stat(path)
    corrected = flow_csv([_row("2026-01-05", 20)])  # 10 -> 20 boxes: same size
    path.write_text(corrected, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)
    report = ingest_inbox(settings, inbox)
    assert reads == ["m01.csv"]  # February's stat is unchanged: not read
    assert by_path(report)[JAN]["status"] != "duplicate"  # the new bytes were judged
    with duckdb.connect(str(settings.working_db), read_only=True) as con:
        assert con.execute("select sum(quantity) from raw.flow__lines "
                           "where sale_date = '2026-01-05'").fetchone()[0] == 20


def test_an_inbox_copied_elsewhere_is_hashed_once_then_skipped(
        loaded, settings, inbox, reads, tmp_path) -> None:
    moved = tmp_path / "inbox-copy"
    shutil.copytree(inbox, moved)  # new inodes and ctimes: the stat proves nothing
    report = ingest_inbox(settings, moved)
    assert sorted(reads) == ["m01.csv", "m02.csv"]  # and their new stats recorded
    assert {f["status"] for f in by_path(report).values()} == {"duplicate"}
    reads.clear()
    ingest_inbox(settings, moved)
    assert reads == []


def test_a_file_changed_just_before_it_was_read_is_not_trusted_by_stat(
        put, settings, inbox, reads, monkeypatch) -> None:
    monkeypatch.setattr(registry, "STAT_SETTLE_NS", 3_600 * 10**9)  # everything is "just now"
    put(JAN, flow_csv([_row("2026-01-05", 10)]))
    ingest_inbox(settings, inbox)
    ingest_inbox(settings, inbox)
    reads.clear()
    ingest_inbox(settings, inbox)
    assert reads == ["m01.csv"]  # a write in the read's timestamp tick could hide: read again


def test_a_warehouse_without_the_stat_table_gets_it(loaded, settings, inbox, reads) -> None:
    with duckdb.connect(str(settings.working_db)) as con:
        con.execute("drop table audit.file_stat")
    ingest_inbox(settings, inbox)
    assert sorted(reads) == ["m01.csv", "m02.csv"]  # nothing recorded: read and hashed
    reads.clear()
    ingest_inbox(settings, inbox)
    assert reads == []


def test_the_stats_of_a_run_are_written_in_one_statement_for_registered_files(tmp_path) -> None:
    """write_stats: a stat per registered file, replacing the one kept; a file whose record is
    gone meanwhile gets none; inode and device keep their full unsigned range."""
    from ingestion.ddl import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("raw", "audit", "quarantine"):
        con.execute(f"create schema {schema}")
    ensure_tables(con)
    for file_id in (1, 2):
        con.execute("insert into audit.file_registry (file_id, path, sha256, status) "
                    "values (?, ?, 'x', 'loaded')", [file_id, f"flow/D1/{file_id}.csv"])
    con.execute("insert into audit.file_stat values (1, 5, 5, 5, 5, 5)")
    big = 2**64 - 1
    registry.write_stats(con, {1: (10, 11, 12, 13, 14), 2: (20, 21, 22, big, big),
                               3: (30, 31, 32, 33, 34)})
    assert con.execute("select * from audit.file_stat order by file_id").fetchall() == [
        (1, 10, 11, 12, 13, 14), (2, 20, 21, 22, big, big)]
    con.close()
