"""The registry's in-memory index (issue 14) answers `replaced_version`, `first_with_bytes`
and `next_file_id` exactly as the queries on `audit.file_registry` do, and stays in step with
the table through `insert`, `forget`, `supersede` and a rolled-back group."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ingestion import registry
from ingestion.batching import GroupedWrites
from ingestion.ddl import ensure_tables
from ingestion.registry import Index, Registration
from sfe.warehouse import connect

# file_id, path, sha, status, superseded_by: chains, a cycle, a link to a forgotten file,
# the same bytes at several paths and as duplicates
ROWS = [(1, "a/v1.csv", "s1", "superseded", 2), (2, "a/v2.csv", "s2", "superseded", 3),
        (3, "a/v3.csv", "s3", "loaded", None), (4, "b/x.csv", "s1", "duplicate", None),
        (5, "b/y.csv", "s1", "superseded", 9), (6, "c/p.csv", "s4", "superseded", 7),
        (7, "c/q.csv", "s5", "superseded", 6), (8, "c/r.csv", "s4", "conflict", None),
        (10, "d/z.csv", "s2", "rejected", None), (11, "a/v1.csv", "s1", "loaded", None),
        (12, "e/n.csv", "s6", "superseded", None), (15, "g/a.csv", "s9", "partial", None),
        (16, "g/b.csv", "s10", "loaded", None), (18, "g/c.csv", "s11", "partial", None)]
SHAS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
PATHS = sorted({r[1] for r in ROWS}) + ["z/new.csv"]


def _reg(file_id: int, path: str, sha: str, status: str, by: int | None) -> Registration:
    """Periods of 40 days starting in months 1-4 (none for file 12); distributors D1, D2."""
    start = dt.date(2026, 1 + (file_id or 0) % 4, 1) if file_id != 12 else None
    return Registration(path, sha, "flow", "flow", f"D{1 + (file_id or 0) % 2}",
                        dt.datetime(2026, 3, file_id or 1), status, "run", file_id=file_id,
                        superseded_by=by, period_start=start,
                        period_end=start + dt.timedelta(days=40) if start else None,
                        first_seen_at=dt.datetime(2026, 3, 2) if file_id == 3 else None)


@pytest.fixture
def con(settings):
    with connect(settings) as con:
        ensure_tables(con)
        for row in ROWS:
            registry.insert(con, _reg(*row))
        yield con


def _answers(con) -> tuple:
    replaced = [registry.replaced_version(con, sha, ex)
                for sha, ex in itertools.product(SHAS, [None, 1, 2, 5, 6, 11])]
    firsts = [registry.first_with_bytes(con, sha, p) for sha, p in itertools.product(SHAS, PATHS)]
    months = [(dt.date(2026, m, 1), dt.date(2026, m, 28)) for m in range(1, 8)]
    overlapping = [registry._active_overlapping(con, "raw.flow__lines", source, dist, *period)
                   for source, dist, period in itertools.product(["flow", "stock"],
                                                                 ["D1", "D2", ""], months)]
    return replaced, firsts, registry.next_file_id(con), overlapping


def _indexed(con) -> GroupedWrites:
    writes = GroupedWrites(con)
    writes.index = Index.read(con)
    return writes


def test_the_index_answers_as_the_queries(con) -> None:
    by_sql, by_index = _answers(con), _answers(_indexed(con))
    assert by_index == by_sql
    # by hand, a few of them
    assert registry.replaced_version(con, "s1") == registry.Replaced(1, "a/v1.csv", 3, "a/v3.csv")
    assert registry.replaced_version(con, "s1", 1).current_path == "file 9"  # 5 -> forgotten 9
    assert registry.replaced_version(con, "s4").current_path == "c/q.csv"  # 6 -> 7 -> 6: stops
    assert registry.replaced_version(con, "s6") is None  # no superseded_by
    assert registry.first_with_bytes(con, "s1", "a/v1.csv") == 5  # not 4: a duplicate
    assert registry.next_file_id(con) == 19
    # loaded or partial of D2 (odd ids): 3, 11, 15, each Apr 1 - May 11; of D1: 16 (Jan 1 -
    # Feb 10), 18 (Mar 1 - Apr 10). A period in May meets 3, 11 and 15 only
    may = [c.file_id for c in registry._active_overlapping(
        con, "raw.flow__lines", "flow", "D2", dt.date(2026, 5, 1), dt.date(2026, 5, 31))]
    assert may == [3, 11, 15]


def test_the_index_follows_insert_forget_supersede_and_a_rollback(con) -> None:
    writes = _indexed(con)
    writes.execute("begin transaction")
    registry.forget(writes, 18)  # the highest id: the next is 17 (16 + 1), as the query says
    assert registry.next_file_id(writes) == 17
    registry.insert(writes, _reg(18, "g/c.csv", "s11", "rejected", None))
    new = _reg(None, "f/w.csv", "s7", "loaded", None)  # type: ignore[arg-type]
    registry.insert(writes, new)
    assert new.file_id == 19
    writes.execute("commit")
    writes.execute("begin transaction")
    registry.supersede(writes, "raw.flow__lines", (3, 19), 20)
    registry.insert(writes, _reg(20, "f/w2.csv", "s8", "loaded", None))
    writes.execute("commit")
    writes.flush()
    assert _answers(writes) == _answers(con)
    writes.execute("begin transaction")
    registry.forget(writes, 20)
    registry.supersede(writes, "raw.flow__lines", (11,), 21)
    writes.execute("rollback")  # the index read again: as the table after the rollback
    assert _answers(writes) == _answers(con)
    assert registry.replaced_version(writes, "s3") == registry.Replaced(3, "a/v3.csv", 20,
                                                                        "f/w2.csv")
    assert registry.next_file_id(writes) == 21


class _CommitFails:
    """A connection whose commit fails as DuckDB's does when a stop signal lands in it: the
    transaction is gone afterwards, and a rollback then raises."""

    def __init__(self) -> None:
        self.open = False

    def execute(self, sql: str, *args: object) -> None:
        if sql == "begin transaction":
            self.open = True
        elif sql == "commit":
            self.open = False
            raise RuntimeError("Query interrupted")
        elif sql == "rollback":
            if not self.open:
                raise RuntimeError("cannot rollback - no transaction is active")
            self.open = False


def test_a_group_commit_that_fails_leaves_nothing_open_to_roll_back() -> None:
    """Seen as a SIGTERM test failure: the interrupted commit left the group 'open', the file's
    rollback then failed, and that error (not the interrupt) reached the file's handler."""
    writes = GroupedWrites(_CommitFails(), max_files=2)  # type: ignore[arg-type]
    writes.execute("begin transaction")
    writes.execute("commit")  # file 1 done, the group stays open
    writes.execute("begin transaction")
    with pytest.raises(RuntimeError, match="Query interrupted"):
        writes.execute("commit")  # file 2 completes the group: its commit fails
    writes.execute("rollback")  # the file's own handler: must not raise
    assert writes.lost  # file 1 was in the group: the caller writes it again


def test_a_conflicts_retry_key_from_the_index_is_the_one_the_query_gives(con) -> None:
    """The loaded files of a source and distributor a conflict was judged against, from the
    index as from the table, also after a supersede within the ingest."""
    def keys(c) -> list[str]:
        return [registry.retry_key(c, "in", status, source, dist)
                for status, source, dist in itertools.product(
                    ["conflict", "rejected"], ["flow", "stock", None], ["D1", "D2", None])]

    writes = _indexed(con)
    assert keys(writes) == keys(con)
    writes.execute("begin transaction")
    registry.supersede(writes, "raw.flow__lines", (3, 16), 19)
    registry.insert(writes, _reg(19, "h/n.csv", "s12", "loaded", None))  # held: not written
    from_index = keys(writes)
    writes.execute("select 1")  # another statement: the held registry row is written first
    assert from_index == keys(con)
    # by hand: D2's loaded flow files are 11, 15 and 19 (3 superseded), each Apr 1 - May 11
    period = (dt.date(2026, 4, 1), dt.date(2026, 5, 11))
    assert writes.index.active_periods("flow", "D2") == [(11, *period), (15, *period),
                                                          (19, *period)]
    writes.execute("commit")
    writes.flush()
