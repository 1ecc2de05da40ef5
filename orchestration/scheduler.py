"""`sfe airflow`: Airflow standalone set up for this project, the way sales ops schedule loads.

Airflow keeps its home under the data directory (`<data_dir>/airflow`), reads the DAGs from this
repository's `dags/`, and gets the project's settings as absolute paths in its environment
(`SFE_DATA_DIR`, `SFE_CONFIG`, ...), so every DAG finds the same warehouse whatever folder
Airflow was started from. Set-up is idempotent: migrate the metadata database, create the
one-slot pool every warehouse-writing task runs in, serialize the DAGs, print the login.
The same environment is written to `<airflow home>/sfe-airflow.env` so the `airflow` CLI can be
used by hand (`source` it first).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sfe.config import PROJECT_ROOT, Settings, find_config_file
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK, UsageError
from sfe.signals import kill_descendants

DAGS_FOLDER = PROJECT_ROOT / "dags"
# DuckDB allows one writer: every task that writes the working warehouse runs in this pool.
WAREHOUSE_POOL = "sfe_warehouse"
ENV_FILE = "sfe-airflow.env"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"  # SimpleAuthManager's default
ADMIN = "admin"


def airflow_home(settings: Settings) -> Path:
    return Path(os.path.abspath(settings.data_dir)) / "airflow"


def project_env(settings: Settings, config_file: Path | None) -> dict[str, str]:
    """The SFE_* variables that hand these settings to Airflow's processes, as absolute paths."""
    env = {"SFE_DATA_DIR": os.path.abspath(settings.data_dir),
           "SFE_MAPPINGS_DIR": os.path.abspath(settings.mappings_dir)}
    if settings.inbox_dir is not None:
        env["SFE_INBOX"] = os.path.abspath(settings.inbox_dir)
    if config_file is not None:
        env["SFE_CONFIG"] = os.path.abspath(config_file)
    return env


def airflow_env(settings: Settings, config_file: Path | None, port: int = 8080) -> dict[str, str]:
    """Airflow's own settings for this project (AIRFLOW__SECTION__KEY overrides airflow.cfg)."""
    home = airflow_home(settings)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        # the user ran `sfe airflow` to have loads scheduled: new DAGs start active
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__PORT": str(port),
        **project_env(settings, config_file),
    }


@dataclass
class AirflowReport:
    home: str
    dags_folder: str
    env_file: str
    login: dict[str, str]
    setup_only: bool
    url: str = "http://localhost:8080"
    steps: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    note: str = ""

    def to_dict(self) -> dict:
        return {"airflow_home": self.home, "dags_folder": self.dags_folder,
                "env_file": self.env_file, "login": self.login, "steps": self.steps,
                "url": self.url,
                "setup_only": self.setup_only, "note": self.note, "exit_code": self.exit_code}

    def summary(self) -> str:
        lines = [f"Airflow home: {self.home}", f"DAGs:         {self.dags_folder}",
                 f"login:        {self.login['user']} / {self.login['password']}"
                 f"  (stored in {self.login['file']})",
                 f"airflow CLI:  source {shlex.quote(self.env_file)}   then e.g. airflow dags list"]
        if self.setup_only:
            lines.append(f"set up only; 'bin/sfe airflow' starts Airflow at {self.url}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def _airflow(args: list[str], env: dict[str, str], console: Console) -> None:
    """One `airflow …` command in this environment; a failure names the step and its output."""
    console.step(f"airflow {' '.join(args)}")
    proc = subprocess.run([sys.executable, "-m", "airflow", *args], env={**os.environ, **env},
                          cwd=env["AIRFLOW_HOME"], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        raise UsageError(f"'airflow {' '.join(args)}' failed (exit {proc.returncode}) with "
                         f"AIRFLOW_HOME={env['AIRFLOW_HOME']}: {tail}")


def ensure_login(home: Path) -> dict[str, str]:
    """The admin password Airflow's simple auth manager reads, generated once and kept."""
    path = home / PASSWORD_FILE
    passwords: dict[str, str] = {}
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        try:
            passwords = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} is not the JSON Airflow wrote ({exc}); delete it and run "
                             "'sfe airflow --setup-only' again to get a new password") from exc
    if ADMIN not in passwords:
        passwords[ADMIN] = secrets.token_urlsafe(12)
        path.write_text(json.dumps(passwords) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return {"user": ADMIN, "password": passwords[ADMIN], "file": str(path)}


def write_env_file(home: Path, env: dict[str, str]) -> Path:
    path = home / ENV_FILE
    lines = ["# written by `sfe airflow`: source this file before running the airflow CLI by hand"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    # `airflow` and `sfe` of this project's environment first on PATH
    lines.append(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def setup(settings: Settings, config_file: Path | None, console: Console,
          port: int = 8080) -> AirflowReport:
    """Idempotent: migrate, create the writer pool, serialize the DAGs, print the login."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a valid TCP port")
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(settings, config_file, port)
    report = AirflowReport(str(home), str(DAGS_FOLDER), str(write_env_file(home, env)),
                           ensure_login(home), setup_only=True, url=f"http://localhost:{port}")
    steps = (["db", "migrate"],
             ["pools", "set", WAREHOUSE_POOL, "1",
              "one writer at a time on the DuckDB working warehouse (sfe)"],
             ["dags", "reserialize"])
    for args in steps:
        _airflow(list(args), env, console)
        report.steps.append(" ".join(args[:2]))
    return report


def run_standalone(env: dict[str, str], console: Console) -> int:
    """`airflow standalone` in the foreground; stopping `sfe` (Ctrl-C, SIGTERM) stops it."""
    console.info("Starting Airflow (scheduler, DAG processor, triggerer, API server) on "
                 f"http://localhost:{env['AIRFLOW__API__PORT']} — Ctrl-C stops it.")
    proc = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"],
                            env={**os.environ, **env}, cwd=env["AIRFLOW_HOME"])
    try:
        return proc.wait()
    finally:
        if proc.poll() is None:
            _stop_standalone(proc)


def _stop_standalone(proc: subprocess.Popen, grace: float = 5, shutdown: float = 30) -> None:
    """Standalone stops its components on SIGINT (not SIGTERM). Ctrl-C in a terminal already
    sent it one, and a second would cut its shutdown short: give it a moment first."""
    for forward, wait in ((False, grace), (True, shutdown)):
        if forward:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    kill_descendants(proc.pid)  # it did not stop: nothing of it may keep running
    proc.kill()
    proc.wait()


def airflow_command(settings: Settings, args: argparse.Namespace,
                    console: Console) -> AirflowReport:
    config_file = find_config_file(getattr(args, "config", None))
    port = int(getattr(args, "port", 8080) or 8080)
    report = setup(settings, config_file, console, port)
    if args.setup_only:
        return report
    report.setup_only = False
    console.info(report.summary())
    code = run_standalone(airflow_env(settings, config_file, port), console)
    if code not in (0, -2, -15):
        report.exit_code = EXIT_NEEDS_ATTENTION
        report.note = f"airflow standalone exited with code {code}; see its messages above"
    return report
