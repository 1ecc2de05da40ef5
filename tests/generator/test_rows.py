from __future__ import annotations

from pathlib import Path

import generator.core as core
from generator import generate
from tests.generator.conftest import read_truth


def test_rows_scales_flow_lines_and_keeps_text_formats(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(core, "BULK_ROWS", 1_000)  # behave like a big run: spreadsheets become csv/txt
    out = tmp_path / "big"
    result = generate(out, seed=5, customers=60, months=3, rows=40_000)
    assert 0.8 * 40_000 <= result.flow_rows <= 1.25 * 40_000
    flow_files = [r for r in read_truth(out, "files") if r["kind"] == "flow"]
    assert sum(int(r["rows"]) for r in flow_files) >= result.flow_rows
    suffixes = {Path(r["path"]).suffix for r in flow_files if r["expected_status"] != "rejected"}
    assert suffixes <= {".csv", ".txt"}
    sold = sum(int(r["qty_boxes"]) for r in read_truth(out, "sell_out_truth"))
    assert sold > result.flow_rows  # volume grows with rows, so lines keep whole boxes
