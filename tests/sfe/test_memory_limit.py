"""settings.memory_limit reaches DuckDB in the warehouse connection, and bad values say so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from transform.dbt_runner import dbt_env
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


def test_auto_is_half_the_available_memory_within_1_and_3_gb() -> None:
    from sfe.warehouse import auto_memory_limit

    gb = 1 << 30
    assert auto_memory_limit(24 * gb) == "3072MiB"  # capped: not 80 % of a big machine
    assert auto_memory_limit(4 * gb) == "2048MiB"
    assert auto_memory_limit(1 * gb) == "1024MiB"  # at least 1 GB
    assert auto_memory_limit(None) == "3072MiB"


def test_auto_moves_in_steps_of_256_mib_so_dbt_keeps_its_partial_parse() -> None:
    """The figure is in dbt's profile: a few MB more or less free memory between two builds
    must not change it (a changed profile makes dbt parse the whole project again)."""
    from sfe.warehouse import auto_memory_limit

    mb = 1 << 20
    assert auto_memory_limit(2 * 2500 * mb) == "2304MiB"  # half is 2,500: down to a step
    assert auto_memory_limit(2 * 2510 * mb) == auto_memory_limit(2 * 2550 * mb) == "2304MiB"
    assert auto_memory_limit(2 * 2560 * mb) == "2560MiB"


def test_the_default_is_auto_and_reaches_duckdb_and_dbt_as_a_size(settings, monkeypatch) -> None:
    from sfe import warehouse

    assert settings.memory_limit == "auto"
    monkeypatch.setattr(warehouse, "available_memory_bytes", lambda: 3 << 30)
    with connect(settings) as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit in {"1.5 GiB", "1536.0 MiB"}
    assert dbt_env(settings)["SFE_MEMORY_LIMIT"] == "1536MiB"


def test_threads_setting_reaches_duckdb(settings) -> None:
    with connect(replace(settings, threads=1)) as con:
        assert con.execute("select current_setting('threads')").fetchone()[0] == 1
