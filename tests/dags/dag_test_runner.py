"""Run `dag.test()` of sfe_warehouse in this process with the stage functions replaced by fakes.

Used by test_dag_integrity.py in a subprocess (Airflow reads AIRFLOW_HOME and its metadata DB
settings at import time, so each run gets a fresh sqlite DB under a temp dir):

    python tests/dags/dag_test_runner.py OUT.json [--refuse]

Writes {"state", "calls", "tis": {task_id: state}, "runs": audit.runs rows} to OUT.json; the
warehouse is the one SFE_DATA_DIR names (the test points it at a temp folder).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


class FakeReport:
    def __init__(self, exit_code: int = 0, **payload: object) -> None:
        self.exit_code = exit_code
        self.payload = payload

    def summary(self) -> str:
        return f"fake report {self.payload}"

    def to_dict(self) -> dict:
        return {**self.payload, "exit_code": self.exit_code}


def install_fakes(calls: list[str], refuse: bool) -> None:
    """Replace the stage functions run_pipeline calls with recording fakes."""
    import orchestration.pipeline as pipeline

    def module(name: str, attr: str, result: FakeReport) -> None:
        def fake(settings, **_kwargs):
            calls.append(f"{name}.{attr}:{type(settings).__name__}")
            return result
        setattr(pipeline, attr, fake)

    module("orchestration.build", "build_step", FakeReport())
    module("quality.gates", "run_checks", FakeReport(1 if refuse else 0))
    module("quality.publish", "publish", FakeReport(
        1, outcome="refused", reason="blocking gate customer_match_rate failed")
        if refuse else FakeReport(
        0, outcome="published", snapshot_id="snap-test", snapshot="snap-test"))


def main() -> None:
    out = Path(sys.argv[1])
    refuse = "--refuse" in sys.argv
    from airflow.utils import db

    db.initdb()
    calls: list[str] = []
    install_fakes(calls, refuse)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    dag = bag.dags["sfe_warehouse"]
    run = dag.test()
    import duckdb

    from sfe.config import load_settings

    con = duckdb.connect(str(load_settings().working_db), read_only=True)
    try:
        runs = con.execute("select command, status, gate_status, published_snapshot "
                           "from audit.runs").fetchall()
    finally:
        con.close()
    out.write_text(json.dumps({
        "state": str(getattr(run.state, "value", run.state)),
        "calls": calls,
        "tis": {ti.task_id: str(getattr(ti.state, "value", ti.state))
                for ti in run.get_task_instances()},
        "runs": [list(r) for r in runs],
    }))


if __name__ == "__main__":
    main()
