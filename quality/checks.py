"""Running one gate: SQL, bounds and dbt-results checks (Great Expectations lives in gx_runner).

The bounds of rates are declared in the marts' yml (quality/rate_bounds.py), not here.

Every runner returns a `CheckResult`; a check that cannot run (a table missing, SQL error) is
status 'error' with a message saying what to do, never an exception out of `sfe check`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from quality.definitions import Gate
from quality.rate_bounds import RateBound, declared_bounds
from sfe.builds import latest_build

SAMPLE_ROWS = 10

PASS, FAIL, ERROR, SKIPPED = "pass", "fail", "error", "skipped"


@dataclass
class CheckResult:
    name: str
    severity: str
    type: str
    description: str
    status: str
    failing_rows: int = 0
    message: str = ""
    sample: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def blocks_publish(self) -> bool:
        return self.severity == "blocking" and self.status in (FAIL, ERROR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "failing_rows": self.failing_rows,
            "message": self.message,
            "type": self.type,
            "description": self.description,
            "seconds": round(self.seconds, 3),
        }


def result_for(gate: Gate, status: str, **kwargs: Any) -> CheckResult:
    return CheckResult(name=gate.name, severity=gate.severity, type=gate.type,
                       description=gate.description, status=status, **kwargs)


def jsonable(value: Any) -> Any:
    """Make a DuckDB value safe for JSON (dates as ISO text, NaN as null)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


# -- the catalogue a check can ask about -------------------------------------------------------

class Catalog:
    """Which tables and columns exist in the working warehouse (asked once per run)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database()").fetchall()
        self.columns: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in rows:
            self.columns.setdefault((schema.lower(), table.lower()), set()).add(column.lower())

    def has_table(self, schema: str, table: str) -> bool:
        return (schema.lower(), table.lower()) in self.columns

    def has_column(self, schema: str, table: str, column: str) -> bool:
        return column.lower() in self.columns.get((schema.lower(), table.lower()), set())

    def missing(self, qualified: list[str] | tuple[str, ...]) -> list[str]:
        out = []
        for name in qualified:
            schema, _, table = name.partition(".")
            if not self.has_table(schema, table):
                out.append(name)
        return out


def missing_tables_message(missing: list[str]) -> str:
    names = ", ".join(missing)
    hint = ("run 'sfe ingest'" if all(m.split(".")[0] in ("raw", "quarantine", "audit")
                                      for m in missing) else "run 'sfe build' (dbt marts)")
    return f"cannot run: {names} does not exist yet in the working warehouse; {hint} first"


# -- templates ---------------------------------------------------------------------------------

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                          keep_trailing_newline=True)


def render(template: str, variables: dict[str, Any]) -> str:
    return _ENV.from_string(template).render(**variables)


def _fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, (jsonable(v) for v in row))) for row in cur.fetchall()]


def _threshold_number(value: str | float, variables: dict[str, Any], gate: Gate) -> float:
    if isinstance(value, str):
        if value not in variables:
            raise ValueError(f"gate {gate.name}: max_failing_rows names unknown threshold {value!r}")
        value = variables[value]
    return float(value)


def _failure_message(gate: Gate, variables: dict[str, Any], failing: int,
                     sample: list[dict[str, Any]]) -> str:
    if gate.fail_message and sample:
        try:
            text = render(gate.fail_message, {**variables, "rows": sample, "failing_rows": failing})
            return " ".join(text.split())
        except jinja2.TemplateError:
            pass
    return f"{failing} failing rows: {gate.description}"


def run_sql(con: duckdb.DuckDBPyConnection, gate: Gate, variables: dict[str, Any],
            catalog: Catalog) -> CheckResult:
    missing = catalog.missing(gate.requires)
    if missing:
        return result_for(gate, ERROR, message=missing_tables_message(missing))
    sql = render(gate.sql or "", variables).strip().rstrip(";")
    try:
        if gate.failing_rows_column:
            total = con.execute(
                f'select coalesce(sum("{gate.failing_rows_column}"), 0) from ({sql}) as failing'
            ).fetchone()[0]
        else:
            total = con.execute(f"select count(*) from ({sql}) as failing").fetchone()[0]
        # a second run of the gate's SQL, for the report's sample rows: only when some fail
        # (at 10 M rows the gates' scans are most of `sfe check`'s time)
        sample = _fetch_dicts(con, f"select * from ({sql}) as failing limit {SAMPLE_ROWS}") \
            if total else []
    except duckdb.CatalogException as exc:
        return result_for(gate, ERROR, message=f"cannot run: {_first_line(exc)}; "
                                               "run 'sfe build' so the tables it reads exist")
    except duckdb.Error as exc:
        return result_for(gate, ERROR, message=f"the check's SQL failed: {_first_line(exc)}")
    failing = int(total or 0)
    allowed = _threshold_number(gate.max_failing_rows, variables, gate)
    if failing > allowed:
        return result_for(gate, FAIL, failing_rows=failing, sample=sample,
                          message=_failure_message(gate, variables, failing, sample))
    note = f" ({failing} within the tolerance of {allowed:g})" if failing else ""
    return result_for(gate, PASS, failing_rows=failing, sample=sample if failing else [],
                      message=f"ok{note}")


# A rate computed in floating point as a running or summed share can land a few ulps past its
# bound (kpi_customer_grade.share_above = 1.0000000000000002 for the last customer of a quarter);
# that is arithmetic, not a wrong number. 1e-9 is far below any displayed digit.
BOUND_TOLERANCE = 1e-9


def _out_of_bounds_sql(bound: RateBound) -> str:
    conds = []
    if bound.min is not None:
        conds.append(f'"{bound.column}" < {bound.min!r} - {BOUND_TOLERANCE!r}')
    if bound.max is not None:
        conds.append(f'"{bound.column}" > {bound.max!r} + {BOUND_TOLERANCE!r}')
    return (f"select '{bound.table}' as table_name, '{bound.column}' as column_name, "
            f'cast("{bound.column}" as double) as value, to_json(t)::varchar as row_values '
            f"from {bound.table} as t where {' or '.join(conds)}")


def run_bounds(con: duckdb.DuckDBPyConnection, gate: Gate, catalog: Catalog,
               bounds: list[RateBound] | None = None) -> CheckResult:
    """Every rate column a mart declares bounds for (quality/rate_bounds.py: the marts' yml is
    the one owner) lies within them. A mart or column not built yet is named, not checked."""
    bounds = declared_bounds() if bounds is None else bounds
    parts, skipped = [], []
    for bound in (b for b in bounds if b.checks_something):
        schema, _, name = bound.table.partition(".")
        if not catalog.has_column(schema, name, bound.column):
            skipped.append(f"{bound.table}.{bound.column}")
            continue
        parts.append(_out_of_bounds_sql(bound))
    if not parts:
        return result_for(gate, SKIPPED, message="none of the KPI tables with declared rate "
                                                 "bounds exist yet; run 'sfe build'")
    sql = "\nunion all\n".join(parts)
    try:
        failing = con.execute(f"select count(*) from ({sql})").fetchone()[0]
        sample = _fetch_dicts(con, f"select * from ({sql}) limit {SAMPLE_ROWS}") if failing else []
    except duckdb.Error as exc:
        return result_for(gate, ERROR, message=f"the check's SQL failed: {_first_line(exc)}")
    note = f"; not built yet, not checked: {', '.join(skipped)}" if skipped else ""
    if failing:
        where = sorted({f"{r['table_name']}.{r['column_name']}" for r in sample})
        declared = {f"{b.table}.{b.column}": b for b in bounds}
        ranges = [f"{w} {_range(declared[w])}" for w in where]
        return result_for(gate, FAIL, failing_rows=int(failing), sample=sample,
                          message=f"{failing} KPI values out of bounds in {', '.join(ranges)}"
                                  f"{note}")
    return result_for(gate, PASS, message=f"ok{note}")


def _range(bound: RateBound) -> str:
    lo = "-inf" if bound.min is None else f"{bound.min:g}"
    hi = "+inf" if bound.max is None else f"{bound.max:g}"
    return f"(declared [{lo}, {hi}] in {bound.declared_in.name})"


def run_dbt_tests(gate: Gate, con: duckdb.DuckDBPyConnection) -> CheckResult:
    """The results of the dbt build that made this warehouse (audit.dbt_builds names the file
    and dbt's invocation_id). No build recorded, no file, or a file another build wrote is a
    failure: a check that cannot see this build's dbt tests must not let it through."""
    build = latest_build(con)
    if build is None:
        return result_for(gate, FAIL, message="no dbt build is recorded in this warehouse, so "
                                              "its dbt tests cannot be judged; run 'sfe build'")
    path = Path(build["run_results_path"])
    if build["status"] == "error" or not build["invocation_id"]:
        return result_for(gate, FAIL, message=f"dbt did not run to the end in build "
                                              f"{build['build_id']}: {build['error'] or '?'}; "
                                              "fix it and run 'sfe build'")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return result_for(gate, FAIL, message=f"dbt results of build {build['build_id']} are "
                                              f"missing ({path}); run 'sfe build'")
    except (OSError, json.JSONDecodeError) as exc:
        return result_for(gate, FAIL, message=f"cannot read dbt results {path}: {exc}; "
                                              "run 'sfe build'")
    found = (doc.get("metadata") or {}).get("invocation_id")
    if found != build["invocation_id"]:
        return result_for(gate, FAIL, message=(
            f"{path} holds results of another dbt run (invocation {found}), not of build "
            f"{build['build_id']} (invocation {build['invocation_id']}); run 'sfe build'"))
    bad = []
    for res in doc.get("results", []):
        status = str(res.get("status", "")).lower()
        uid = str(res.get("unique_id", ""))
        if status in ("fail", "error", "runtime error"):
            bad.append({
                "unique_id": uid,
                "status": status,
                "failures": res.get("failures"),
                "message": " ".join(str(res.get("message") or "").split())[:300],
            })
    generated = (doc.get("metadata") or {}).get("generated_at", "?")
    total = len(doc.get("results", []))
    if bad:
        failing = sum(int(b["failures"] or 1) for b in bad)
        names = ", ".join(_node_name(b["unique_id"]) for b in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        return result_for(gate, FAIL, failing_rows=failing, sample=bad[:SAMPLE_ROWS],
                          message=f"{len(bad)} of {total} dbt tests/models failed in build "
                                  f"{build['build_id']} ({generated}): {names}{more}")
    return result_for(gate, PASS, message=f"ok: {total} dbt results of build "
                                          f"{build['build_id']} passed ({generated})")


def _node_name(unique_id: str) -> str:
    """'test.sfe.unique_x_id.38e843137b' → 'unique_x_id' (the name, not the hash dbt appends)."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) >= 3 else unique_id


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
