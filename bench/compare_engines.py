"""Every `marts` relation of two warehouses compared in SQL: one built on DuckDB, one on Spark.

    uv run --frozen python bench/compare_engines.py duck/working.duckdb spark/working.duckdb

The engine equality test (tests/spark/test_engine_equality.py) compares the demo inbox row by row
in Python; at 10 M rows that does not fit in memory, so this compares inside DuckDB: money
columns rounded to the fen, other fractional numbers to 6 decimals, timestamps in UTC, then
EXCEPT ALL both ways. A row left over is either a real difference or a value sitting on a
rounding edge (x.xx5 in one engine, x.xx4999 in the other): `--keys mart=col,col` then prints the
largest absolute difference per numeric column over rows joined on those keys, which is what
tells the two apart. dbt's views name the catalog they were built in ("working"), so each view is
first written to Parquet by a connection that attaches its own file under that name. Reads only.
Exit status 1 when any relation differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

MONEY = ("amount", "sell_out", "sell_in", "cost", "price", "value", "target")
FRACTIONAL = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = 'marts' order by table_name, column_name",
            [catalog]).fetchall():
        out.setdefault(table, []).append((column, kind))
    return out


def _comparable(column: str, kind: str) -> str:
    """The column as both engines must agree on it (Spark writes DECIMAL where DuckDB has DOUBLE)."""
    name = _quoted(column)
    if kind.startswith(FRACTIONAL):
        places = 2 if any(m in column for m in MONEY) else 6
        return f"round(cast({name} as double), {places})"
    if "TIME ZONE" in kind:
        return f"cast(timezone('UTC', {name}) as timestamp)"
    return name


def _materialise_views(con: duckdb.DuckDBPyConnection, alias: str, path: Path, into: Path) -> None:
    """Each view of `path`'s marts, evaluated with the file attached as "working" (the catalog
    dbt's views name), replaced in `con` by a view `alias`_<name> over its Parquet copy."""
    own = duckdb.connect()
    try:
        own.execute(f"attach '{path.as_posix()}' as working (read_only)")
        views = [r[0] for r in own.execute(
            "select table_name from information_schema.tables where table_catalog = 'working' "
            "and table_schema = 'marts' and table_type = 'VIEW'").fetchall()]
        for view in views:
            target = into / f"{alias}_{view}.parquet"
            own.execute(f"copy (select * from working.marts.{_quoted(view)}) to '{target.as_posix()}'")
            con.execute(f"create view {_quoted(alias + '_' + view)} as "
                        f"select * from read_parquet('{target.as_posix()}')")
    finally:
        own.close()


def _relation(con: duckdb.DuckDBPyConnection, alias: str, table: str) -> str:
    view = f"{alias}_{table}"
    if con.execute("select count(*) from information_schema.tables where table_catalog = "
                   "current_database() and table_name = ?", [view]).fetchone()[0]:
        return _quoted(view)
    return f"{alias}.marts.{_quoted(table)}"


def compare(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per relation of catalog `a`; the names of those that differ are returned."""
    left, right = _columns(con, "a"), _columns(con, "b")
    differing = []
    for table in sorted(set(left) | set(right)):
        if table not in left or table not in right:
            print(f"{table:40s} only in {'a' if table in left else 'b'}")
            differing.append(table)
            continue
        if [c for c, _ in left[table]] != [c for c, _ in right[table]]:
            print(f"{table:40s} columns differ")
            differing.append(table)
            continue
        sa = ", ".join(_comparable(c, k) for c, k in left[table])
        sb = ", ".join(_comparable(c, k) for c, k in right[table])
        ra, rb = _relation(con, "a", table), _relation(con, "b", table)
        n_a = con.execute(f"select count(*) from {ra}").fetchone()[0]
        n_b = con.execute(f"select count(*) from {rb}").fetchone()[0]
        only_a = con.execute(f"select count(*) from (select {sa} from {ra} "
                             f"except all select {sb} from {rb})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select {sb} from {rb} "
                             f"except all select {sa} from {ra})").fetchone()[0]
        same = n_a == n_b and only_a == only_b == 0
        print(f"{table:40s} {n_a:>11,} | {n_b:>11,} rows; only in a {only_a:,}, only in b {only_b:,}"
              + ("" if same else "  <-- differs"))
        if not same:
            differing.append(table)
    return differing


def largest_differences(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> None:
    """Rows joined on `keys`: how many, and the largest |a - b| of each fractional column."""
    numeric = [c for c, kind in _columns(con, "a")[table] if kind.startswith(FRACTIONAL)]
    on = " and ".join(f"x.{_quoted(k)} is not distinct from y.{_quoted(k)}" for k in keys)
    spread = ", ".join(f"max(abs(x.{_quoted(c)} - y.{_quoted(c)}))" for c in numeric)
    row = con.execute(f"select count(*), {spread} from {_relation(con, 'a', table)} x "
                      f"join {_relation(con, 'b', table)} y on {on}").fetchone()
    print(f"{table}: {row[0]:,} rows joined on {', '.join(keys)}; largest difference: "
          + ", ".join(f"{c} {v:.3g}" for c, v in zip(numeric, row[1:])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="working.duckdb built on one engine")
    parser.add_argument("b", type=Path, help="working.duckdb built on the other")
    parser.add_argument("--keys", nargs="*", default=[], metavar="MART=COL,COL",
                        help="for a differing mart: its key columns, to print the largest differences")
    args = parser.parse_args(argv)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="compare-engines-") as tmp:
        for alias, path in (("a", args.a), ("b", args.b)):
            con.execute(f"attach '{path.as_posix()}' as {alias} (read_only)")
            _materialise_views(con, alias, path, Path(tmp))
        differing = compare(con)
        for spec in args.keys:
            table, _, cols = spec.partition("=")
            largest_differences(con, table, cols.split(","))
    print(f"relations differing: {len(differing)}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
