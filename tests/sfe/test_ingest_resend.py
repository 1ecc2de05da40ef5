"""`sfe ingest` from the command line: an old version sent again after its correction."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from orchestration import cli

HEADER = "销售日期,客户名称,产品名称,规格,批号,数量,单位,金额"


def _put(path: Path, text: str, stamp: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stamp, stamp))


def _march(qty: int) -> str:
    rows = [f"{day},北京协和医院,阿莫西林胶囊,0.25g*24,B001,{qty},盒,100"
            for day in ("2026-03-01", "2026-03-31")]
    return "\n".join([HEADER, *rows]) + "\n"


def _ingest(inbox: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = cli.main(["ingest", str(inbox), "--json", "--data-dir", str(data)])
    return code, json.loads(capsys.readouterr().out)


def test_cli_ingest_of_an_old_version_sent_again_exits_1_naming_both_files(tmp_path, capsys):
    """Old code: exit 0 and status 'duplicate' ('same bytes as file 1; skipped')."""
    inbox, data, now = tmp_path / "inbox", tmp_path / "data", time.time()
    _put(inbox / "flow/D001/march.csv", _march(10), now - 3000)
    assert _ingest(inbox, data, capsys)[0] == 0
    _put(inbox / "flow/D001/march_fix.csv", _march(7), now - 2000)
    assert _ingest(inbox, data, capsys)[0] == 0
    _put(inbox / "flow/D001/march_resent.csv", _march(10), now - 1000)
    code, out = _ingest(inbox, data, capsys)
    resent = next(f for f in out["files"] if f["path"] == "flow/D001/march_resent.csv")
    assert code == 1 and out["exit_code"] == 1
    assert resent["status"] == "conflict"
    assert "flow/D001/march.csv" in resent["reasons"][0]
    assert "flow/D001/march_fix.csv" in resent["reasons"][0]
