"""Issue 16: the KPI marts' period replacement on Spark, on hand-written rows.

A throw-away dbt project holds this project's macros, the `spark` target of profiles.yml and
four small incremental models configured like the KPI marts (kpi_month_strategy(), unique_key
'month' or 'quarter', their pre-hooks). A first `dbt run` on Spark builds them from five rows;
the second changes the rows (two months lose all theirs, two change) and names the changed
months as `sfe build` does (var kpi_changed_months). On Spark, insert_overwrite replaces only
the partitions the new rows fall in, so a rebuilt month without rows keeps its old ones unless
the pre-hook drops it: the expectations below are written by hand from the rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.spark.requirements import NEEDS_SPARK
from transform.lake import parquet_scan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("spark"),
    pytest.mark.skipif(os.environ.get("SFE_E2E") == "0",
                       reason="starts a Spark session (a minute or two); SFE_E2E=0 skips it"),
    NEEDS_SPARK,
]

ROOT = Path(__file__).resolve().parents[2]

# (month, quarter, key, value): version 1, then version 2 where February and August lost all
# their rows and March and April changed
SOURCE = """{{ config(materialized='table') }}
select month, quarter, k, cast(v as double) as v from values
{% if var('version') == 1 %}
    ('2026-01', '2026-Q1', 'a', 1.0), ('2026-02', '2026-Q1', 'b', 2.0),
    ('2026-03', '2026-Q1', 'c', 3.0), ('2026-04', '2026-Q2', 'd', 4.0),
    ('2026-08', '2026-Q3', 'e', 5.0)
{% else %}
    ('2026-01', '2026-Q1', 'a', 1.0), ('2026-03', '2026-Q1', 'c', 30.0),
    ('2026-04', '2026-Q2', 'd', 40.0)
{% endif %}
    as src (month, quarter, k, v)
"""

MODELS = {
    "period_rows": SOURCE,
    # like kpi_call_activity: the changed months only
    "by_month": """{{ config(materialized='incremental', incremental_strategy=kpi_month_strategy(),
    unique_key='month', pre_hook="{{ kpi_delete_rebuilt_months() }}") }}
select month, k, v from {{ ref('period_rows') }} where {{ kpi_months_where('month') }}
""",
    # like kpi_channel_inventory: every month from the first changed one
    "since_first": """{{ config(materialized='incremental', incremental_strategy=kpi_month_strategy(),
    unique_key='month', pre_hook="{{ kpi_delete_months_since_first_change() }}") }}
select month, k, v from {{ ref('period_rows') }}
where {{ kpi_months_since_first_change('month') }}
""",
    # like kpi_customer_grade: the quarters of the changed months
    "by_quarter": """{{ config(materialized='incremental', incremental_strategy=kpi_month_strategy(),
    unique_key='quarter', pre_hook="{{ kpi_delete_rebuilt_quarters() }}") }}
select quarter, k, v from {{ ref('period_rows') }} where {{ kpi_quarters_where('quarter') }}
""",
    # a full table of an earlier version that became incremental
    "was_table": """{{ config(materialized='table' if var('version') == 1 else 'incremental',
    incremental_strategy=kpi_month_strategy(), unique_key='month',
    pre_hook="{{ kpi_delete_rebuilt_months() }}") }}
select month, k, v from {{ ref('period_rows') }} where {{ kpi_months_where('month') }}
""",
}

RUNS = [{"version": 1}, {"version": 2, "kpi_changed_months": ["2026-02", "2026-08"]}]

# dbt on Spark in a child process (its JVM ends with it): each run's node results and the
# Parquet files of the tables afterwards (path → modification time)
SCRIPT = """
import json, sys
from pathlib import Path
from dbt.cli.main import dbtRunner
project, lake, runs = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
out = []
for run_vars in runs:
    done = dbtRunner().invoke(["run", "--project-dir", str(project), "--profiles-dir",
                               sys.argv[4], "--target", "spark", "--vars", json.dumps(run_vars)])
    results = {r.node.name: [str(r.status), r.message or ""] for r in (done.result or [])}
    files = {str(p.relative_to(lake)): p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    out.append({"results": results, "error": str(done.exception or ""), "files": files})
print("RESULT " + json.dumps(out))
"""


def _project(root: Path) -> Path:
    project = root / "project"
    shutil.copytree(ROOT / "dbt_project" / "macros", project / "macros")
    (project / "models").mkdir()
    for name, sql in MODELS.items():
        (project / "models" / f"{name}.sql").write_text(sql, encoding="utf-8")
    (project / "dbt_project.yml").write_text(
        "name: period_partitions\nversion: '1.0'\nprofile: sfe_warehouse\n"
        "model-paths: [models]\nmacro-paths: [macros]\n", encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], Path]:
    root = tmp_path_factory.mktemp("period_partitions")
    project, lake = _project(root), root / "lake"
    # both runs share the child's one Spark session: a catalog in its memory finds the first
    # run's tables as Derby would (no metastore to create: ~20 s less)
    env = {**os.environ, "SFE_LAKE_DIR": str(lake), "SFE_SPARK_THREADS": "1",
           "SFE_SPARK_CATALOG": "in-memory", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(project), str(lake),
                           json.dumps(RUNS), str(ROOT)],
                          capture_output=True, text=True, timeout=1800, env=env, cwd=root)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, done.stdout[-3000:] + done.stderr[-3000:]
    assert not (lake / "metastore" / "metastore_db").exists()  # the catalog setting took
    return json.loads(line[len("RESULT "):]), lake / "warehouse"


def _rows(tables: Path, name: str) -> list[tuple]:
    folder = next(tables.glob(f"*.db/{name}"))
    con = duckdb.connect()
    try:
        return sorted(con.execute(f"select * exclude (v), v from {parquet_scan(folder)}")
                      .fetchall())
    finally:
        con.close()


def _partitions(tables: Path, name: str) -> list[str]:
    folder = next(tables.glob(f"*.db/{name}"))
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.parquet")))


def _files(run: dict, name: str, partition: str) -> dict[str, int]:
    return {path: mtime for path, mtime in run["files"].items()
            if f"/{name}/{partition}/" in f"/{path}"}


def test_both_runs_build_the_period_models(runs) -> None:
    results, _ = runs
    for run in results:
        for name in ("period_rows", "by_month", "since_first", "by_quarter"):
            assert run["results"][name][0] == "success", (name, run)


def test_a_rebuilt_month_whose_rows_all_went_away_is_emptied(runs) -> None:
    """by_month rebuilds February and August: both lost every row, so both partitions go;
    March (changed, not named) keeps its first value; January's files are untouched."""
    results, tables = runs
    # rows come back as (k, month, v): the partition column last, as Spark stores it
    assert _rows(tables, "by_month") == [("a", "2026-01", 1.0), ("c", "2026-03", 3.0),
                                         ("d", "2026-04", 4.0)]
    assert _partitions(tables, "by_month") == ["month=2026-01", "month=2026-03", "month=2026-04"]
    january = _files(results[0], "by_month", "month=2026-01")
    assert january and _files(results[1], "by_month", "month=2026-01") == january


def test_every_month_from_the_first_change_is_replaced(runs) -> None:
    """since_first rebuilds February on: March and April take their new values, February and
    August are gone, January stays."""
    _, tables = runs
    assert _rows(tables, "since_first") == [("a", "2026-01", 1.0), ("c", "2026-03", 30.0),
                                            ("d", "2026-04", 40.0)]
    assert _partitions(tables, "since_first") == ["month=2026-01", "month=2026-03",
                                                  "month=2026-04"]


def test_the_quarter_mart_is_partitioned_and_replaced_by_quarter(runs) -> None:
    """by_quarter rebuilds the quarters of February and August (Q1, Q3): Q1 holds its new rows
    (February's gone, March's changed), Q3 lost all its rows, Q2 keeps its first value."""
    results, tables = runs
    assert _rows(tables, "by_quarter") == [("a", "2026-Q1", 1.0), ("c", "2026-Q1", 30.0),
                                           ("d", "2026-Q2", 4.0)]
    assert _partitions(tables, "by_quarter") == ["quarter=2026-Q1", "quarter=2026-Q2"]
    second = _files(results[0], "by_quarter", "quarter=2026-Q2")
    assert second and _files(results[1], "by_quarter", "quarter=2026-Q2") == second


def test_a_full_table_of_an_earlier_version_stops_with_what_to_do(runs) -> None:
    results, tables = runs
    status, message = results[1]["results"]["was_table"]
    assert status == "error"
    assert "not partitioned by month" in message and "sfe build --force" in message
    # the table is left as it was, not half replaced
    assert len(_rows(tables, "was_table")) == 5
