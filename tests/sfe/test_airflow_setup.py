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


def _airflow(folder: Path, env_file: Path, *args: str, timeout: int = 120) -> str:
    """An `airflow` command as a user runs it by hand: source the env file, then airflow."""
    script = f"source {env_file} && airflow {' '.join(args)}"  # PATH comes from the env file
    proc = subprocess.run(["bash", "-c", script], cwd=folder, env=_clean_env(),
                          capture_output=True, text=True, timeout=timeout)
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


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SFE_E2E") == "0",
                    reason="generates an inbox and builds it under Airflow; SFE_E2E=0 skips it")
def test_load_then_warehouse_chain_under_airflow_cli_publishes_a_snapshot(tmp_path):
    """The issue's done-when: generated data → sfe_ingest → sfe_warehouse with `airflow dags
    test`, from folders outside the repo, ends with a published snapshot."""
    folder = tmp_path / "ops-desk"
    folder.mkdir()
    # a company's own bar: the tiny generated inbox has few distributors, several late
    (folder / "sfe.toml").write_text('data_dir = "data"\n[thresholds]\n'
                                     "min_flow_completeness = 0.3\n", encoding="utf-8")
    for args in (["generate", "--out", "data/inbox", "--customers", "60", "--months", "3"],
                 ["airflow", "--setup-only"]):
        proc = subprocess.run([str(ROOT / "bin/sfe"), *args, "--quiet"], cwd=folder,
                              env=_clean_env(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    env_file = folder / "data" / "airflow" / "sfe-airflow.env"
    assert f"export SFE_CONFIG={folder / 'sfe.toml'}\n" in env_file.read_text(encoding="utf-8")

    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    for dag_id in ("sfe_ingest", "sfe_warehouse"):
        out = _airflow(elsewhere, env_file, "dags", "test", dag_id, timeout=900)
        assert f"dag_id={dag_id}" in out and "state=success" in out, out[-3000:]
    status = subprocess.run(["bash", "-c", f"source {env_file} && sfe status --json"],
                            cwd=elsewhere, env=_clean_env(), capture_output=True, text=True,
                            timeout=120)
    data = json.loads(status.stdout)
    assert Path(data["published_db"]) == folder / "data" / "published" / "current.duckdb"
    assert Path(data["published_db"]).exists()
    assert data["published"]["published"] is True
    assert data["published"]["data_status"] == "passed"
