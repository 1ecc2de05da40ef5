"""settings.memory_limit reaches DuckDB in the warehouse connection, and bad values say so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from transform.build import dbt_env
from sfe.config import ConfigError, load_settings
from sfe.warehouse import connect


def test_the_memory_limit_is_applied_to_the_working_warehouse(settings) -> None:
    capped = replace(settings, memory_limit="1GB")
    with connect(capped) as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit in {"953.6 MiB", "1.0 GB", "1000.0 MB"}  # DuckDB prints 10^9 bytes its way
    assert dbt_env(capped)["SFE_MEMORY_LIMIT"] == "1GB"


def test_environment_sets_it_and_a_bad_value_is_a_clear_error(tmp_path) -> None:
    settings = load_settings(env={"SFE_MEMORY_LIMIT": "lots"}, data_dir=tmp_path / "data")
    assert settings.memory_limit == "lots"
    with pytest.raises(ConfigError, match="memory_limit = 'lots'"):
        with connect(settings):
            pass
