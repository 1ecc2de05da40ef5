"""`built`: the tiny fixture warehouse built once per test run (tests/dbt/built_fixture.py)."""

from tests.dbt.built_fixture import built  # noqa: F401  (a fixture for every module here)
