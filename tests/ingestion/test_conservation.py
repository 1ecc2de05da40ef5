"""Row conservation as a property: random row-level damage never loses or duplicates a row.

Every data line of the file ends up exactly once, either in raw.flow__lines or in
quarantine.rows, under its own line number; blank and total lines added around them are not
rows and appear nowhere.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from ingestion.pipeline import ingest_inbox
from sfe.config import Settings, load_settings

HEADER = "销售日期,客户名称,产品名称,规格,批号,数量,单位,金额,单据类型"
CLEAN = "2026-03-{day:02d},医院{n},阿莫西林胶囊,0.25g*24,B{n},{qty},盒,{amt},销售"

DAMAGE = {
    "none": lambda cells: cells,
    "bad_date": lambda cells: ["2026-02-31", *cells[1:]],
    "text_date": lambda cells: ["上月", *cells[1:]],
    "bad_qty": lambda cells: [*cells[:5], "十", *cells[6:]],
    "no_product": lambda cells: [*cells[:2], "", *cells[3:]],
    "no_buyer": lambda cells: [cells[0], "", *cells[2:]],
    "unquoted_comma": lambda cells: [*cells[:5], "1,234", *cells[6:]],
    "quoted_comma": lambda cells: [*cells[:5], '"1,234"', *cells[6:]],
    "truncated": lambda cells: cells[:3],
    "open_quote": lambda cells: [cells[0], '"' + cells[1], *cells[2:]],
    "unknown_unit": lambda cells: [*cells[:6], "吨", *cells[7:]],
    "control_char": lambda cells: [cells[0], cells[1] + "\x07", *cells[2:]],
    "full_width": lambda cells: [cells[0].replace("2", "２"), *cells[1:]],
    "return": lambda cells: [*cells[:8], "退货"],
    "spaces": lambda cells: [f"  {c}  " for c in cells],
    "huge_qty": lambda cells: [*cells[:5], "1e400", *cells[6:]],
}
NOISE = ["", ",,,,,,,,", "合计,,,,,100,,1000,", "小计：,,,,,5,,50,"]

rows_strategy = st.lists(
    st.tuples(st.sampled_from(sorted(DAMAGE)), st.sampled_from(["", *NOISE])),
    min_size=1, max_size=30)


def _build(rows: list[tuple[str, str]]) -> tuple[str, set[int]]:
    """The file text and the line numbers of its data rows."""
    lines, data_lines = [HEADER], set()
    for n, (damage, noise) in enumerate(rows, 1):
        clean = CLEAN.format(day=n % 28 + 1, n=n, qty=n, amt=n * 10).split(",")
        lines.append(",".join(DAMAGE[damage](clean)))
        data_lines.add(len(lines))
        if noise:
            lines.append(noise)
    return "\n".join(lines) + "\n", data_lines


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    """One warehouse for all examples; each example brings its own inbox and file."""
    root = tmp_path_factory.mktemp("conservation")
    return root, load_settings(env={}, data_dir=root / "data")


@pytest.mark.slow  # 25 examples, each an ingest: ~20 s
@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_damage_never_loses_or_duplicates_a_row(warehouse, rows: list[tuple[str, str]]) -> None:
    root, settings = warehouse
    example = uuid.uuid4().hex[:12]
    text, data_lines = _build(rows)
    inbox = root / example
    folder = inbox / "flow" / f"D{example}"  # own distributor: no supersede between examples
    folder.mkdir(parents=True)
    # a title line (not data) makes every example's bytes unique, so none is a duplicate
    (folder / "march.csv").write_text(f"流向 {example}\n{text}", encoding="utf-8")
    data_lines = {n + 1 for n in data_lines}
    f = ingest_inbox(settings, inbox).files[0]
    assert f.status in {"loaded", "partial"}, f.reasons
    assert f.rows_read == f.rows_loaded + f.rows_quarantined == len(data_lines), f.reasons
    con = duckdb.connect(str(settings.working_db), read_only=True)
    try:
        loaded = [r[0] for r in con.execute(
            "select source_row from raw.flow__lines where file_id = ?", [f.file_id]).fetchall()]
        held = [r[0] for r in con.execute(
            "select source_row from quarantine.rows where file_id = ?", [f.file_id]).fetchall()]
        con.execute("select 1").fetchall()
    finally:
        con.close()
    assert len(loaded) + len(held) == len(set(loaded) | set(held))  # nothing twice
    assert set(loaded) | set(held) == data_lines  # nothing lost, nothing invented
