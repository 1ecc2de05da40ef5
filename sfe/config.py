"""One place for settings: defaults, then `sfe.toml`, then `SFE_*` environment variables.

Every path the product writes is derived from `data_dir`, so a test or a demo can point the whole
warehouse somewhere else with one setting. Paths are made absolute (against the folder `sfe`
was started in) when the settings are made, so every stage and dbt see the same files.
Nothing here is global: callers pass `Settings` along.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "SFE_CONFIG"
CONFIG_FILE_NAME = "sfe.toml"
ENGINES = ("duckdb", "spark")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the file and key."""


@dataclass(frozen=True)
class Thresholds:
    """Business thresholds the KPIs and quality gates use; overridable in `[thresholds]`."""

    flow_on_time_day: int = 10  # a month's flow is on time when first received by this day of the next month
    roi_window_days: int = 90
    doi_threshold_days: float = 60.0  # days of inventory above which a distributor is flagged
    match_auto_score: float = 0.90  # customer match score at or above which a match is automatic
    match_review_score: float = 0.60  # below this the raw name is left unmatched
    min_flow_completeness: float = 0.80
    min_customer_match_rate: float = 0.85
    max_inventory_variance_share: float = 0.10
    spike_factor: float = 5.0
    # share of a month's own matched terminal sell-out that may reach no territory (territory_credit)
    max_uncredited_share: float = 0.01


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "sfe-warehouse@localhost"
    recipients: tuple[str, ...] = ()
    use_tls: bool = True
    ops_recipients: tuple[str, ...] = ()  # sales ops: the monthly late-flow list


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    inbox_dir: Path | None = None
    mappings_dir: Path = PROJECT_ROOT / "mappings"
    company_name: str = "华康制药"
    snapshots_kept: int = 5
    thresholds: Thresholds = field(default_factory=Thresholds)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    access_control: bool = False
    # Addresses (or CIDR networks) of an authenticating reverse proxy whose `proxy_user_header`
    # names the user; empty: no header ever carries identity, only the dashboards' own login.
    trusted_proxies: tuple[str, ...] = ()
    proxy_user_header: str = "X-Forwarded-User"
    # DuckDB's memory cap for loads and builds ('4GB', '50%'); beyond it DuckDB spills to disk.
    # 'auto': half the memory available when the run starts, at least 1 GB and at most 3 GB
    # (sfe/warehouse.py), so a whole run stays under 4 GB; lower it on a shared server.
    memory_limit: str = "auto"
    # DuckDB worker threads; 0 keeps DuckDB's default (one per core).
    threads: int = 0
    # What one inbox file may cost to read (ingestion/isolation.py): the reader's memory cap
    # and time limit; a file beyond them is rejected, the run goes on.
    ingest_memory_mb: int = 2048
    ingest_timeout_s: float = 120.0
    # Reader workers parsing the next files in parallel (each under the limits above); 0: one
    # per core, at most 2. 1 is one worker reading one file ahead.
    ingest_workers: int = 0
    # How long a writing command (ingest, build, check, publish, run, a DAG task) waits for the
    # one writing now before it gives up with a message naming that command.
    lock_wait_s: float = 300.0
    # Where dbt builds the models: "duckdb" (the working warehouse) or "spark" (dbt-spark over
    # the Parquet lake, transform/lake.py; needs the `spark` extra). Gates and publish stay on DuckDB.
    engine: str = "duckdb"
    # The IANA time zone times are shown in to people (dashboards, the e-mailed scorecard);
    # the audit tables keep UTC.
    time_zone: str = "Asia/Shanghai"
    # Caches derived from the code alone, shared by every data dir of this installation (which
    # unit tests passed on which code: transform/unit_test_passes.py); None: `.cache/` beside
    # the project. Nothing in it is data: removing it costs only a rerun of the unit tests.
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"engine = {self.engine!r} is not one this product runs on; "
                              f"use one of: {', '.join(ENGINES)}")
        if not _is_time_zone(self.time_zone):
            raise ConfigError(f"time_zone = {self.time_zone!r} is not a time zone name; write an "
                              'IANA name such as time_zone = "Asia/Shanghai"')
        # Absolute once, here: dbt runs with the project as its folder and the gates read its
        # results from wherever `sfe` was started; a relative path would mean two places.
        for name in ("data_dir", "inbox_dir", "mappings_dir", "cache_dir"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_absolute():
                object.__setattr__(self, name, Path(os.path.abspath(Path(value).expanduser())))

    # -- derived paths -------------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.inbox_dir if self.inbox_dir is not None else self.data_dir / "inbox"

    @property
    def code_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else PROJECT_ROOT / ".cache"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def working_db(self) -> Path:
        return self.warehouse_dir / "working.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def published_db(self) -> Path:
        """The snapshot readers open; replaced atomically by `sfe publish`."""
        return self.published_dir / "current.duckdb"

    @property
    def stewardship_dir(self) -> Path:
        """Steward decisions live outside the warehouse so no rebuild can lose them."""
        return self.data_dir / "stewardship"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def lake_dir(self) -> Path:
        """Parquet both engines read: exported sources, and the tables Spark builds."""
        return self.data_dir / "lake"

    @property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt_target"

    def ensure_dirs(self) -> None:
        for path in (self.warehouse_dir, self.published_dir, self.stewardship_dir,
                     self.reports_dir, self.inbox):
            path.mkdir(parents=True, exist_ok=True)

    def dbt_vars(self) -> dict[str, object]:
        """Settings dbt models need, passed as `--vars` so SQL never hard-codes them."""
        t = self.thresholds
        return {
            "company_name": self.company_name,
            "flow_on_time_day": t.flow_on_time_day,
            "roi_window_days": t.roi_window_days,
            "doi_threshold_days": t.doi_threshold_days,
        }


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ENV_PATHS = {
    "SFE_DATA_DIR": "data_dir",
    "SFE_INBOX": "inbox_dir",
    "SFE_MAPPINGS_DIR": "mappings_dir",
    "SFE_CACHE_DIR": "cache_dir",
}
_ENV_SMTP = {
    "SFE_SMTP_HOST": "host",
    "SFE_SMTP_PORT": "port",
    "SFE_SMTP_USER": "user",
    "SFE_SMTP_PASSWORD": "password",
    "SFE_SMTP_SENDER": "sender",
    "SFE_SMTP_RECIPIENTS": "recipients",
    "SFE_SMTP_OPS_RECIPIENTS": "ops_recipients",
}


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _parse_bool(value: object, from_text: bool) -> bool:
    """A TOML boolean; from the environment (always text) only true/false/1/0/yes/no."""
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false")


def _parse_number(value: object, kind: type, from_text: bool) -> int | float:
    """An int (or float) of the right type; text only from the environment; never a bool, and
    never a float silently cut to an int."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if from_text and isinstance(value, str):
        return kind(value.strip())
    if isinstance(value, int) or kind is float and isinstance(value, float):
        return kind(value)
    raise ValueError(f"expected {'a whole number' if kind is int else 'a number'}")


_COUNTS = frozenset({"ingest_workers", "ingest_memory_mb", "ingest_timeout_s"})  # lock_wait_s: sfe/warehouse.py


def _coerce_one(default: object, key: str, value: object, from_text: bool) -> object:
    if isinstance(default, bool):
        return _parse_bool(value, from_text)
    if isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        raise ValueError("expected a list of strings")
    if isinstance(default, (int, float)):
        number = _parse_number(value, type(default), from_text)
        if key in _COUNTS and number < 0:  # -1 workers would silently mean "the default"
            raise ValueError("must be 0 or more")
        return number
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if isinstance(default, Path) or default is None and key.endswith("_dir"):
        return Path(value).expanduser()
    if key == "time_zone" and not _is_time_zone(value):
        raise ValueError("not an IANA time zone name such as Asia/Shanghai")
    return value


def _coerce(cls: type, values: dict[str, object], where: str,
            from_text: bool = False) -> dict[str, object]:
    """Check keys against a dataclass and values against the types of its defaults, strictly:
    `access_control = "on"` is an error naming the key, not a silent false. `from_text`
    (environment variables) parses strings; a config file must use TOML's own types."""
    known = {f.name: f for f in fields(cls)}
    out: dict[str, object] = {}
    defaults = cls()
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting '{key}'; known: {', '.join(sorted(known))}")
        default = getattr(defaults, key)
        try:
            out[key] = _coerce_one(default, key, value, from_text)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: setting '{key}' = {value!r} is not a valid "
                              f"{type(default).__name__} ({exc}); write e.g. "
                              f"{key} = {_example(default)}") from exc
    return out


def _example(default: object) -> str:
    if isinstance(default, bool):
        return "true"
    if isinstance(default, tuple):
        return '["a", "b"]'
    if isinstance(default, (int, float)):
        return repr(default)
    return f'"{default}"' if default is not None else '"..."'


def find_config_file(explicit: Path | None = None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={env} does not point to a file")
        return path
    candidate = Path.cwd() / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def _section(doc: dict[str, object], name: str, path: Path) -> dict[str, object]:
    """A `[name]` table of the config file; `name = 5` or `[[name]]` is an error naming it."""
    value = doc[name]
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{name}' must be a [{name}] section of key = value settings, "
                          f"not {value!r}")
    return value


def load_settings(config_file: Path | None = None, env: dict[str, str] | None = None,
                  **overrides: object) -> Settings:
    """Defaults ← config file ← environment ← explicit overrides (e.g. from the command line)."""
    env = dict(os.environ) if env is None else env
    settings = Settings()
    path = find_config_file(config_file)
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or remove it") from exc
        top = _coerce(Settings, {k: v for k, v in doc.items() if not isinstance(v, dict)},
                      str(path))
        for key, value in top.items():  # a path in the file is relative to the file
            if isinstance(value, Path) and not value.is_absolute():
                top[key] = path.resolve().parent / value
        settings = replace(settings, **top)
        if "thresholds" in doc:
            settings = replace(settings, thresholds=Thresholds(
                **_coerce(Thresholds, _section(doc, "thresholds", path), f"{path} [thresholds]")))
        if "smtp" in doc:
            settings = replace(settings, smtp=SmtpSettings(
                **_coerce(SmtpSettings, _section(doc, "smtp", path), f"{path} [smtp]")))
    env_top = {attr: env[name] for name, attr in _ENV_PATHS.items() if env.get(name)}
    if env.get("SFE_COMPANY_NAME"):
        env_top["company_name"] = env["SFE_COMPANY_NAME"]
    if env.get("SFE_MEMORY_LIMIT"):
        env_top["memory_limit"] = env["SFE_MEMORY_LIMIT"]
    if env.get("SFE_ENGINE"):
        env_top["engine"] = env["SFE_ENGINE"]
    if env.get("SFE_ACCESS_CONTROL"):
        env_top["access_control"] = env["SFE_ACCESS_CONTROL"]
    if env.get("SFE_LOCK_WAIT_S"):
        env_top["lock_wait_s"] = env["SFE_LOCK_WAIT_S"]
    if env_top:
        settings = replace(settings, **_coerce(Settings, env_top, "environment", from_text=True))
    env_smtp = {attr: env[name] for name, attr in _ENV_SMTP.items() if env.get(name)}
    if env_smtp:
        current = {f.name: getattr(settings.smtp, f.name) for f in fields(SmtpSettings)}
        current.update(_coerce(SmtpSettings, env_smtp, "environment", from_text=True))
        settings = replace(settings, smtp=SmtpSettings(**current))
    if overrides:
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return settings
