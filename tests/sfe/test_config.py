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

@pytest.mark.parametrize("line", ['access_control = "on"', 'access_control = "true"',
                                  "access_control = 1"])
def test_a_boolean_setting_that_is_not_a_boolean_is_an_error_naming_the_key(tmp_path, line) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sfe\.toml: setting 'access_control'"):
        load_settings(cfg, env={})


def test_a_toml_boolean_loads_as_that_boolean(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text("access_control = true\n", encoding="utf-8")
    assert load_settings(cfg, env={}).access_control is True


@pytest.mark.parametrize("text", ["on", "enabled", "2", ""])
def test_environment_boolean_accepts_only_true_false_words(text) -> None:
    if text == "":  # an empty variable means "not set"
        assert load_settings(env={"SFE_ACCESS_CONTROL": text}).access_control is False
        return
    with pytest.raises(ConfigError, match="access_control"):
        load_settings(env={"SFE_ACCESS_CONTROL": text})


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("YES", True), ("0", False)])
def test_environment_boolean_words(text, expected) -> None:
    assert load_settings(env={"SFE_ACCESS_CONTROL": text}).access_control is expected


@pytest.mark.parametrize(("section", "line"), [
    ("thresholds", "flow_on_time_day = 10.7"),     # was cut to 10
    ("thresholds", "roi_window_days = true"),      # was 1
    ("thresholds", 'match_auto_score = "0.9"'),    # a string is not a number in TOML
    ("smtp", "port = false"),
    ("smtp", 'use_tls = "no"'),                    # was silently false
])
def test_numbers_and_booleans_in_the_file_must_have_their_toml_type(tmp_path, section, line) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    key = line.split(" = ")[0]
    with pytest.raises(ConfigError, match=rf"\[{section}\]: setting '{key}'"):
        load_settings(cfg, env={})


def test_an_int_is_a_valid_float_and_env_numbers_parse(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text("[thresholds]\ndoi_threshold_days = 45\n", encoding="utf-8")
    s = load_settings(cfg, env={"SFE_SMTP_PORT": "2525"})
    assert s.thresholds.doi_threshold_days == 45.0 and isinstance(s.thresholds.doi_threshold_days, float)
    assert s.smtp.port == 2525
    with pytest.raises(ConfigError, match="port"):
        load_settings(env={"SFE_SMTP_PORT": "25.5"})


def test_trusted_proxies_are_a_list_of_addresses(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('trusted_proxies = ["10.0.0.5", "10.1.0.0/16"]\n', encoding="utf-8")
    assert load_settings(cfg, env={}).trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    cfg.write_text('trusted_proxies = [1]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_settings(cfg, env={})


def test_the_territory_credit_tolerance_is_a_threshold_of_sfe_toml(tmp_path) -> None:
    from quality.definitions import resolve_thresholds
    cfg = tmp_path / "sfe.toml"
    cfg.write_text("[thresholds]\nmax_uncredited_share = 0.05\n", encoding="utf-8")
    resolved = resolve_thresholds(load_settings(cfg, env={}), {"max_uncredited_share": 0.01})
    assert resolved["max_uncredited_share"] == 0.05


def test_time_zone_defaults_to_china_and_is_read_from_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no sfe.toml here
    assert load_settings(env={}).time_zone == "Asia/Shanghai"
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('time_zone = "Asia/Urumqi"\n', encoding="utf-8")
    assert load_settings(cfg, env={}).time_zone == "Asia/Urumqi"


def test_a_time_zone_that_does_not_exist_is_an_error_saying_what_to_write(tmp_path) -> None:
    cfg = tmp_path / "sfe.toml"
    cfg.write_text('time_zone = "Beijing"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sfe.toml: setting 'time_zone' = 'Beijing'.*Asia/Shanghai"):
        load_settings(cfg, env={})


@pytest.mark.parametrize("key", ["ingest_workers", "ingest_memory_mb", "ingest_timeout_s"])
def test_a_negative_count_or_limit_is_an_error_naming_the_key(tmp_path, key) -> None:
    """`ingest_workers = -1` was taken and quietly read as "one per core"."""
    cfg = tmp_path / "sfe.toml"
    cfg.write_text(f"{key} = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"sfe.toml: setting '{key}' = -1 .*0 or more"):
        load_settings(cfg, env={})
