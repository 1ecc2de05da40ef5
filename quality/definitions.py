"""Gate definitions: read `quality/gates.yml` (or another file) into `Gate` objects.

The YAML is the single place that says which checks exist, how severe they are and what their
thresholds are; `sfe.toml` `[thresholds]` overrides a default with the same name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from quality.rate_bounds import declared_bounds
from sfe.config import Settings
from sfe.yaml_docs import read_yaml

GATES_FILE = Path(__file__).with_name("gates.yml")
SEVERITIES = ("blocking", "warning")
TYPES = ("sql", "bounds", "gx", "dbt_tests")


class GateDefinitionError(ValueError):
    """gates.yml is malformed; the message names the gate and the key."""


@dataclass(frozen=True)
class Gate:
    name: str
    description: str
    severity: str
    type: str
    sql: str | None = None
    requires: tuple[str, ...] = ()
    failing_rows_column: str | None = None
    max_failing_rows: str | float = 0
    fail_message: str | None = None
    table: str | None = None
    rows: str | None = None  # gx: a SQL condition (template) choosing the rows checked
    columns: tuple[Any, ...] = ()
    expectations: tuple[dict[str, Any], ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    @property
    def reads_changed_months(self) -> bool:
        """Its SQL reads only the months changed since the last passed check
        (quality/check_months.py), so it may only be trusted to have passed the others."""
        return any(name in (self.sql or "") or name in (self.rows or "")
                   for name in ("changed_months_where", "changed_dates_where",
                                "changed_weeks_where"))


@dataclass(frozen=True)
class GateSet:
    gates: tuple[Gate, ...]
    thresholds: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def select(self, names_or_types: Iterable[str] | None) -> GateSet:
        """Keep the gates whose name or type is listed (None keeps all)."""
        if names_or_types is None:
            return self
        wanted = set(names_or_types)
        unknown = wanted - {g.name for g in self.gates} - set(TYPES)
        if unknown:
            raise GateDefinitionError(
                f"unknown gate(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(g.name for g in self.gates)} or a type ({', '.join(TYPES)})")
        kept = tuple(g for g in self.gates if g.name in wanted or g.type in wanted)
        return GateSet(kept, self.thresholds, self.source)


def _gate(doc: dict[str, Any], where: str) -> Gate:
    known = {f.name for f in fields(Gate)}
    unknown = set(doc) - known
    if unknown:
        raise GateDefinitionError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "severity", "type"):
        if not doc.get(key):
            raise GateDefinitionError(f"{where}: '{key}' is required")
    if doc["severity"] not in SEVERITIES:
        raise GateDefinitionError(f"{where}: severity must be one of {SEVERITIES}")
    if doc["type"] not in TYPES:
        raise GateDefinitionError(f"{where}: type must be one of {TYPES}")
    if doc["type"] == "sql" and not doc.get("sql"):
        raise GateDefinitionError(f"{where}: a sql gate needs 'sql'")
    if doc["type"] == "gx" and not (doc.get("table") and doc.get("expectations")):
        raise GateDefinitionError(f"{where}: a gx gate needs 'table' and 'expectations'")
    if doc.get("rows") and doc["type"] != "gx":
        raise GateDefinitionError(f"{where}: 'rows' is for gx gates; a sql gate filters in its SQL")
    if doc["type"] == "bounds" and doc.get("columns"):
        raise GateDefinitionError(
            f"{where}: a bounds gate lists no columns; declare a rate's bounds beside the column "
            "in the marts' yml (config: {meta: {bounds: [min, max]}}, quality/rate_bounds.py)")
    values = dict(doc)
    values["description"] = " ".join(str(doc.get("description", "")).split())
    for key in ("requires", "columns", "expectations"):
        if key in values:
            values[key] = tuple(values[key] or ())
    return Gate(**values)


def load_gates(path: Path | None = None) -> GateSet:
    path = path or GATES_FILE
    try:
        doc = read_yaml(path) or {}
    except yaml.YAMLError as exc:
        raise GateDefinitionError(f"{path}: not valid YAML ({exc})") from exc
    gates = []
    seen: set[str] = set()
    for i, item in enumerate(doc.get("gates") or []):
        gate = _gate(item, f"{path} gate #{i + 1} ({item.get('name', '?')})")
        if gate.name in seen:
            raise GateDefinitionError(f"{path}: gate '{gate.name}' is defined twice")
        seen.add(gate.name)
        gates.append(gate)
    return GateSet(tuple(gates), dict(doc.get("thresholds") or {}), path)


def resolve_thresholds(settings: Settings, defaults: dict[str, Any]) -> dict[str, Any]:
    """YAML defaults, overridden by settings.thresholds fields of the same name."""
    resolved = dict(defaults)
    for f in fields(settings.thresholds):
        resolved[f.name] = getattr(settings.thresholds, f.name)
    return resolved


def rules_digest(gate_set: GateSet, thresholds: dict[str, Any]) -> str:
    """What decides a check's outcome besides the data and the business date: the gates run
    (their SQL, severities, bounds and expectations as read from gates.yml) and the thresholds
    they ran with (gates.yml defaults overridden by the settings: sfe.toml, `--config`,
    SFE_CONFIG) and the rate bounds declared in the marts' yml (quality/rate_bounds.py). Equal
    digests mean the same rules, whatever the files' mtimes say."""
    bounds = [(b.table, b.column, b.min, b.max) for b in declared_bounds()]
    payload = {"gates": [asdict(g) for g in gate_set.gates], "thresholds": thresholds,
               "rate_bounds": bounds}
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
