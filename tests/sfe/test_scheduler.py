"""orchestration.scheduler: the Airflow environment and stopping `airflow standalone`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from sfe.report import UsageError
from orchestration.scheduler import _stop_standalone, airflow_env, ensure_login, setup


def test_airflow_env_gives_absolute_project_paths_and_the_port(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = replace(settings, data_dir=Path("rel-data"), inbox_dir=Path("in"))
    env = airflow_env(settings, Path("conf/sfe.toml"), port=8793)
    assert env["SFE_DATA_DIR"] == str(tmp_path / "rel-data")
    assert env["SFE_INBOX"] == str(tmp_path / "in")
    assert env["SFE_CONFIG"] == str(tmp_path / "conf/sfe.toml")
    assert env["AIRFLOW_HOME"] == str(tmp_path / "rel-data" / "airflow")
    assert env["AIRFLOW__API__PORT"] == "8793"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"


def test_login_is_generated_once_and_kept(tmp_path):
    first = ensure_login(tmp_path)
    assert first["user"] == "admin" and len(first["password"]) >= 12
    assert ensure_login(tmp_path) == first
    assert oct(Path(first["file"]).stat().st_mode & 0o777) == "0o600"


def test_a_damaged_password_file_is_a_clear_error(tmp_path):
    (tmp_path / "simple_auth_manager_passwords.json.generated").write_text("{not json")
    with pytest.raises(UsageError, match="delete it and run 'sfe airflow --setup-only'"):
        ensure_login(tmp_path)


def test_setup_refuses_a_bad_port_before_touching_anything(settings):
    from sfe.console import Console

    with pytest.raises(UsageError, match="not a valid TCP port"):
        setup(settings, None, Console(quiet=True), port=70000)
    assert not (Path(settings.data_dir) / "airflow").exists()


def test_stop_standalone_forwards_sigint_when_the_child_did_not_get_one():
    # like standalone: SIGINT shuts it down, SIGTERM is ignored
    child = subprocess.Popen([sys.executable, "-c",
                              "import signal, sys, time\n"
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "signal.signal(signal.SIGINT, lambda *a: sys.exit(7))\n"
                              "print('ready', flush=True)\n"
                              "time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    _stop_standalone(child, grace=0.5, shutdown=10)
    assert child.returncode == 7  # stopped by the forwarded SIGINT, not killed
    assert time.monotonic() - started < 10


def test_stop_standalone_kills_a_child_that_will_not_stop():
    child = subprocess.Popen([sys.executable, "-c",
                              "import signal, time\n"
                              "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                              "print('ready', flush=True)\n"
                              "time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    _stop_standalone(child, grace=0.2, shutdown=0.5)
    assert child.returncode == -9
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)
