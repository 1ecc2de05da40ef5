"""The reader worker reads the next file while the current one is parsed and loaded (issue 14);
what it reads ahead is exactly what a direct read gives, and a hostile file read ahead is
blamed on itself only, never on the file asked for instead."""

from __future__ import annotations

import pytest

from ingestion.isolation import IsolatedReader, Limits, ReadTask, read_grids
from ingestion.readers import ReadError
from tests.ingestion.conftest import FLOW_HEADER
from tests.ingestion.test_hostile_inbox import _undeclared_far_cell

ROWS = ["2026-03-05,北京协和医院,阿莫西林胶囊,0.25g*24,B001,10,盒,100",
        "2026-03-06,上海瑞金医院,阿莫西林胶囊,0.25g*24,B002,3,盒,30"]


def csv_task(*rows: str) -> ReadTask:
    return ReadTask(("\n".join([FLOW_HEADER, *rows]) + "\n").encode(), ".csv")


def test_the_file_sent_ahead_is_the_next_read_and_equals_a_direct_read() -> None:
    first, second = csv_task(ROWS[0]), csv_task(*ROWS)
    with IsolatedReader(Limits()) as reader:
        reader.read(first, then=second)
        assert reader._pending is not None and reader._pending[0] is second  # in the worker
        grids = reader.read(second)
        assert reader._pending is None
    direct = read_grids(second, Limits())
    assert len(grids) == len(direct) == 1
    assert grids[0].frame.equals(direct[0].frame)
    assert grids[0].frame["c1"].to_list() == ["客户名称", "北京协和医院", "上海瑞金医院"]


def test_upcoming_is_used_once_as_the_next_reads_then() -> None:
    first, second = csv_task(ROWS[0]), csv_task(ROWS[1])
    with IsolatedReader(Limits()) as reader:
        reader.upcoming = second
        reader.read(first)
        assert reader.upcoming is None and reader._pending[0] is second


def test_a_hostile_file_sent_ahead_is_rejected_as_itself() -> None:
    hostile = ReadTask(_undeclared_far_cell(), ".xlsx")
    with IsolatedReader(Limits()) as reader:
        reader.read(csv_task(ROWS[0]), then=hostile)
        with pytest.raises(ReadError, match="more memory than allowed"):
            reader.read(hostile)
        after = reader.read(csv_task(ROWS[1]))  # a fresh worker
    assert after[0].frame["c1"].to_list() == ["客户名称", "上海瑞金医院"]


def test_a_file_sent_ahead_but_not_asked_for_blames_no_other_file() -> None:
    hostile = ReadTask(_undeclared_far_cell(), ".xlsx")
    with IsolatedReader(Limits()) as reader:
        reader.read(csv_task(ROWS[0]), then=hostile)  # it kills the worker, unasked
        grids = reader.read(csv_task(ROWS[1]))
    assert grids[0].frame["c1"].to_list() == ["客户名称", "上海瑞金医院"]


def test_a_file_the_checks_refuse_is_not_sent_ahead() -> None:
    not_a_workbook = ReadTask(b"plain text", ".xlsx")
    with IsolatedReader(Limits()) as reader:
        reader.read(csv_task(ROWS[0]), then=not_a_workbook)
        assert reader._pending is None
        with pytest.raises(ReadError, match="not an Excel workbook"):
            reader.read(not_a_workbook)
