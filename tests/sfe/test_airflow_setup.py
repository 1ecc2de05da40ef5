"""The documented Airflow set-up, from an empty folder outside the repo (issue 17 done-when):
`bin/sfe airflow --setup-only` then the `airflow` CLI as the README shows it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = {"sfe_ingest", "sfe_warehouse", "sfe_weekly_scorecard", "sfe_flow_collection"}


def _clean_env() -> dict[str, str]:
    """The caller's environment without any Airflow or sfe settings (a fresh shell)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SFE_"))}


def _airflow(folder: Path, env_file: Path, *args: str) -> str:
    """An `airflow` command as a user runs it by hand: source the env file, then airflow."""
    script = f"source {env_file} && airflow {' '.join(args)}"  # PATH comes from the env file
    proc = subprocess.run(["bash", "-c", script], cwd=folder, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _json(output: str) -> list[dict]:
    """The JSON line of `-o json` output (Airflow may log warnings on stdout before it)."""
    return json.loads(next(line for line in output.splitlines() if line.startswith("[")))


@pytest.mark.slow
def test_setup_only_from_an_empty_folder_outside_the_repo_lists_the_dags(tmp_path):
    folder = tmp_path / "ops-desk"  # not the repo: a relative data dir must still work
    folder.mkdir()
    proc = subprocess.run([str(ROOT / "bin/sfe"), "airflow", "--setup-only", "--data-dir", "data"],
                          cwd=folder, env=_clean_env(), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    home = folder / "data" / "airflow"
    assert f"Airflow home: {home}" in proc.stdout
    password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    assert f"login:        admin / {password['admin']}" in proc.stdout

    env_file = home / "sfe-airflow.env"
    exported = env_file.read_text(encoding="utf-8")
    assert f"export SFE_DATA_DIR={folder / 'data'}\n" in exported  # absolute, not 'data'
    assert f"export AIRFLOW__CORE__DAGS_FOLDER={ROOT / 'dags'}\n" in exported

    elsewhere = tmp_path / "somewhere-else"  # the settings do not depend on the folder
    elsewhere.mkdir()
    dags = _json(_airflow(elsewhere, env_file, "dags", "list", "-o", "json"))
    assert {d["dag_id"] for d in dags} == DAG_IDS
    assert all(d["is_paused"] in ("False", False) for d in dags)
    # the writer pool, read from Airflow's metadata DB (saves starting airflow once more)
    with sqlite3.connect(home / "airflow.db") as db:
        slots = db.execute("select slots from slot_pool where pool = 'sfe_warehouse'").fetchall()
    assert slots == [(1,)]
