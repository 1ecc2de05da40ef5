"""The dbt stage: runs the dbt project (dbt_project/) on the working warehouse.

build.py (`build`, the dbt part of `sfe build`), report.py (what a build returns),
dbt_runner.py (dbt in-process, and on Spark), progress.py (dbt's progress on the console),
build_state.py (what changed since the last successful build: skip, rebuild every month,
or only some; the months themselves are sfe/build_months.py's, which the check reads too),
docs.py (`dbt docs generate`), lake.py (the Parquet lake of the Spark engine);
audit.dbt_builds is recorded by build.py."""
