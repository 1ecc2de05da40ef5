from __future__ import annotations

import json

import pytest

from sfe import cli
from sfe.report import EXIT_USAGE


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == EXIT_USAGE


def test_bad_config_file_exits_2_with_json_error(tmp_path, capsys) -> None:
    bad = tmp_path / "sfe.toml"
    bad.write_text("data_dir = [unclosed", encoding="utf-8")
    code = cli.main(["status", "--json", "--config", str(bad)])
    out = capsys.readouterr()
    assert code == EXIT_USAGE
    payload = json.loads(out.out)
    assert "not valid TOML" in payload["error"]
    assert str(bad) in out.err


def test_unknown_setting_names_the_key(tmp_path, capsys) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('colour = "blue"\n', encoding="utf-8")
    code = cli.main(["status", "--config", str(cfg)])
    assert code == EXIT_USAGE
    assert "unknown setting 'colour'" in capsys.readouterr().err
