"""The two rarer flow layouts: a two-row header (group row over sub-headers, merged cells in
Excel) and quantities typed with their unit (20盒) when a file has no unit column.

Checked on the written files, the way a person would: the row under the header holds only
sub-header words (编码/名称/地址/规格/盒), an xlsx/xls file has merged cells there, and a glued
quantity cell reads like `20盒` or `-5盒`.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from generator import generate
from generator import reference as ref
from generator.core import DEFAULT_COMPANY, erp_changes
from generator.economy import month_starts
from generator.profiles import add_layouts, build_profile
from generator.world import build_world
from tests.generator.reader import SUB_HEADERS, read_rows

GLUED = re.compile(r"^-?\d[\d,]*(盒|件|箱|支|片|粒)$")
CORRUPT = ("上传中断", "旧版", "_空", "模板")  # the planted unreadable files
HEADER_WORDS = {h for names in ref.FLOW_HEADERS.values() for h in names}


def _layouts(path: Path) -> tuple[bool, bool]:
    """(two-row header, glued quantity cells) as seen in the file's first rows."""
    rows = read_rows(path)[:12]
    two_row = glued = False
    for i, row in enumerate(rows[:-1]):
        cells = {c.strip() for c in rows[i + 1]} - {""}
        if any(c.strip() in HEADER_WORDS for c in row) and cells and cells <= SUB_HEADERS:
            two_row = True
    for row in rows:
        header_row = any(c.strip() in HEADER_WORDS for c in row)
        if not header_row and any(GLUED.match(c.strip()) for c in row):
            glued = True
    return two_row, glued


@pytest.mark.slow
def test_default_inbox_has_both_new_layouts(tmp_path: Path) -> None:
    out = tmp_path / "inbox"
    generate(out, seed=1)
    two_row: list[Path] = []
    glued: list[Path] = []
    for folder in sorted((out / "flow").iterdir()):
        firsts: dict[str, Path] = {}
        for f in sorted(folder.iterdir()):
            if not any(mark in f.stem for mark in CORRUPT):
                firsts.setdefault(f.suffix, f)  # one file per format: an ERP change switches format
        for f in firsts.values():
            t, g = _layouts(f)
            two_row += [f] * t
            glued += [f] * g
    assert two_row and glued, (two_row, glued)
    distributors = len(list((out / "flow").iterdir()))
    assert len({f.parent.name for f in two_row}) <= 0.25 * distributors
    assert len({f.parent.name for f in glued}) <= 0.25 * distributors
    excel = [f for f in two_row if f.suffix == ".xlsx"]
    assert excel, two_row  # seed 1: SD03 before its ERP change
    sheet = openpyxl.load_workbook(excel[0]).active
    merged = [str(r) for r in sheet.merged_cells.ranges]
    assert any(r.split(":")[0][1:] == r.split(":")[1][1:] for r in merged), merged  # a group, merged right
    assert any(r.split(":")[0][0] == r.split(":")[1][0] for r in merged), merged  # a column, merged down


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_new_layouts_only_where_ingestion_reads_them(seed: int) -> None:
    world = build_world(seed, 300, month_starts(24), DEFAULT_COMPANY)
    base = erp_changes(seed, {d.code: build_profile(seed, d.code, i, False)
                              for i, d in enumerate(world.distributors)}, 24, False)
    for prof in base.values():
        new = add_layouts(prof, seed)
        if not (new.header2 or new.glued_units):
            assert new is prof  # every other distributor keeps its profile as it was
            continue
        assert not prof.english
        for p in (new, new.after) if new.after else (new,):
            assert not p.glued_units or "unit" not in p.fields
            if p.header2:
                upper, lower = p.header2
                assert len(upper) == len(lower) == len(p.fields)
                assert upper[0] and all(lo in SUB_HEADERS for lo in lower if lo)
                if "unit" in p.fields or p.glued_units:
                    assert "盒" not in lower  # a unit under 数量 only where nothing else names it
