"""`sfe serve` helpers: environment handed to the app, port checks, readiness polling."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from dashboards import serve
from sfe.report import UsageError


def test_server_env_passes_settings_to_the_app(settings, tmp_path):
    settings = replace(settings, access_control=True, inbox_dir=tmp_path / "in")
    env = serve.server_env(settings, config_file=tmp_path / "sfe.toml")
    assert env["SFE_DATA_DIR"] == str(Path(settings.data_dir).resolve())
    assert env["SFE_INBOX"] == str((tmp_path / "in").resolve())
    assert env["SFE_ACCESS_CONTROL"] == "true"
    assert env["SFE_CONFIG"].endswith("sfe.toml")


def test_server_command_runs_streamlit_headless_on_the_port():
    cmd = serve.server_command(8765)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("dashboards/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.headless") + 1] == "true"


def test_start_server_refuses_a_busy_port(settings):
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(UsageError, match="already in use"):
            serve.start_server(settings, port)


def test_wait_until_ready_gives_up_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert serve.wait_until_ready(port, timeout=0.5) is False


def test_server_listens_on_loopback_by_default_without_the_toolbar_export():
    cmd = serve.server_command(8765)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--client.disableDataExport") + 1] == "true"


def test_server_env_stops_the_server_trusting_x_forwarded_for(settings):
    assert serve.server_env(settings)["FORWARDED_ALLOW_IPS"] == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_serve_refuses_other_interfaces_with_login_off(settings, host):
    with pytest.raises(UsageError, match="login off"):
        serve.start_server(settings, 8765, host=host)


def test_serve_refuses_other_interfaces_with_login_on_but_no_users(settings):
    settings = replace(settings, access_control=True)
    with pytest.raises(UsageError, match="no users"):
        serve.check_binding(settings, "0.0.0.0")
    (Path(settings.data_dir) / "users.json").parent.mkdir(parents=True, exist_ok=True)
    (Path(settings.data_dir) / "users.json").write_text(
        '{"users": {"ops": {"role": "sales_ops", "password_hash": null}}}', encoding="utf-8")
    serve.check_binding(settings, "0.0.0.0")  # login on and someone can sign in: allowed


@pytest.mark.parametrize(("address", "local"), [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("", False), (None, False), ("10.0.0.5", False), ("::", False)])
def test_is_loopback(address, local):
    assert serve.is_loopback(address) is local


def test_sfe_serve_host_everywhere_with_login_off_exits_2_before_starting(tmp_path, monkeypatch,
                                                                        capsys):
    from orchestration.cli import main

    for name in ("SFE_CONFIG", "SFE_ACCESS_CONTROL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    started = []
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: started.append(a))
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")]) == 2
    assert "refusing to listen on 0.0.0.0 with login off" in capsys.readouterr().err
    assert started == []
