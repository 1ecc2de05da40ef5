from __future__ import annotations

from pathlib import Path

import pytest

from sfe.config import ConfigError, load_settings


def test_defaults_work_without_any_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(env={})
    assert s.working_db == tmp_path / "data/warehouse/working.duckdb"
    assert s.published_db == tmp_path / "data/published/current.duckdb"
    assert s.inbox == tmp_path / "data/inbox"
    assert s.thresholds.flow_on_time_day == 10


def test_file_then_environment_then_override(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('data_dir = "/srv/a"\ncompany_name = "甲"\n[thresholds]\nroi_window_days = 60\n'
                   '[smtp]\nhost = "mail"\nport = 25\n', encoding="utf-8")
    s = load_settings(cfg, env={"SFE_DATA_DIR": "/srv/b", "SFE_SMTP_PORT": "2525"})
    assert s.data_dir == Path("/srv/b")
    assert s.company_name == "甲"
    assert s.thresholds.roi_window_days == 60
    assert (s.smtp.host, s.smtp.port) == ("mail", 2525)
    s2 = load_settings(cfg, env={}, data_dir=Path("/srv/c"))
    assert s2.data_dir == Path("/srv/c")


def test_wrong_type_names_file_and_key(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('[thresholds]\nroi_window_days = "ninety"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"roi_window_days"):
        load_settings(cfg, env={})


def test_relative_paths_are_made_absolute_once_where_sfe_started(tmp_path, monkeypatch) -> None:
    """dbt runs in the project folder and the gates wherever sfe runs: both must get the same
    absolute paths, whatever folder the relative --data-dir was given in."""
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = load_settings(env={"SFE_INBOX": "drop", "SFE_MAPPINGS_DIR": "maps"},
                      data_dir=Path("rel/data"))
    monkeypatch.chdir(tmp_path)  # later stages run with another working folder
    assert s.data_dir == tmp_path / "elsewhere/rel/data"
    assert s.dbt_target_dir == tmp_path / "elsewhere/rel/data/dbt_target"
    assert s.reports_dir == tmp_path / "elsewhere/rel/data/reports"
    assert s.inbox == tmp_path / "elsewhere/drop"
    assert s.mappings_dir == tmp_path / "elsewhere/maps"


def test_a_relative_path_in_the_config_file_is_relative_to_that_file(tmp_path,
                                                                       monkeypatch) -> None:
    (tmp_path / "conf").mkdir()
    cfg = tmp_path / "conf" / "sfe.toml"
    cfg.write_text('data_dir = "wh"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings(cfg, env={}).data_dir == tmp_path / "conf" / "wh"
