"""The published snapshot, read-only: settings, the cached connection, and `run` for every query.

Only the published snapshot (`settings.published_db`) is read; the working warehouse is never
opened here, so a running build can neither block nor half-show a dashboard.

* The connection is cached with `st.cache_resource`, keyed on the snapshot file that
  current.duckdb links to (`quality.published.current_snapshot_file`; never current.duckdb by
  name, which a publish renames): when `sfe publish` swaps in a new snapshot, the next rerun
  opens it and the old connection is closed.
* Query results are cached with `st.cache_data`, keyed on the same identity, so they too are
  dropped when a new snapshot appears.
* Outside a Streamlit server (the scorecard command, tests) the same SQL runs uncached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st
from streamlit.runtime import exists as _in_streamlit

from quality.published import current_snapshot_file
from sfe.config import Settings, load_settings

NO_DATA_MESSAGE = "no published data yet — run `sfe run` (or `sfe demo`) to build and publish a snapshot"


def _quiet_outside_streamlit() -> None:
    """On a command line (scorecard, tests) Streamlit's caches log "no runtime" warnings when
    the decorators below are applied and called; they mean nothing there."""
    if _in_streamlit():
        return
    for name in ("streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.caching.cache_resource_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


_quiet_outside_streamlit()


class DataUnavailable(RuntimeError):
    """The snapshot (or one table in it) is not there; the message tells the user what to do."""


def get_settings() -> Settings:
    """Settings as `sfe serve` passed them (SFE_DATA_DIR, SFE_CONFIG, SFE_ACCESS_CONTROL, …),
    parsed strictly by `load_settings`."""
    return load_settings()


def snapshot_key(settings: Settings) -> tuple[str, str]:
    """(snapshot file, identity stamp): the cache key of everything read from it."""
    try:
        path = current_snapshot_file(settings).resolve()
        st_ = path.stat()
    except FileNotFoundError:  # NoPublishedSnapshot, or pruned this instant
        raise DataUnavailable(NO_DATA_MESSAGE) from None
    return str(path), f"{st_.st_ino}:{st_.st_mtime_ns}:{st_.st_size}"


def snapshot_path(settings: Settings) -> Path:
    """The snapshot file current.duckdb is, for readers outside this module (stewardship)."""
    return Path(snapshot_key(settings)[0])


def _open(db: str) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(db, read_only=True)
    except duckdb.Error as exc:  # half-copied or foreign file: say so, never crash the page
        raise DataUnavailable(f"the published snapshot {db} cannot be opened ({exc}); "
                              "run `sfe publish` again") from exc


@st.cache_resource(max_entries=2, show_spinner=False, on_release=lambda con: con.close())
def _connection(db: str, stamp: str) -> duckdb.DuckDBPyConnection:
    return _open(db)


@st.cache_data(ttl=900, max_entries=512, show_spinner=False)
def _cached_query(db: str, stamp: str, sql: str, params: tuple) -> pd.DataFrame:
    cur = _connection(db, stamp).cursor()  # one cursor per call: safe across script threads
    try:
        return cur.execute(sql, list(params)).df()
    finally:
        cur.close()


def run(sql: str, params: Sequence[Any] = (), settings: Settings | None = None) -> pd.DataFrame:
    """Run one read-only query on the published snapshot; cached inside a Streamlit server."""
    settings = settings or get_settings()
    db, stamp = snapshot_key(settings)
    params = tuple(tuple(p) if isinstance(p, list) else p for p in params)
    if _in_streamlit():
        return _cached_query(db, stamp, sql, params)
    cur = _local_connection(db, stamp).cursor()
    try:
        return cur.execute(sql, [list(p) if isinstance(p, tuple) else p for p in params]).df()
    finally:
        cur.close()


_LOCAL: dict[tuple[str, str], duckdb.DuckDBPyConnection] = {}


def _local_connection(db: str, stamp: str) -> duckdb.DuckDBPyConnection:
    """Outside a Streamlit server (scorecard command, tests): one connection per snapshot
    identity, the previous one closed when the snapshot changes."""
    key = (db, stamp)
    con = _LOCAL.get(key)
    if con is None:
        for old in [k for k in _LOCAL if k[0] == db]:
            _LOCAL.pop(old).close()
        con = _LOCAL[key] = _open(db)
    return con


def close_local_connections() -> None:
    while _LOCAL:
        _LOCAL.popitem()[1].close()


# -- what the snapshot holds ---------------------------------------------------------------------


def tables(settings: Settings) -> set[str]:
    """`schema.table` names in the snapshot (raises DataUnavailable when there is none)."""
    df = run("select table_schema || '.' || table_name as t from information_schema.tables",
             settings=settings)
    return set(df["t"])


def require(name: str, settings: Settings) -> None:
    if name not in tables(settings):
        raise DataUnavailable(f"table `{name}` is not in the published snapshot yet; "
                              "it appears after the next successful `sfe run`")


def columns(name: str, settings: Settings) -> list[str]:
    schema, table = name.split(".")
    df = run("select column_name from information_schema.columns where table_schema = ? "
             "and table_name = ? order by ordinal_position", [schema, table], settings=settings)
    return list(df["column_name"])


def months(table: str, settings: Settings | None = None) -> list[str]:
    """The months `marts.<table>` has rows for, newest first (the month pickers)."""
    settings = settings or get_settings()
    require(f"marts.{table}", settings)
    df = run(f"select distinct month from marts.{table} where month is not null order by month desc",
             settings=settings)
    return [str(m) for m in df["month"]]


def isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
