from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration import cli
from sfe.config import PROJECT_ROOT
from sfe.report import EXIT_USAGE
from sfe.warehouse import WarehouseBusy


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == EXIT_USAGE
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("sfe: argument COMMAND: invalid choice: 'no-such-command'")
    assert len(out.err.splitlines()) == 1


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


# -- anything a user can cause: exit 2, one line on stderr, with --json one object on stdout ------

@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No sfe.toml and no SFE_* variables from the machine running the tests."""
    for name in ("SFE_CONFIG", "SFE_DATA_DIR", "SFE_INBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_error(capsys: pytest.CaptureFixture[str], command: str, as_json: bool = True) -> str:
    """The error of a failed command, checked to be one stderr line (and the JSON object)."""
    out = capsys.readouterr()
    lines = [line for line in out.err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith(f"{command}: "), out.err
    assert "Traceback" not in out.err
    message = lines[0].removeprefix(f"{command}: ")
    if as_json:
        assert json.loads(out.out) == {"error": message, "exit_code": EXIT_USAGE}
    return message


@pytest.mark.parametrize("argv", [["ingest", "--bogus"], ["generate"], ["ingest", "a", "b"],
                                  ["generate", "--out", "x", "--seed", "one"]])
def test_bad_arguments_give_one_line_and_a_json_error(clean_env: Path, argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*argv, "--json"]) == EXIT_USAGE
    message = _one_error(capsys, "sfe")
    assert "--help" in message


@pytest.mark.parametrize("command", ["ingest", "run"])
def test_a_missing_inbox_given_on_the_command_line_is_a_usage_error(
        clean_env: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = clean_env / "no-such-inbox"
    code = cli.main([command, str(missing), "--json", "--data-dir", str(clean_env / "data")])
    assert code == EXIT_USAGE
    assert f"the inbox {missing} does not exist" in _one_error(capsys, f"sfe {command}")
    assert not (clean_env / "data" / "warehouse").exists()  # refused before any work


def test_an_inbox_that_is_a_file_is_a_usage_error(clean_env: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "inbox.zip").write_bytes(b"PK")
    code = cli.main(["ingest", str(clean_env / "inbox.zip"), "--json", "--data-dir", "data"])
    assert code == EXIT_USAGE
    assert "inbox.zip is not a folder" in _one_error(capsys, "sfe ingest")


def test_a_configured_inbox_that_does_not_exist_names_the_setting(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SFE_INBOX", str(clean_env / "typo"))
    assert cli.main(["ingest", "--json", "--data-dir", "data"]) == EXIT_USAGE
    message = _one_error(capsys, "sfe ingest")
    assert f"the configured inbox {clean_env / 'typo'} does not exist" in message
    assert "SFE_INBOX" in message


def test_ingest_on_a_fresh_setup_creates_the_default_inbox_and_says_it_is_empty(
        clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = clean_env / "data"
    assert cli.main(["ingest", "--json", "--data-dir", str(data)]) == 0
    out = capsys.readouterr()
    assert (data / "inbox").is_dir()
    assert json.loads(out.out)["files"] == []
    assert f"created the inbox {data / 'inbox'}; it is empty" in out.err


def test_a_data_directory_under_a_file_is_a_usage_error(clean_env: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "data").write_text("not a folder", encoding="utf-8")
    assert cli.main(["run", "--json", "--data-dir", str(clean_env / "data" / "x")]) == EXIT_USAGE
    assert (f"the data directory {clean_env / 'data' / 'x'} is not writable"
            in _one_error(capsys, "sfe run"))


def _writable(path: Path) -> bool:
    try:
        (path / ".probe").write_text("x", encoding="utf-8")
    except OSError:
        return False
    (path / ".probe").unlink()
    return True


@pytest.fixture
def unwritable(clean_env: Path) -> Iterator[Path]:
    """A folder this process cannot write into (chmod; for root, which ignores modes, chattr +i)."""
    path = clean_env / "readonly"
    path.mkdir()
    path.chmod(0o555)
    immutable = False
    try:
        if _writable(path) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        if _writable(path):
            pytest.skip("cannot make a folder unwritable on this machine")
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


@pytest.mark.parametrize("command", ["ingest", "run", "build", "check", "publish"])
def test_an_unwritable_data_directory_is_a_usage_error_naming_it(
        unwritable: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([command, "--json", "--data-dir", str(unwritable)]) == EXIT_USAGE
    message = _one_error(capsys, f"sfe {command}")
    assert message.startswith(f"the data directory {unwritable} is not writable")
    assert "--data-dir" in message


def test_a_warehouse_file_that_is_not_a_database_is_a_usage_error(
        clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / "data" / "warehouse").mkdir(parents=True)
    (clean_env / "data" / "warehouse" / "working.duckdb").write_text("hello", encoding="utf-8")
    assert cli.main(["status", "--json", "--data-dir", str(clean_env / "data")]) == EXIT_USAGE
    assert "not a valid DuckDB database file" in _one_error(capsys, "sfe status")


def test_a_busy_warehouse_exits_1_with_one_line(clean_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    def held(*_: object) -> None:
        raise WarehouseBusy("working.duckdb is in use by another sfe process; try again")

    monkeypatch.setitem(cli.COMMANDS, "status", held)
    assert cli.main(["status", "--json", "--data-dir", "data"]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out) == {"error": "working.duckdb is in use by another sfe process; "
                                            "try again", "exit_code": 1}
    assert out.err == "sfe status: working.duckdb is in use by another sfe process; try again\n"


@pytest.mark.parametrize(("text", "says"), [
    (b"thresholds = 5\n", "'thresholds'"),
    (b"thresholds = 'high'\n", "'thresholds' must be a [thresholds] section"),
    (b"[[smtp]]\nhost = 'x'\n", "'smtp'"),
    (b"\xff\xfedata_dir = 'x'\n", "not valid TOML ('utf-8' codec can't decode"),
])
def test_a_malformed_config_file_names_the_file(clean_env: Path, text: bytes, says: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cfg = clean_env / "sfe.toml"
    cfg.write_bytes(text)
    assert cli.main(["status", "--json", "--config", str(cfg)]) == EXIT_USAGE
    message = _one_error(capsys, "sfe status")
    assert message.startswith(str(cfg)) and says in message


def test_a_missing_config_file_is_a_usage_error(clean_env: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--json", "--config", str(clean_env / "nope.toml")]) == EXIT_USAGE
    assert _one_error(capsys, "sfe status") == f"config file {clean_env / 'nope.toml'} does not exist"


def test_the_installed_command_prints_no_traceback_for_a_missing_inbox(clean_env: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", "/nonexistent/inbox", "--json",
                           "--data-dir", str(clean_env / "data")],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert proc.returncode == EXIT_USAGE
    assert json.loads(proc.stdout)["exit_code"] == EXIT_USAGE
    assert proc.stderr.startswith("sfe ingest: the inbox /nonexistent/inbox does not exist")
    assert "Traceback" not in proc.stderr
