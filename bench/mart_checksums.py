"""One checksum line per `marts` relation of a warehouse file, to prove a refactor changed no row.

    uv run --frozen python bench/mart_checksums.py data/warehouse/working.duckdb
    uv run --frozen python bench/mart_checksums.py a.duckdb b.duckdb   # and say which differ

Each line: `<relation> <rows> <md5>`, the md5 over every row rendered as text in a fixed order
(all columns, ordered by all columns; doubles to 6 decimals), so it changes with any
value, row or column order, and not with the physical order DuckDB stored the rows in. Reads only (the file is opened read-only,
attached under its own catalog name so dbt views resolve).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _row_text(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """SQL rendering one row as text; doubles to 6 decimals, since a sum of doubles
    differs in its last bits with the order DuckDB's threads added them in."""
    cols = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = "
        "current_database() and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name]).fetchall()
    parts = [f"printf('%.6f', {_quoted(c)})" if kind in ("DOUBLE", "FLOAT", "REAL") else _quoted(c)
             for c, kind in cols]
    return "cast(row(" + ", ".join(parts) + ") as varchar)"


def checksums(path: Path, schema: str = "marts", catalog: str | None = None
              ) -> dict[str, tuple[int, str]]:
    """{relation: (rows, md5)} for every table and view of `schema` in the DuckDB file."""
    con = duckdb.connect()
    try:
        # dbt views name the catalog they were built in: the working file's stem ("working"),
        # also inside a published snapshot (pass --catalog working for those)
        alias = catalog or path.stem
        con.execute(f"attach '{path.as_posix()}' as {_quoted(alias)} (read_only)")
        con.execute(f"use {_quoted(alias)}")
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? order by 1",
            [schema]).fetchall()]
        out = {}
        for name in names:
            rel = f"{_quoted(schema)}.{_quoted(name)}"
            row = _row_text(con, schema, name)
            rows, digest = con.execute(
                f"select count(*), md5(coalesce(string_agg({row}, '\n' order by {row}), '')) "
                f"from {rel}").fetchone()
            out[name] = (rows, digest)
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--schema", default="marts")
    parser.add_argument("--catalog", help="attach as this catalog (default: the file's stem)")
    args = parser.parse_args(argv)
    sums = [checksums(f, args.schema, args.catalog) for f in args.files]
    for name, (rows, digest) in sums[0].items():
        print(f"{name} {rows} {digest}")
    if len(sums) == 1:
        return 0
    differ = sorted(n for n in set().union(*sums) if len({s.get(n) for s in sums}) > 1)
    for name in differ:
        print(f"DIFFERS: {name}: " + " | ".join(str(s.get(name)) for s in sums), file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
