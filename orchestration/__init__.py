"""The top layer: the `sfe` command line, `run`/`demo`, status and the Airflow helpers.

It imports the stages (ingestion, matching, transform, quality, dashboards, generator) and the
floor (sfe); nothing imports it but the DAGs (dags/) and tests. pyproject's import-linter
contracts keep that direction.
"""
