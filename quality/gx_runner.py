"""Great Expectations checkpoints over frames fetched from DuckDB.

GX 1.x takes ~11 s to import and talks a lot, so it is imported only here, only when a `gx` gate
runs, in a background thread started early (`preload`) while the SQL checks run. Its loggers are
silenced and its progress bars kept off the user's terminal. Its SQL datasource does not work on
DuckDB, so each gate's table is fetched with DuckDB and validated as a pandas frame through an
ephemeral context: pandas datasource → dataframe asset → whole-dataframe batch definition →
suite → validation definition → checkpoint.

A table larger than `max_rows` is not fetched whole (3 M flow lines cost seconds and a GB of
pandas): DuckDB selects every row that can fail one of the gate's expectations (each one has a
SQL twin below; a gate with another expectation type is fetched whole) plus a repeatable
sample of `max_rows` of the others, and GX validates that frame. GX still judges
every row that can fail, so the status, failing rows, sample and message are those of the
whole table; counts in messages are out of the table's rows.

A gate whose expectations all have a SQL twin and whose table has no row that can fail one of
them passes on that count (`settle_by_sql`), without GX: GX would validate a sample in which no
row can fail. GX is then imported (~11 CPU seconds, on 2 cores beside the SQL gates) only for
gates with rows that can fail, or with an expectation that has no twin: it judges those rows
and writes their message and sample, as before.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import warnings
from typing import Any

import duckdb

from quality.checks import (ERROR, FAIL, PASS, SAMPLE_ROWS, Catalog, CheckResult, jsonable,
                            missing_tables_message, render, result_for)
from quality.definitions import Gate

GX_MAX_ROWS = 100_000  # rows of a table GX validates beyond the ones that can fail

_LOCK = threading.Lock()
_MODULE: dict[str, Any] = {}
_THREAD: threading.Thread | None = None


def _quiet_logging() -> None:
    for name in ("great_expectations", "great_expectations.core", "py.warnings"):
        logger = logging.getLogger(name)
        if name.startswith("great_expectations"):
            logger.setLevel(logging.ERROR)
            logger.propagate = False
            if not logger.handlers:
                logger.addHandler(logging.NullHandler())


def _import() -> Any:
    with _LOCK:
        if "gx" not in _MODULE:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            _quiet_logging()
            # GX imports pyspark when it is installed (the `spark` extra), which warns about
            # pandas 3 on every run; the gates use GX's pandas engine only
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                                    category=FutureWarning)
            try:
                import great_expectations as gx  # noqa: PLC0415 - deliberately lazy
            except Exception as exc:  # noqa: BLE001 - any import failure makes the gate 'error'
                _MODULE["error"] = exc
                _MODULE["gx"] = None
            else:
                _MODULE["gx"] = gx
                _quiet_logging()
        return _MODULE["gx"]


def preload() -> None:
    """Start importing GX in the background (no-op when already imported or importing)."""
    global _THREAD
    if "gx" in _MODULE or (_THREAD is not None and _THREAD.is_alive()):
        return
    _THREAD = threading.Thread(target=_import, name="gx-import", daemon=True)
    _THREAD.start()


def _gx() -> Any:
    if _THREAD is not None:
        _THREAD.join()
    gx = _import()
    if gx is None:
        raise RuntimeError(f"great_expectations could not be imported: {_MODULE.get('error')}")
    return gx


def _render_kwargs(kwargs: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, str) and "{{" in value:
            text = render(value, variables)
            try:
                out[key] = float(text)
            except ValueError:
                out[key] = text
        else:
            out[key] = value
    return out


def _expectation_objects(gx: Any, gate: Gate, variables: dict[str, Any]) -> list[Any]:
    out = []
    for item in gate.expectations:
        (type_name, kwargs), = item.items()
        class_name = "".join(part.capitalize() for part in type_name.split("_"))
        cls = getattr(gx.expectations, class_name, None)
        if cls is None:
            raise ValueError(f"gate {gate.name}: unknown expectation {type_name}")
        out.append(cls(**_render_kwargs(kwargs or {}, variables)))
    return out


def _quoted(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _can_fail_sql(type_name: str, kwargs: dict[str, Any]) -> str | None:
    """A SQL predicate true for every row the expectation can flag (None: no SQL twin)."""
    column = kwargs.get("column")
    if not column:
        return None
    col = f'"{column}"'
    if type_name == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if type_name == "expect_column_values_to_be_in_set":
        values = ", ".join(_quoted(v) for v in kwargs.get("value_set") or [])
        return f"({col} is not null and {col} not in ({values}))" if values else "true"
    if type_name == "expect_column_values_to_be_between":
        conds = [f"{col} < {float(kwargs['min_value'])!r}"] if kwargs.get("min_value") is not None \
            else []
        if kwargs.get("max_value") is not None:
            conds.append(f"{col} > {float(kwargs['max_value'])!r}")
        return f"({' or '.join(conds)})" if conds else None
    if type_name == "expect_column_values_to_match_regex" and kwargs.get("regex"):
        return (f"({col} is not null and not regexp_matches(cast({col} as varchar), "
                f"{_quoted(kwargs['regex'])}))")
    return None


def _can_fail_where(gate: Gate, variables: dict[str, Any]) -> str | None:
    """A SQL predicate true for every row one of the gate's expectations can flag (None: an
    expectation without a SQL twin)."""
    preds = []
    for item in gate.expectations:
        (type_name, kwargs), = item.items()
        pred = _can_fail_sql(type_name, _render_kwargs(kwargs or {}, variables))
        if pred is None:
            return None
        preds.append(f"coalesce({pred}, false)")
    return " or ".join(preds) or "false"


def _rows(gate: Gate, variables: dict[str, Any]) -> str:
    """The gate's rows as a FROM item: its table, or the rows its `rows` condition chooses
    (e.g. the months changed since the last passed check)."""
    if not gate.rows:
        return str(gate.table)
    return f"(select * from {gate.table} where {render(gate.rows, variables)})"


def _scope_note(gate: Gate, variables: dict[str, Any]) -> str:
    """How the rows were chosen, for the gate's message."""
    if gate.rows and variables.get("changed_months") is not None:
        return " (the months changed since the last passed check)"
    return ""


def _bounded_select(gate: Gate, col_sql: str, variables: dict[str, Any],
                    max_rows: int) -> str | None:
    """Every row that can fail + a repeatable sample of max_rows of the others."""
    can_fail = _can_fail_where(gate, variables)
    if can_fail is None:
        return None
    rows = _rows(gate, variables)
    return (f"(select {col_sql} from {rows} where {can_fail})\n"
            f"union all\n(select {col_sql} from (select * from {rows} "
            f"using sample reservoir({max_rows} rows) repeatable (14)) where not ({can_fail}))")


def _fetch(con: duckdb.DuckDBPyConnection, gate: Gate, col_sql: str,
           variables: dict[str, Any], max_rows: int) -> tuple[Any, int]:
    """The frame GX validates and the count of the gate's rows."""
    rows = _rows(gate, variables)
    total = int(con.execute(f"select count(*) from {rows}").fetchone()[0])
    bounded = None if total <= max_rows else _bounded_select(
        gate, col_sql, variables, max_rows)
    return con.execute(bounded or f"select {col_sql} from {rows}").df(), total


def settle_by_sql(con: duckdb.DuckDBPyConnection, gates: list[Gate],
                  variables: dict[str, Any], catalog: Catalog
                  ) -> tuple[list[CheckResult], list[Gate]]:
    """The gates that pass on their SQL twins alone (no row of the table can fail any of their
    expectations), and the others, for GX. One scan of each gate's table."""
    settled: list[CheckResult] = []
    pending: list[Gate] = []
    for gate in gates:
        schema, _, table = (gate.table or "").partition(".")
        can_fail = _can_fail_where(gate, variables)
        if (can_fail is None or not catalog.has_table(schema, table)
                or any(not catalog.has_column(schema, table, c) for c in gate.columns)):
            pending.append(gate)  # run_gx says why it cannot run, or GX judges it
            continue
        try:
            total, failing = con.execute(f"select count(*), count(*) filter (where {can_fail}) "
                                         f"from {_rows(gate, variables)}").fetchone()
        except duckdb.Error:  # e.g. a column of another type: GX judges it and says why
            pending.append(gate)
            continue
        if failing:
            pending.append(gate)
            continue
        settled.append(result_for(gate, PASS, message=f"ok: {len(gate.expectations)} "
                                                      f"expectations on {total} rows"
                                                      f"{_scope_note(gate, variables)}"))
    return settled, pending


def run_gx(con: duckdb.DuckDBPyConnection, gates: list[Gate], variables: dict[str, Any],
           catalog: Catalog, max_rows: int | None = None) -> list[CheckResult]:
    """Validate each gate's table (bounded by `max_rows`, default GX_MAX_ROWS, see above);
    one ephemeral context and one checkpoint per gate."""
    max_rows = GX_MAX_ROWS if max_rows is None else max_rows
    results: list[CheckResult] = []
    frames: dict[str, Any] = {}
    totals: dict[str, int] = {}
    runnable: list[Gate] = []
    for gate in gates:
        schema, _, table = (gate.table or "").partition(".")
        if not catalog.has_table(schema, table):
            results.append(result_for(gate, ERROR,
                                      message=missing_tables_message([gate.table or "?"])))
            continue
        cols = [c for c in gate.columns if catalog.has_column(schema, table, c)]
        absent = [c for c in gate.columns if c not in cols]
        if absent:
            results.append(result_for(gate, ERROR, message=(
                f"cannot run: {gate.table} has no column(s) {', '.join(absent)}; "
                "the mart does not follow kpis.md")))
            continue
        col_sql = ", ".join(f'"{c}"' for c in cols) if cols else "*"
        frames[gate.name], totals[gate.name] = _fetch(con, gate, col_sql, variables, max_rows)
        runnable.append(gate)
    if not runnable:
        return results
    try:
        gx = _gx()
    except RuntimeError as exc:
        return results + [result_for(g, ERROR, message=str(exc)) for g in runnable]

    sink = io.StringIO()  # GX progress bars (tqdm) and prints never reach the user's terminal
    with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
        context = gx.get_context(mode="ephemeral")
        try:
            context.variables.progress_bars = {"globally": False}
        except Exception:  # noqa: BLE001 - older/newer config shapes: progress goes to the sink
            pass
        source = context.data_sources.add_pandas("sfe_frames")
        for gate in runnable:
            try:
                results.append(_validate(gx, context, source, gate, frames[gate.name], variables,
                                         totals[gate.name]))
            except Exception as exc:  # noqa: BLE001 - a broken gate is 'error', not a crash
                results.append(result_for(gate, ERROR, message=f"Great Expectations failed: "
                                                               f"{type(exc).__name__}: {exc}"))
    return results


def _validate(gx: Any, context: Any, source: Any, gate: Gate, frame: Any,
              variables: dict[str, Any], total: int) -> CheckResult:
    asset = source.add_dataframe_asset(name=gate.name)
    batch_definition = asset.add_batch_definition_whole_dataframe(f"{gate.name}_whole")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{gate.name}_suite"))
    for expectation in _expectation_objects(gx, gate, variables):
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{gate.name}_validation", data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name=f"{gate.name}_checkpoint", validation_definitions=[validation],
        result_format={"result_format": "COMPLETE"}))
    outcome = checkpoint.run(batch_parameters={"dataframe": frame})

    bad_rows: set[int] = set()
    failed: list[str] = []
    reasons: dict[int, list[str]] = {}
    for run_result in outcome.run_results.values():
        for res in run_result.results:
            if res.success:
                continue
            cfg = res.expectation_config
            column = cfg.kwargs.get("column")
            label = f"{cfg.type}({column})" if column else cfg.type
            info = res.result or {}
            count = info.get("unexpected_count")
            failed.append(f"{label}: {count} of {total} rows" if count is not None else label)
            indexes = info.get("unexpected_index_list") or []
            for idx in indexes:
                idx = int(idx) if not isinstance(idx, dict) else int(next(iter(idx.values())))
                bad_rows.add(idx)
                reasons.setdefault(idx, []).append(label)
            if not indexes and res.exception_info and any(
                    (e or {}).get("raised_exception") for e in _exc_infos(res.exception_info)):
                failed[-1] += " (raised an exception)"
    if not failed:
        return result_for(gate, PASS, message=f"ok: {len(gate.expectations)} expectations on "
                                              f"{total} rows{_scope_note(gate, variables)}")
    sample = []
    for idx in sorted(bad_rows)[:SAMPLE_ROWS]:
        row = {k: jsonable(_none_if_missing(v)) for k, v in frame.iloc[idx].to_dict().items()}
        row["failed_expectations"] = ", ".join(reasons.get(idx, []))
        sample.append(row)
    failing = len(bad_rows) or len(failed)
    return result_for(gate, FAIL, failing_rows=failing, sample=sample,
                      message=f"{gate.table}: " + "; ".join(failed))


def _none_if_missing(value: Any) -> Any:
    """pandas' NaN / NaT / NA become None in samples; Timestamps become Python datetimes."""
    import pandas as pd  # noqa: PLC0415 - pandas is loaded anyway when a frame exists

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _exc_infos(info: Any) -> list[dict[str, Any]]:
    if isinstance(info, dict) and "raised_exception" in info:
        return [info]
    if isinstance(info, dict):
        return [v for v in info.values() if isinstance(v, dict)]
    return []
