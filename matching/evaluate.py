"""Scoring `matching.customer_source_map` against a truth table (the generator's `_truth/`).

Definitions (issue 5):
- a raw name is *matchable* when the truth gives it exactly one CRM customer (terminal buyer) and
  no other customer the seller reaches could be written the same way (`ambiguous_with` empty:
  the generator's own account of its naming, see generator/ambiguity.py);
- *ambiguous* names (one true customer, but the name fits others too) are left out of recall;
  an auto match on one still counts for precision: right if it picked the true customer;
- *precision* = correct auto/manual matches ÷ all auto/manual terminal matches; an auto match of a
  name with no single true customer (an outsider, one name used for two customers) is wrong;
- *recall* = correct auto/manual matches of matchable names ÷ matchable names; *strict recall*
  counts the ambiguous names as matchable too;
- *review queue* = terminal rows left in review; *buyer kind errors* = distributor-vs-terminal
  mistakes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl

Key = tuple[str, str, str, str]


def _share(part: int, whole: int) -> float:
    """part ÷ whole; 1.0 when there is nothing to count (no auto matches: no wrong ones)."""
    return part / whole if whole else 1.0


def _report(quality: object, rates: dict[str, float]) -> dict[str, object]:
    """The counters, the rates rounded, and the first 20 mistakes."""
    out = {k: v for k, v in asdict(quality).items() if k != "wrong"}
    return {**out, **{k: round(v, 4) for k, v in rates.items()}, "wrong": quality.wrong[:20]}


@dataclass
class MatchQuality:
    rows: int = 0
    matchable: int = 0
    ambiguous: int = 0  # one true customer, but the name fits another the seller reaches
    auto: int = 0
    correct: int = 0  # correct auto/manual matches, ambiguous names included
    correct_matchable: int = 0
    ambiguous_auto: int = 0  # ambiguous names auto-matched anyway (a guess, right or wrong)
    review: int = 0
    unmatched: int = 0
    buyer_kind_errors: int = 0
    unknown_rows: int = 0  # map rows the truth does not know (should be 0)
    wrong: list[dict[str, object]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return _share(self.correct, self.auto)

    @property
    def recall(self) -> float:
        return _share(self.correct_matchable, self.matchable)

    @property
    def strict_recall(self) -> float:
        return _share(self.correct, self.matchable + self.ambiguous)

    def to_dict(self) -> dict[str, object]:
        return _report(self, {"precision": self.precision, "recall": self.recall,
                              "strict_recall": self.strict_recall})


def read_truth(path: Path) -> dict[Key, list[dict[str, str]]]:
    frame = pl.read_csv(path, infer_schema=False).fill_null("")
    truth: dict[Key, list[dict[str, str]]] = {}
    for row in frame.to_dicts():
        key = (row["source"], row["distributor_code"], row["buyer_code"], row["raw_name"])
        truth.setdefault(key, []).append(row)
    return truth


def read_map(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("select source, distributor_code, buyer_code, raw_name, buyer_kind, "
                   "buyer_distributor_code, crm_customer_id, match_status, match_method, "
                   "match_score from matching.customer_source_map").pl()


def _by_name(truth: dict[Key, list[dict[str, str]]]) -> dict[tuple[str, str, str], list[dict[str, str]]]:
    index: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for key, rows in truth.items():
        index.setdefault((key[0], key[1], key[3]), []).extend(rows)
    return index


def score_customers(mapping: pl.DataFrame, truth: dict[Key, list[dict[str, str]]]) -> MatchQuality:
    """Exact key first; else the same name under any buyer code (a loader that lost the code
    column is still scored on its names)."""
    by_name = _by_name(truth)
    q = MatchQuality()
    for row in mapping.to_dicts():
        key = (row["source"], row["distributor_code"], row["buyer_code"], row["raw_name"])
        rows = truth.get(key) or by_name.get((key[0], key[1], key[3]))
        if rows is None:
            q.unknown_rows += 1
            continue
        q.rows += 1
        _score_row(q, row, rows)
    return q


def _score_row(q: MatchQuality, row: dict, truth_rows: list[dict[str, str]]) -> None:
    kinds = {t["buyer_kind"] for t in truth_rows}
    ids = {t["crm_customer_id"] for t in truth_rows if t["buyer_kind"] == "terminal" and t["crm_customer_id"]}
    if row["buyer_kind"] == "distributor":
        wanted = {t["buyer_distributor_code"] for t in truth_rows if t["buyer_kind"] == "distributor"}
        if row["buyer_distributor_code"] not in wanted:
            q.buyer_kind_errors += 1
            q.wrong.append({**_brief(row), "truth": sorted(kinds | wanted)})
        return
    if kinds == {"distributor"}:
        q.buyer_kind_errors += 1
    single = len(ids) == 1
    ambiguous = single and any(t.get("ambiguous_with") for t in truth_rows)
    matchable = single and not ambiguous
    q.matchable += matchable
    q.ambiguous += ambiguous
    if row["match_status"] in ("auto", "manual"):
        q.auto += 1
        q.ambiguous_auto += ambiguous
        if single and row["crm_customer_id"] in ids:
            q.correct += 1
            q.correct_matchable += matchable
        else:
            q.wrong.append({**_brief(row), "truth": sorted(ids)})
    elif row["match_status"] == "review":
        q.review += 1
    else:
        q.unmatched += 1


def _brief(row: dict) -> dict[str, object]:
    return {k: row[k] for k in ("source", "distributor_code", "raw_name", "crm_customer_id",
                                "buyer_distributor_code", "match_method", "match_score")}


def evaluate_warehouse(db_path: Path, truth_csv: Path) -> MatchQuality:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return score_customers(read_map(con), read_truth(truth_csv))
    finally:
        con.close()


@dataclass
class ProductQuality:
    rows: int = 0
    known: int = 0  # raw products the truth maps to a product_id
    auto: int = 0
    correct: int = 0
    review: int = 0
    wrong: list[dict[str, object]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return _share(self.correct, self.auto)

    @property
    def recall(self) -> float:
        return _share(self.correct, self.known)

    def to_dict(self) -> dict[str, object]:
        return _report(self, {"precision": self.precision, "recall": self.recall})


def score_products(mapping: pl.DataFrame, truth_csv: Path) -> ProductQuality:
    """`matching.product_source_map` against `_truth/product_truth.csv`."""
    truth = pl.read_csv(truth_csv, infer_schema=False).fill_null("")
    wanted = {(r["distributor_code"], r["raw_product"], r["raw_spec"]): r["product_id"]
              for r in truth.to_dicts()}
    q = ProductQuality()
    for row in mapping.to_dicts():
        key = (row["distributor_code"], row["raw_product"], row["raw_spec"])
        if key not in wanted:
            continue
        q.rows += 1
        q.known += bool(wanted[key])
        if row["match_status"] in ("auto", "manual"):
            q.auto += 1
            if row["product_id"] == wanted[key]:
                q.correct += 1
            else:
                q.wrong.append({"key": key, "got": row["product_id"], "truth": wanted[key]})
        else:
            q.review += 1
    return q


def evaluate_products(db_path: Path, truth_csv: Path) -> ProductQuality:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        mapping = con.sql("select distributor_code, raw_product, raw_spec, product_id, match_status "
                          "from matching.product_source_map").pl()
    finally:
        con.close()
    return score_products(mapping, truth_csv)
