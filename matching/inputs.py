"""What matching reads, as one digest: when it equals the digest of the last successful match,
`run_matching` would write the same tables again, so it is skipped (issue 14).

Two parts, both recorded by the last successful match:
- `digest`: everything but the raw rows. The file registry's loaded set (file_id, sha256,
  status, rows_loaded, superseded_by — ingestion writes a file's raw rows in the transaction
  that writes its record) and each raw table's row count; the customer, distributor and product
  masters, every snapshot hashed in full (small); matching's own previous output (`matching.*`,
  read back for sticky codes) hashed in full; the stewardship files (decisions, product
  decisions, sticky keys) by their bytes; the thresholds and company name of the settings; the
  code: matching/*.py, matching/data/* and dbt's shared rules (buyer_key, spec_key,
  latest_snapshot in dbt_project/macros/shared_rules.sql) and rapidfuzz's version (the scores).
  Anything else (`sfe build --force`) matches again.
- `raw_digest`: the raw rows matching reads names from (every non-master raw table), hashed in
  full — 0.5 s at 10 M rows, 1.2 s at 30 M, so skipped when the caller proves the raw rows did
  not change: `sfe run` does when the database files are untouched since the last run ended
  (their stat, quality/unchanged.py `untouched`) and its ingest loaded nothing. That last
  run's raw rows are the last match's, by induction: a run that loads rows matches after
  loading, a match that fails leaves no record, and any other writer in between changes the
  files' stat. It is taken only where it can still tell "unchanged" (`digest` equal), and a
  match of `sfe run` records none (`record_raw`): its next run proves by stat; where that
  proof fails (someone wrote the files; `sfe build` on its own), it matches once again.
The state is kept in `settings.dbt_target_dir/last_matching.json` with the run that wrote it
and its report; it is written only after a successful match.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from matching.sources import SHARED_RULES
from matching.stewardship import DECISIONS_FILE, PRODUCT_DECISIONS_FILE, STICKY_FILE
from sfe.config import Settings
from sfe.warehouse import row_hash, sql_name

MATCHING_DIR = Path(__file__).resolve().parent
MASTERS = ("master__customers", "master__distributors", "master__products")
# columns of a registry record that say which rows a file put in raw (not when or where seen)
_REGISTRY_SQL = ("select count(*), coalesce(sum(hash(file_id, sha256, status, rows_loaded, "
                 "superseded_by)), 0) from audit.file_registry")


def state_file(settings: Settings) -> Path:
    return settings.dbt_target_dir / "last_matching.json"


def digest(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """The digest of everything `run_matching` reads (see the module doc)."""
    parts: list[str] = [_query(con, _REGISTRY_SQL)]
    for schema, table in _tables(con, ("raw", "matching")):
        name = f'"{schema}"."{table}"'
        if schema == "matching" or table in MASTERS:  # small: in full
            parts.append(f"{name} {_query(con, f'select count(*), sum(hash(t)) from {name} t')}")
        else:
            parts.append(f"{name} {_query(con, f'select count(*) from {name}')}")
    t = settings.thresholds
    parts.append(f"settings {t.match_auto_score} {t.match_review_score} {settings.company_name}")
    for file in (DECISIONS_FILE, PRODUCT_DECISIONS_FILE, STICKY_FILE):
        parts.append(f"{file} {_file_digest(settings.stewardship_dir / file)}")
    parts.append(f"code {code_digest()}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def raw_digest(con: duckdb.DuckDBPyConnection) -> str:
    """Every row of the raw tables matching reads names from (all but the masters)."""
    parts = []
    for schema, table in _tables(con, ("raw",)):
        if table not in MASTERS:
            sql = (f"select count(*), sum({row_hash(con, schema, table)}) "
                   f"from raw.{sql_name(table)} t")
            parts.append(f"{table} {_query(con, sql)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def code_digest() -> str:
    """matching's code and data files, the dbt rules it renders, and the scorer's version."""
    digest = hashlib.sha256(f"rapidfuzz {version('rapidfuzz')}".encode())
    paths = sorted([*MATCHING_DIR.glob("*.py"), *(MATCHING_DIR / "data").glob("*")])
    for path in [*paths, SHARED_RULES]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def unchanged_since(settings: Settings, now: str, raw: str | None) -> dict[str, Any] | None:
    """The last successful match's record when its digests are `now` and `raw` (None: the raw
    rows are proven unchanged since it), else None. A record without a raw digest (the match
    of an `sfe run`, whose next run proves the raw rows by stat) equals no digest taken."""
    try:
        last = json.loads(state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(last, dict) or last.get("digest") != now:
        return None
    return last if raw is None or last.get("raw") == raw else None


def record(settings: Settings, now: str, raw: str, run_id: str, report: dict[str, Any]) -> None:
    """After a successful match: its digests (taken after its writes), run and report."""
    path = state_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"digest": now, "raw": raw, "run_id": run_id, "report": report}),
                   encoding="utf-8")
    tmp.replace(path)


def forget(settings: Settings) -> None:
    """Before matching writes: a match that fails half way must not look like the last one."""
    state_file(settings).unlink(missing_ok=True)


def _tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    marks = ", ".join("?" for _ in schemas)
    return con.execute("select schema_name, table_name from duckdb_tables() "
                       f"where database_name = current_database() and schema_name in ({marks}) "
                       "and not temporary order by all", list(schemas)).fetchall()


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        return str(con.execute(sql).fetchall())
    except duckdb.CatalogException:  # not created yet: a state of its own
        return "missing"


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"
