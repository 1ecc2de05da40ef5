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
        (12, "e/n.csv", "s6", "superseded", None)]
SHAS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]
PATHS = sorted({r[1] for r in ROWS}) + ["z/new.csv"]


def _reg(file_id: int, path: str, sha: str, status: str, by: int | None) -> Registration:
    return Registration(path, sha, "flow", "flow", "D1", dt.datetime(2026, 3, 1), status, "run",
                        file_id=file_id, superseded_by=by)


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
    return replaced, firsts, registry.next_file_id(con)


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
    assert registry.next_file_id(con) == 13


def test_the_index_follows_insert_forget_supersede_and_a_rollback(con) -> None:
    writes = _indexed(con)
    writes.execute("begin transaction")
    registry.forget(writes, 12)  # the highest id: the next id goes back to 12
    assert registry.next_file_id(writes) == 12
    registry.insert(writes, _reg(12, "e/n.csv", "s6", "rejected", None))
    new = _reg(None, "f/w.csv", "s7", "loaded", None)  # type: ignore[arg-type]
    registry.insert(writes, new)
    assert new.file_id == 13
    writes.execute("commit")
    writes.execute("begin transaction")
    registry.supersede(writes, "raw.flow__lines", (3, 13), 14)
    registry.insert(writes, _reg(14, "f/w2.csv", "s8", "loaded", None))
    writes.execute("commit")
    writes.flush()
    assert _answers(writes) == _answers(con)
    writes.execute("begin transaction")
    registry.forget(writes, 14)
    registry.supersede(writes, "raw.flow__lines", (11,), 15)
    writes.execute("rollback")  # the index read again: as the table after the rollback
    assert _answers(writes) == _answers(con)
    assert registry.replaced_version(writes, "s3") == registry.Replaced(3, "a/v3.csv", 14,
                                                                        "f/w2.csv")
    assert registry.next_file_id(writes) == 15
