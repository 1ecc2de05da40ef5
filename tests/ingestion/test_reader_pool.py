"""More than one reader worker (issue 14, setting `ingest_workers`): the next files are parsed
in parallel, but the loading process takes the results in inbox order, so every registry
decision (supersede, duplicate, conflict, period) and every row is what one worker gives; a
hostile file kills or overfills only its own worker and is rejected as itself."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from ingestion.fileparse import ParseSpec
from ingestion.headers import Mapping
from ingestion.isolation import Limits, ReaderPool, ReadTask, default_workers
from ingestion.pipeline import ingest_inbox
from ingestion.readers import ReadError
from ingestion.sources import FLOW
from tests.ingestion.conftest import FLOW_HEADER, assert_conserved
from tests.ingestion.test_hostile_inbox import _undeclared_far_cell, _workbook

SPEC = ParseSpec(FLOW, Mapping("D01"), "D01", None, dt.date(2026, 4, 1))
ROWS = ["2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100",
        "2026-03-06,上海瑞金医院,阿莫西林胶囊,0.25g*24,B002,3,盒,30",
        "2026-03-07,上海瑞金医院,阿莫西林胶囊,0.25g*24,B003,7,盒,70"]


def task(*rows: str) -> ReadTask:
    return ReadTask(("\n".join([FLOW_HEADER, *rows]) + "\n").encode(), ".csv", parse=SPEC)


def quantities(pool: ReaderPool, t: ReadTask) -> list[float]:
    return pool.parse(t).parsed.loaded["quantity"].to_list()


def test_two_workers_each_take_one_of_the_next_files() -> None:
    a, b, c = task(ROWS[0]), task(ROWS[1]), task(ROWS[2])
    with ReaderPool(Limits(), workers=2) as pool:
        pool.upcoming = [b, c]
        assert quantities(pool, a) == [10.0]
        held = [r.ahead for r in pool._readers]
        assert b in held and c in held  # both sent, one to each worker
        assert quantities(pool, b) == [3.0]
        assert quantities(pool, c) == [7.0]
        assert [r.ahead for r in pool._readers] == [None, None]


def test_a_file_not_guessed_is_read_while_both_workers_hold_guesses() -> None:
    a, b, c, d = (task(r) for r in [ROWS[0], ROWS[1], ROWS[2], ROWS[0] + "\n" + ROWS[2]])
    with ReaderPool(Limits(), workers=2) as pool:
        pool.upcoming = [b, c]
        quantities(pool, a)
        pool.upcoming = [c]
        assert quantities(pool, d) == [10.0, 7.0]  # b was a wrong guess: dropped, not mixed in
        assert quantities(pool, c) == [7.0]


@pytest.mark.parametrize("prefetched", [False, True])
def test_a_hostile_file_among_the_guesses_kills_only_its_worker(prefetched: bool) -> None:
    """Also when its worker's death was taken in by `prefetch` (during a group's write): the
    file is rejected as itself when asked for, no other file blamed."""
    hostile = ReadTask(_undeclared_far_cell(), ".xlsx", parse=SPEC)
    a, c = task(ROWS[0]), task(ROWS[2])
    with ReaderPool(Limits(), workers=2) as pool:
        pool.upcoming = [hostile, c]
        quantities(pool, a)
        if prefetched:
            _prefetch_until(pool, 2)
        pool.upcoming = [c]
        with pytest.raises(ReadError, match="more memory than allowed"):
            pool.parse(hostile)
        assert quantities(pool, c) == [7.0]  # the other worker's file, unharmed
        assert quantities(pool, a) == [10.0]  # and a fresh worker for the next


def test_a_hostile_guess_never_asked_for_blames_no_file() -> None:
    hostile = ReadTask(_undeclared_far_cell(), ".xlsx", parse=SPEC)
    with ReaderPool(Limits(), workers=2) as pool:
        pool.upcoming = [hostile, task(ROWS[1])]
        quantities(pool, task(ROWS[0]))
        assert quantities(pool, task(ROWS[2])) == [7.0]
        assert quantities(pool, task(ROWS[1])) == [3.0]


def _prefetch_until(pool: ReaderPool, kept: int) -> None:
    """prefetch as the group's write calls it, until `kept` answers are in (or 30 s)."""
    deadline = time.monotonic() + 30
    while len(pool._ready) < kept and time.monotonic() < deadline:
        pool.prefetch(0.05)


def test_prefetch_takes_in_done_answers_and_hands_out_the_next_guesses() -> None:
    """While this process waits on the group's write, each worker done with a guess gives its
    answer and takes the next guess: four guesses on two workers all answered, then asked for
    in order without a worker busy."""
    a, b, c, d, e = task(ROWS[0]), task(ROWS[1]), task(ROWS[2]), task(ROWS[0], ROWS[1]), \
        task(ROWS[1], ROWS[2])
    with ReaderPool(Limits(), workers=2) as pool:
        pool.upcoming = [b, c, d, e]
        assert quantities(pool, a) == [10.0]
        _prefetch_until(pool, 4)
        assert [r.ahead for r in pool._readers] == [None, None]  # all four answered
        for t, expected, rest in ((b, [3.0], [c, d, e]), (c, [7.0], [d, e]),
                                  (d, [10.0, 3.0], [e]), (e, [3.0, 7.0], [])):
            pool.upcoming = rest
            assert quantities(pool, t) == expected
        assert pool._ready == []


def test_prefetch_keeps_no_more_answers_than_its_bound_and_drops_stale_ones() -> None:
    a, b, c, d = task(ROWS[0]), task(ROWS[1]), task(ROWS[2]), task(ROWS[0], ROWS[2])
    with ReaderPool(Limits(), workers=2, max_ready_bytes=1) as pool:
        pool.upcoming = [b, c, d]
        quantities(pool, a)
        _prefetch_until(pool, 2)
        pool.prefetch(0.2)
        assert len(pool._ready) == 2 and [r.ahead for r in pool._readers] == [None, None]
        pool.upcoming = [c]  # d is no longer expected
        assert quantities(pool, d) == [10.0, 7.0]  # read afresh, not held by anyone
        assert [t for t, _answer, _size in pool._ready] == [c]  # b's: dropped (no guess)
        pool.upcoming = [c]
        assert quantities(pool, b) == [3.0]  # read afresh
        assert [t for t, _answer, _size in pool._ready] == [c]
        assert quantities(pool, c) == [7.0]


def test_workers_setting_zero_is_one_per_core_at_most_two() -> None:
    assert default_workers(1) == 1 and default_workers(3) == 3
    assert default_workers(0) == min(2, os.cpu_count() or 1)


# -- the whole ingest: one worker and two give the same outcome -----------------------------

GOOD = "\n".join([FLOW_HEADER, *ROWS]).replace("阿莫西林胶囊", "阿托伐他汀钙片") + "\n"  # in the
# generated product master
RESENT = GOOD.replace(",10,盒,100", ",12,盒,120")  # the same period corrected: supersedes
HOSTILE = {  # in the middle of the inbox (by mtime), each rejected as itself
    "flow/D002/hidden_far_cell.xlsx": _undeclared_far_cell(),
    "flow/D002/far_cell.xlsx": _workbook(),
    "flow/D001/v1.csv": GOOD.encode(),
    "flow/D001/v2.csv": RESENT.encode(),  # newer than v1: replaces its rows
    "flow/D003/copy_of_v1.csv": GOOD.encode(),  # the replaced version sent again: conflict
    "flow/D003/copy_of_v2.csv": RESENT.encode(),  # an exact duplicate of the loaded v2
    "flow/D003/bad_rows.csv": (GOOD + "2026-03-08,上海瑞金医院,阿托伐他汀钙片,20mg*14片,B9,两,盒,1\n"
                               ).encode(),
}

REGISTRY = ("select file_id, path, sha256, source, status, rows_read, rows_loaded, "
            "rows_quarantined, reasons, period_start, period_end, duplicate_of, superseded_by, "
            "conflict_with from audit.file_registry order by file_id")
QUARANTINE = ("select file_id, source_row, reason from quarantine.rows "
              "order by file_id, source_row, reason")
FLOW_ROWS = "select file_id, count(*), sum(quantity) from raw.flow__lines group by file_id order by 1"
RETRY = "select file_id, retry_key from audit.file_retry order by file_id"


def _messy_inbox(tmp_path: Path) -> Path:
    generator = pytest.importorskip("generator")
    inbox = tmp_path / "inbox"
    generator.generate(inbox, seed=3, customers=40, months=2)
    flows = sorted(p.stat().st_mtime for p in (inbox / "flow").rglob("*") if p.is_file())
    middle = flows[len(flows) // 2]
    for n, (rel, data) in enumerate(HOSTILE.items()):
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (middle + n, middle + n))  # v1 before v2, both among the others
    return inbox


def _outcome(settings, inbox: Path) -> dict[str, object]:
    report = ingest_inbox(settings, inbox)
    assert_conserved(report)
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        tables = {sql: con.execute(sql).fetchall() for sql in (REGISTRY, QUARANTINE, FLOW_ROWS,
                                                               RETRY)}
    finally:
        con.close()
    files = [(f.path, f.status, f.reasons, f.file_id, f.rows_read, f.rows_loaded,
              f.rows_quarantined, f.supersedes) for f in report.files]
    return {"files": files, "superseded": report.superseded, **tables}


@pytest.mark.slow
def test_one_and_two_workers_give_the_same_files_registry_and_rows(settings, tmp_path: Path):
    inbox = _messy_inbox(tmp_path)
    one = _outcome(replace(settings, ingest_workers=1, data_dir=tmp_path / "one"), inbox)
    two = _outcome(replace(settings, ingest_workers=2, data_dir=tmp_path / "two"), inbox)
    assert one == two
    # the planted files, by hand: what each must end as whatever the worker count
    status = {path: (st, fid) for path, st, _, fid, *_ in two["files"]}  # type: ignore[union-attr]
    assert status["flow/D002/hidden_far_cell.xlsx"][0] == "rejected"
    assert status["flow/D002/far_cell.xlsx"][0] == "rejected"
    assert status["flow/D001/v1.csv"][0] == "superseded"
    assert status["flow/D001/v2.csv"][0] == "loaded"
    assert status["flow/D003/copy_of_v1.csv"][0] == "conflict"
    assert status["flow/D003/copy_of_v2.csv"][0] == "duplicate"
    assert status["flow/D003/bad_rows.csv"][0] == "partial"
    v2 = status["flow/D001/v2.csv"][1]
    assert (v2, 3, 22.0) in two[FLOW_ROWS]  # 12 + 3 + 7: the corrected file's rows
    assert status["flow/D001/v1.csv"][1] in two["superseded"]  # type: ignore[operator]
    # a second run with two workers changes nothing, as with one
    again = ingest_inbox(replace(settings, ingest_workers=2, data_dir=tmp_path / "two"), inbox)
    assert {f.status for f in again.files} <= {"duplicate", "rejected", "conflict"}


def test_quarantine_reasons_with_equal_counts_are_listed_by_first_row() -> None:
    """The summary's order was polars' group order, which changes from run to run: the same
    file gave the registry other reasons (seen comparing one worker with two)."""
    import polars as pl

    from ingestion.pipeline import _quarantine_summary
    frame = pl.DataFrame({"reason": ["c", "a", "b", "b", "d", "e"],
                          "source_row": [30, 9, 21, 40, 16, 5]})
    for _ in range(30):  # group order varies between calls; one call could pass by luck
        got = [line.split("row ")[1].split(")")[0] for line in _quarantine_summary(frame)]
        assert got == ["21", "5", "9", "16", "30"]  # b twice first; then by first row; 5 kept


def test_files_guessed_ahead_past_one_a_worker_are_bounded_by_their_bytes(settings, inbox, put,
                                                                          monkeypatch):
    """Prefetch guesses up to 8 files a worker ahead, but the parent holds their bytes until
    read: past one a worker, no more than GUESS_BYTES of them (a run of huge files)."""
    import ingestion.pipeline as pipeline

    for month in range(1, 9):
        put(f"flow/D001/m{month}.csv", "\n".join([FLOW_HEADER, *ROWS]) + "\n")
    guessed: list[int] = []
    original = pipeline._Run._next_tasks

    def recorded(self, files, n):
        tasks = original(self, files, n)
        guessed.append(len(tasks))
        return tasks

    monkeypatch.setattr(pipeline._Run, "_next_tasks", recorded)
    run = replace(settings, ingest_workers=2)
    ingest_inbox(run, inbox)
    assert guessed[0] == 7  # the seven other files: all within 64 MB
    monkeypatch.setattr(pipeline, "GUESS_BYTES", 1)  # the first guess is already past it
    ingest_inbox(replace(run, data_dir=run.data_dir / "bounded"), inbox)
    assert max(guessed[-8:]) == 2  # one a worker, no more
