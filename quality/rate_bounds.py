"""Which mart columns are rates and what their bounds are: read from the marts' own yml.

The one owner of a rate's bound is its column entry in
`dbt_project/models/marts/<area>/_<area>__models.yml`:

    - name: coverage_rate
      data_type: double
      config: {meta: {bounds: [0, 1]}}

`bounds` is `[min, max]`; either may be null (open on that side, e.g. `[0, null]` for a
frequency; `[null, null]` says on purpose that a ratio may take any value, e.g. an achievement
rate after net returns). The gate `kpi_rates_out_of_bounds` (quality/checks.py `run_bounds`)
reads these declarations, so a new rate column gets its check where it is declared; nothing
else (no dbt test, no Great Expectations range) checks rate bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sfe.config import PROJECT_ROOT
from sfe.yaml_docs import read_yaml

MARTS_DIR = PROJECT_ROOT / "dbt_project" / "models" / "marts"
MARTS_SCHEMA = "marts"  # dbt_project.yml: +schema: marts for every model under models/marts

# A column with such a name is a rate (or a ratio, share or score) and must declare its bounds
# (tests/quality/test_rate_bounds.py holds every mart to it).
RATE_NAME = re.compile(r"(_rate|_ratio|^ratio|adherence|^roi|^frequency|^growth|^share_above"
                       r"|^score)$")


class BoundsDeclarationError(ValueError):
    """A `bounds` entry in a marts yml is malformed; the message names file, model and column."""


@dataclass(frozen=True)
class RateBound:
    table: str               # marts.<model>
    column: str
    min: float | None
    max: float | None
    declared_in: Path        # the yml file, so a message can say where to change it

    @property
    def checks_something(self) -> bool:
        return self.min is not None or self.max is not None


def model_files(marts_dir: Path = MARTS_DIR) -> list[Path]:
    """The marts' property files (`_<area>__models.yml`), in a stable order."""
    return sorted(marts_dir.rglob("_*.yml"))


def _columns(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(model name, column entry) for every column of every model in one yml file."""
    try:
        doc = read_yaml(path) or {}
    except yaml.YAMLError as exc:
        raise BoundsDeclarationError(f"{path}: not valid YAML ({exc})") from exc
    return [(str(model["name"]), column)
            for model in doc.get("models") or []
            for column in model.get("columns") or []]


def _declared(column: dict[str, Any]) -> Any:
    meta = ((column.get("config") or {}).get("meta") or {})
    return meta.get("bounds", ...)  # Ellipsis: not declared (None would be 'bounds: null')


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BoundsDeclarationError(f"{where}: bounds must be numbers or null, got {value!r}")
    return float(value)


def _bound(path: Path, model: str, column: dict[str, Any], raw: Any) -> RateBound:
    where = f"{path} model {model} column {column.get('name')}"
    if not isinstance(raw, list) or len(raw) != 2:
        raise BoundsDeclarationError(
            f"{where}: config.meta.bounds must be [min, max] (null for an open side), "
            f"got {raw!r}")
    lo, hi = _number(raw[0], where), _number(raw[1], where)
    if lo is not None and hi is not None and lo > hi:
        raise BoundsDeclarationError(f"{where}: bounds [{lo:g}, {hi:g}] have min above max")
    return RateBound(f"{MARTS_SCHEMA}.{model}", str(column["name"]), lo, hi, path)


def declared_bounds(marts_dir: Path = MARTS_DIR) -> list[RateBound]:
    """Every column of the marts that declares `config.meta.bounds`."""
    out = []
    for path in model_files(marts_dir):
        for model, column in _columns(path):
            raw = _declared(column)
            if raw is not ...:
                out.append(_bound(path, model, column, raw))
    return out


def rates_without_bounds(marts_dir: Path = MARTS_DIR) -> list[str]:
    """`marts.<model>.<column>` of every rate-named column that declares no bounds."""
    return [f"{MARTS_SCHEMA}.{model}.{column['name']}"
            for path in model_files(marts_dir)
            for model, column in _columns(path)
            if RATE_NAME.search(str(column["name"])) and _declared(column) is ...]
