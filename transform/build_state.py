"""What a build depends on, and what the last successful one saw: the basis of "nothing
changed, dbt not run" and of "rebuild every month or only the new files' months".

Two records under `settings.dbt_target_dir`, written only after a successful full build:
- last_build_inputs.json: the matching results and master snapshots the incremental facts were
  built from (`inputs_fingerprint`); when they change, every month is rebuilt;
- last_build_state.json: those inputs, the file registry, the dbt project on disk, the dbt vars
  and the engine (`build_state`); when all equal the last build's, dbt is not run.
The months themselves are sfe/build_months.py's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sfe import build_months
from sfe.config import PROJECT_ROOT, Settings
from sfe.warehouse import connect
from transform import unit_test_passes

_FINGERPRINT_SQL = {
    # what, besides new files, changes facts of months already built
    "customer_map": "select count(*), coalesce(sum(hash(source, distributor_code, buyer_code, "
                    "raw_name, buyer_kind, buyer_distributor_code, crm_customer_id, match_status)),"
                    " 0) from matching.customer_source_map",
    "product_map": "select count(*), coalesce(sum(hash(distributor_code, raw_product, raw_spec, "
                   "product_id, box_factor_min_unit, box_factor_case)), 0) "
                   "from matching.product_source_map",
    "master": "select max(snapshot_date) from raw.master__customer_alignment",
    "products": "select max(snapshot_date) from raw.master__products",
    "rep_assignments": "select max(snapshot_date) from raw.master__rep_assignments",
    "hcps": "select max(snapshot_date) from raw.master__hcps",
}

_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds")
_CODE_KEYS = ("project", "vars", "engine")  # code_state's


def inputs_fingerprint(settings: Settings) -> dict[str, str] | None:
    """Matching results and master snapshots the incremental facts were built from. When they
    change, every month is rebuilt (steward decisions and re-matches reach history); when only
    new files arrived, only their months are. Read before dbt starts, on a closed connection."""
    out: dict[str, str] = {}
    try:
        with connect(settings) as con:
            for key, sql in _FINGERPRINT_SQL.items():
                try:
                    out[key] = str(con.execute(sql).fetchone())
                except Exception:  # noqa: BLE001 - a missing table just means "unknown"
                    out[key] = "missing"
    except Exception:  # noqa: BLE001 - the warehouse check below reports lock problems
        return None
    return out


def state_file(settings: Settings) -> Path:
    return settings.dbt_target_dir / "last_build_inputs.json"


def built_state_file(settings: Settings) -> Path:
    return settings.dbt_target_dir / "last_build_state.json"


def project_fingerprint() -> str:
    """The dbt project as it is on disk: models, macros, tests, seeds (stewards edit seeds)."""
    digest = hashlib.sha256()
    for entry in _PROJECT_FILES:
        root = PROJECT_ROOT / entry
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def build_state(settings: Settings, inputs: dict[str, str] | None) -> dict[str, Any] | None:
    """Everything a full build depends on: when it equals the last successful build's, dbt
    would rebuild the same tables and rerun the same tests, so `build` skips it."""
    if inputs is None:
        return None
    try:
        with connect(settings) as con:
            files = con.execute("select count(*), coalesce(sum(hash(r)), 0) "
                                "from audit.file_registry as r").fetchone()
    except Exception:  # noqa: BLE001 - unknown state: build
        return None
    return {"inputs": inputs, "files": str(files), **code_state(settings)}


def code_state(settings: Settings) -> dict[str, Any]:
    """The code a build runs: the dbt project on disk, the dbt vars and the engine."""
    return {"project": project_fingerprint(), "vars": settings.dbt_vars(),
            "engine": settings.engine}


def code_of(state: dict[str, Any]) -> dict[str, Any]:
    """The code part of a `build_state` (as `code_state` read it when the build started)."""
    return {key: state.get(key) for key in _CODE_KEYS}


def up_to_date(settings: Settings, state: dict[str, Any] | None) -> bool:
    if state is None or not (settings.dbt_target_dir / "target" / "run_results.json").is_file():
        return False
    try:
        return json.loads(built_state_file(settings).read_text(encoding="utf-8")) == state
    except (OSError, ValueError):
        return False


def unit_tests_passed(settings: Settings, state: dict[str, Any] | None) -> bool:
    """The unit tests passed on this very project (models, macros, tests, seeds), vars and
    engine: the last successful full build of this warehouse ran on it (every successful build
    either ran them or, by this same rule, followed one on the same code that did), or a build
    of another warehouse here ran them all on it (transform/unit_test_passes.py)."""
    return state is not None and (built_on(settings, state)
                                  or unit_test_passes.passed(settings, code_of(state)))


def built_on(settings: Settings, code: dict[str, Any]) -> bool:
    """The last successful full build ran on the code (`code_state`'s keys) of `code`."""
    try:
        last = json.loads(built_state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(last, dict) and all(last.get(k) == code.get(k) for k in _CODE_KEYS)


def needs_full_rebuild(settings: Settings, fingerprint: dict[str, str] | None,
                       maps: dict[str, dict[str, str]] | None = None) -> bool:
    if fingerprint is None:
        return True
    try:
        previous = json.loads(state_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    changed = {k for k in previous.keys() | fingerprint.keys()
               if previous.get(k) != fingerprint.get(k)}
    # new raw names matched (a new month's buyers) reach only the new files' months
    return bool(changed) and not (changed <= build_months.MAP_KEYS
                                  and build_months.maps_only_grew(settings.dbt_target_dir, maps))


def registry_files(settings: Settings) -> tuple[dict[str, list[Any]] | None,
                                                dict[str, dict[str, str]] | None]:
    """The file registry and matching entries as the incremental build compares them
    (None: unknown, every month is rebuilt)."""
    try:
        with connect(settings) as con:
            return build_months.file_states(con), build_months.map_entries(con)
    except Exception:  # noqa: BLE001 - unknown: every month is rebuilt
        return None, None


def record_success(settings: Settings, fingerprint: dict[str, str],
                   state: dict[str, Any] | None, key: str | None,
                   files: dict[str, list[Any]] | None,
                   maps: dict[str, dict[str, str]] | None) -> None:
    """After a successful full build: what it was built from, for the next build to compare."""
    state_file(settings).write_text(json.dumps(fingerprint), encoding="utf-8")
    if state is not None:
        built_state_file(settings).write_text(json.dumps(state), encoding="utf-8")
        build_months.record(settings.dbt_target_dir, key, files, maps)
