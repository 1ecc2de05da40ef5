"""Issue 17 DAG behaviour: one writer pool, the flow-collection DAG, no orchestration code at
parse time."""

from __future__ import annotations

import sys

import pytest

from tests.dags.test_dag_integrity import DAGS, STAGE_MODULES, _airflow_env

WRITERS = {("sfe_ingest", "ingest")}  # plus every task of sfe_warehouse


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    """dags/ parsed with the stage modules and orchestration.operations/orchestration.scheduler unimportable."""
    home = tmp_path_factory.mktemp("airflow_home")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _airflow_env(home).items():
            mp.setenv(key, value)
        from airflow.dag_processing.dagbag import DagBag

        for name in (*STAGE_MODULES, "orchestration.operations", "orchestration.scheduler"):
            mp.setitem(sys.modules, name, None)
        bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag


def test_every_task_that_writes_the_warehouse_runs_in_the_one_slot_pool(dagbag):
    from orchestration.scheduler import WAREHOUSE_POOL

    writers = WRITERS | {("sfe_warehouse", t.task_id) for t in dagbag.dags["sfe_warehouse"].tasks}
    assert len(writers) >= 2
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            expected = WAREHOUSE_POOL if (dag.dag_id, task.task_id) in writers else "default_pool"
            assert task.pool == expected, f"{dag.dag_id}.{task.task_id} in pool {task.pool}"


def test_flow_collection_dag_runs_monthly_after_the_deadline_and_mails_after_listing(dagbag):
    dag = dagbag.dags["sfe_flow_collection"]
    assert dag.timetable.expression == "0 9 11 * *"
    assert "Asia/Shanghai" in str(dag.timetable)
    assert dag.get_task("list_late").downstream_task_ids == {"mail_sales_ops"}


def test_flow_collection_tasks_list_late_distributors_and_skip_mail_without_smtp(
        dagbag, monkeypatch, settings, capsys):
    import datetime as dt

    from tests.dashboards.snapshot_fixture import build_snapshot

    build_snapshot(settings.published_db)
    for name in ("SFE_CONFIG", "SFE_SMTP_HOST", "SFE_SMTP_OPS_RECIPIENTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SFE_DATA_DIR", str(settings.data_dir))
    dag = dagbag.dags["sfe_flow_collection"]
    # 2026-11-11 01:00 UTC is 09:00 in Shanghai: October's flow was due on 2026-11-10
    late = dag.get_task("list_late").python_callable(
        data_interval_end=dt.datetime(2026, 11, 11, 1, 0, tzinfo=dt.UTC))
    assert late["month"] == "2026-10" and late["deadline"] == "2026-11-10"
    assert [(r["distributor_code"], r["problem"]) for r in late["late"]] == [
        ("D002", "late 迟交"), ("D003", "missing 未收到")]
    assert "D003  missing" in capsys.readouterr().out
    mailed = dag.get_task("mail_sales_ops").python_callable(late)
    assert mailed["mailed_to"] == [] and "no SMTP host" in mailed["skipped"]


@pytest.mark.parametrize(("dag_id", "task_id", "arg"), [
    ("sfe_weekly_scorecard", "send", "/nowhere/scorecard.html"),
    ("sfe_flow_collection", "list_late", None),
])
def test_a_configuration_error_fails_the_task_without_retry(dagbag, monkeypatch, tmp_path,
                                                            dag_id, task_id, arg):
    from airflow.sdk.exceptions import AirflowFailException

    bad = tmp_path / "sfe.toml"
    bad.write_text("snapshots_kept = 'many'\n", encoding="utf-8")
    monkeypatch.setenv("SFE_CONFIG", str(bad))
    monkeypatch.setenv("SFE_DATA_DIR", str(tmp_path / "data"))
    task = dagbag.dags[dag_id].get_task(task_id).python_callable
    with pytest.raises(AirflowFailException, match="snapshots_kept"):
        task(arg) if arg else task()


@pytest.mark.parametrize(("dag_id", "task_id", "args"), [
    ("sfe_ingest", "ingest", ([],)),
    ("sfe_warehouse", "run_warehouse", ()),
])
def test_both_writing_dags_wait_for_the_writer_lock_and_name_its_holder(
        dagbag, monkeypatch, tmp_path, dag_id, task_id, args):
    """Airflow's pool only serialises tasks it schedules; `airflow dags test`, a second
    scheduler or a person's `sfe build` meet the same lock as every `sfe` writing command."""
    from sfe.warehouse import WarehouseBusy
    from tests.sfe.test_writer_lock import holding_lock

    data = tmp_path / "data"
    monkeypatch.delenv("SFE_CONFIG", raising=False)
    monkeypatch.setenv("SFE_DATA_DIR", str(data))
    monkeypatch.setenv("SFE_LOCK_WAIT_S", "0.3")
    task = dagbag.dags[dag_id].get_task(task_id).python_callable
    with holding_lock(data, "sfe build") as pid:
        with pytest.raises(WarehouseBusy, match=rf"being written by 'sfe build' \(pid {pid},"):
            task(*args)
