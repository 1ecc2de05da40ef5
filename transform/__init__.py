"""The dbt stage: runs the dbt project (dbt_project/) on the working warehouse, with progress,
the incremental/up-to-date fingerprints, audit.dbt_builds and `dbt docs generate`."""
