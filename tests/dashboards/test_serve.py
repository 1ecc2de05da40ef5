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
