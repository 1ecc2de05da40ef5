"""`sfe ingest` on `sfe generate` output accounts for every file and row of `_truth/files.csv`.

Generating and ingesting a few hundred files takes under a minute on two cores; it is
part of the default suite; `SFE_E2E=0` skips it for a quick local loop.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from ingestion.pipeline import ingest_inbox
from tests.ingestion.conftest import assert_conserved

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SFE_E2E") == "0",
                       reason="generates and ingests a whole inbox; SFE_E2E=0 skips it"),
]
HELD = {"duplicate", "conflict"}  # nothing loaded: rows_* are 0, the truth counts file rows


def test_every_generated_file_ends_as_the_truth_says(settings, tmp_path: Path) -> None:
    generator = pytest.importorskip("generator")
    inbox = tmp_path / "gen"
    generator.generate(inbox, seed=2, customers=120, months=3)
    report = ingest_inbox(settings, inbox)
    got = {f.path: f for f in report.files}
    truth = list(csv.DictReader((inbox / "_truth" / "files.csv").open(encoding="utf-8")))
    assert set(got) == {t["path"] for t in truth}
    wrong = []
    for t in truth:
        f = got[t["path"]]
        rows = 0 if t["expected_status"] in HELD else int(t["rows"] or 0)
        expected = (t["expected_status"], rows, int(t["quarantined_rows"] or 0))
        if (f.status, f.rows_read, f.rows_quarantined) != expected:
            wrong.append((t["path"], expected, (f.status, f.rows_read, f.rows_quarantined),
                          t["note"], f.reasons[:2]))
    assert not wrong, wrong
    assert_conserved(report)
    again = ingest_inbox(settings, inbox)
    assert {f.status for f in again.files} <= {"duplicate", "rejected", "conflict"}
