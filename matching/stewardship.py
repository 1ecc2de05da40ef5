"""Steward decisions and the review queue: the only way anyone (dashboards too) changes a match.

Decisions are appended to `settings.stewardship_dir / "decisions.jsonl"`, one JSON object a line,
never edited in place, outside the warehouse so no rebuild loses them. `run_matching` reads them
on every run; for one raw name the latest decision wins.

Kinds:
- `confirm`      — the suggested candidate `crm_customer_id` is right (→ match_status manual)
- `remap`        — the raw name belongs to `crm_customer_id` (any customer; → manual)
- `reject`       — `crm_customer_id` is not this raw name (it is removed from its candidates and
                   never auto-matched to it again; the row stays in review)
- `new_customer` — the raw name is a customer missing from the CRM; it gets its own stable key
                   (`crm_customer_id` as given, else `NEW-<hash>`) and customer_id

Every line is validated when read: a JSON object of known fields, a known kind, a well-formed
raw-name key, and (at build time) a crm_customer_id / product_id that exists in the master. A bad
line raises `DecisionError` (a usage error: `sfe build` / `sfe run` exit 2) naming the file, line
and field; nothing is skipped. Appends hold an exclusive `fcntl.flock` on `<file>.lock` and start
on a fresh line, so two stewards saving at once both land and a hand edit that left the last line
without a newline is not merged with the next decision.

Dashboards: `review_queue(settings)` / `product_review_queue(settings)` to show,
`record_decision(...)` / `record_product_decision(...)` to act. Product decisions go to
`product_decisions.jsonl` beside the customer decisions, same rules.

Sticky buyer codes (a code matched once stays matched) are kept in `sticky_keys.csv` here too,
rewritten by every run, so rebuilding the warehouse from scratch does not forget them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from matching.sources import all_crm_ids, load_products
from sfe.config import Settings
from sfe.report import UsageError

KINDS = ("confirm", "reject", "remap", "new_customer")
# the sources whose raw buyer names are matched (matching.sources.load_raw_buyers)
CUSTOMER_SOURCES = ("flow", "tender")
DECISIONS_FILE = "decisions.jsonl"
STICKY_FILE = "sticky_keys.csv"
STICKY_SCHEMA = {"source": pl.String, "distributor_code": pl.String, "buyer_code": pl.String,
                 "crm_customer_id": pl.String, "match_status": pl.String}


class DecisionError(UsageError, ValueError):
    """A decision that cannot be recorded or read; the message says where and what to fix."""


@dataclass(frozen=True)
class StewardDecision:
    decision_id: str
    kind: str
    source: str
    distributor_code: str
    buyer_code: str
    raw_name: str
    crm_customer_id: str | None
    who: str
    at: str
    why: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.source, self.distributor_code, self.buyer_code, self.raw_name)


def decisions_path(settings: Settings) -> Path:
    return settings.stewardship_dir / DECISIONS_FILE


def new_customer_key(source: str, distributor_code: str, buyer_code: str, raw_name: str) -> str:
    """The stable CRM-side key of a steward-created customer."""
    digest = hashlib.sha1("|".join((source, distributor_code, buyer_code, raw_name)).encode())
    return "NEW-" + digest.hexdigest()[:10].upper()


def record_decision(settings: Settings, kind: str, *, source: str, distributor_code: str,
                    raw_name: str, buyer_code: str = "", crm_customer_id: str | None = None,
                    who: str, why: str = "") -> StewardDecision:
    """Append one decision (applied by the next `run_matching`); returns what was stored."""
    if kind == "new_customer" and not crm_customer_id:
        crm_customer_id = new_customer_key(source, distributor_code, buyer_code or "", raw_name)
    decision = StewardDecision(
        decision_id=uuid.uuid4().hex, kind=kind, source=source, distributor_code=distributor_code,
        buyer_code=buyer_code or "", raw_name=raw_name, crm_customer_id=crm_customer_id,
        who=who, at=datetime.now(UTC).isoformat(timespec="seconds"), why=why)
    doc = asdict(decision)
    _refuse(customer_problems(doc, _master_ids(settings, all_crm_ids)))
    _append(decisions_path(settings), doc)
    return decision


def read_decisions(settings: Settings,
                   known_customers: Collection[str] | None = None) -> list[StewardDecision]:
    """All decisions in the order they were made. Every line must be a valid decision (and,
    given `known_customers`, name a crm_customer_id among them), else `DecisionError`."""
    path = decisions_path(settings)
    out: list[StewardDecision] = []
    problems: list[LineProblem] = []
    for number, doc in _read_lines(path, problems):
        found = customer_problems(doc, known_customers)
        problems.extend((number, name, text) for name, text in found)
        if not found:
            out.append(_customer_decision(doc))
    _raise_for(path, problems)
    return out


# (field, what is wrong) for one decision; (line, field, what is wrong) for a file
Problem = tuple[str, str]
LineProblem = tuple[int, str, str]
_NEEDS_ID = ("confirm", "remap", "reject")


def customer_problems(doc: dict[str, Any], known: Collection[str] | None = None) -> list[Problem]:
    """What is wrong with one customer decision (empty when it is valid)."""
    problems = _unknown_fields(doc, StewardDecision)
    kind = doc.get("kind")
    if kind not in KINDS:
        problems.append(("kind", f"decision kind {_show(kind)} is not one of {', '.join(KINDS)}"))
    if doc.get("source") not in CUSTOMER_SOURCES:
        problems.append(("source", f"{_show(doc.get('source'))} is not one of "
                                   f"{', '.join(CUSTOMER_SOURCES)}"))
    problems += _text_problems(doc, required=("decision_id", "distributor_code", "raw_name", "who",
                                              "at"), optional=("buyer_code", "why"))
    crm = doc.get("crm_customer_id")
    if kind in _NEEDS_ID and not _is_text(crm):
        problems.append(("crm_customer_id", f"a '{kind}' decision needs the crm_customer_id it is "
                                            f"about (got {_show(crm)})"))
    elif crm is not None and not _is_text(crm):
        problems.append(("crm_customer_id", f"must be a non-empty text, not {_show(crm)}"))
    elif known is not None and kind in _NEEDS_ID and crm not in known:
        problems.append(("crm_customer_id", f"{_show(crm)} is in no customer master snapshot; use "
                                            "an id from the CRM customer master"))
    return problems


def _customer_decision(doc: dict[str, Any]) -> StewardDecision:
    """A validated line as a decision; a hand-written new_customer without an id gets its key."""
    values = {f.name: doc.get(f.name) for f in fields(StewardDecision)}
    values["buyer_code"] = values["buyer_code"] or ""
    values["why"] = values["why"] or ""
    if values["kind"] == "new_customer" and not values["crm_customer_id"]:
        values["crm_customer_id"] = new_customer_key(values["source"], values["distributor_code"],
                                                     values["buyer_code"], values["raw_name"])
    return StewardDecision(**values)


def _unknown_fields(doc: dict[str, Any], cls: type) -> list[Problem]:
    known = {f.name for f in fields(cls)}
    return [(name, f"unknown field (known: {', '.join(sorted(known))})")
            for name in doc if name not in known]


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"'{value}'"


def _text_problems(doc: dict[str, Any], required: tuple[str, ...],
                   optional: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for name in required:
        if not _is_text(doc.get(name)):
            what = ("a decision needs 'who' (the steward's name or login)" if name == "who"
                    else f"must be a non-empty text, not {_show(doc.get(name))}")
            problems.append((name, what))
    for name in optional:
        if doc.get(name) is not None and not isinstance(doc.get(name), str):
            problems.append((name, f"must be a text, not {_show(doc.get(name))}"))
    if _is_text(doc.get("at")):
        try:
            datetime.fromisoformat(doc["at"])
        except ValueError:
            problems.append(("at", f"{_show(doc['at'])} is not an ISO date-time "
                                   "(e.g. 2026-11-30T08:15:00+00:00)"))
    return problems


def _refuse(problems: list[Problem]) -> None:
    """A decision being recorded that is not valid: nothing is written."""
    if problems:
        raise DecisionError("; ".join(text if name in ("kind", "who", "crm_customer_id")
                                      else f"{name} {text}" for name, text in problems))


def _raise_for(path: Path, problems: list[LineProblem]) -> None:
    """One error for every bad line of a decisions file: the first in full, the others by line."""
    if not problems:
        return
    problems = sorted(problems)
    number, name, text = problems[0]
    where = "" if name == "(line)" else f", field '{name}'"
    more = sorted({n for n, _, _ in problems[1:]})
    also = (f" (more problems on line(s) {', '.join(map(str, more[:20]))}"
            f"{' …' if len(more) > 20 else ''})") if more else ""
    raise DecisionError(f"{path} line {number}{where}: {text}{also}; fix or delete the line(s) "
                        "(record the decision again on the Matching page if needed), then run "
                        "'sfe build' again")


def _read_lines(path: Path, problems: list[LineProblem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) of each non-blank line; any other line becomes a problem.
    Read under the shared lock, so a decision being appended is never seen half-written."""
    if not path.exists():
        return
    with _locked(path, exclusive=False):
        data = path.read_bytes()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append((number, "(line)", f"is not one complete JSON object ({exc}); a "
                                               "write may have been cut short or the line hand-edited"))
            continue
        if not isinstance(doc, dict):
            problems.append((number, "(line)", f"is JSON but not an object ({_show(doc)[:60]})"))
            continue
        yield number, doc

def read_sticky_keys(settings: Settings) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Buyer codes matched on earlier runs, kept beside the decisions so a rebuilt warehouse
    keeps them too: (source, distributor_code, buyer_code) → (crm_customer_id, status)."""
    path = settings.stewardship_dir / STICKY_FILE
    if not path.exists():
        return {}
    try:
        frame = pl.read_csv(path, schema=STICKY_SCHEMA)
    except pl.exceptions.PolarsError as exc:  # a hand edit: say which file, not a traceback
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DecisionError(f"{path} is not a sticky-keys file ({reason[:200]}); restore it or "
                            "delete it (the next build writes it again from the warehouse's "
                            "matching.sticky_keys)") from exc
    return {(s, d, b or ""): (c, st) for s, d, b, c, st in frame.iter_rows() if c}


def write_sticky_keys(settings: Settings, frame: pl.DataFrame) -> None:
    """Replace the sticky-keys file atomically (write aside, then rename)."""
    path = settings.stewardship_dir / STICKY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.select(list(STICKY_SCHEMA)).write_csv(tmp)
    os.replace(tmp, path)


def latest_decisions(decisions: list[StewardDecision]) -> dict[tuple[str, str, str, str], list[StewardDecision]]:
    """Decisions per raw-name key, oldest first (rejects accumulate; the last mapping wins)."""
    out: dict[tuple[str, str, str, str], list[StewardDecision]] = {}
    for d in decisions:
        out.setdefault(d.key, []).append(d)
    return out


_QUEUE_SQL = """
select source, distributor_code, buyer_code, raw_name, normalized_name, match_status,
       match_method, match_score, evidence, candidates
from matching.customer_source_map
where match_status in ({statuses}) and buyer_kind = 'terminal'
order by match_score desc, source, distributor_code, raw_name
"""


def review_queue(settings: Settings, include_unmatched: bool = False,
                 db_path: Path | None = None) -> pl.DataFrame:
    """Raw names waiting for a steward, best candidates first in `candidates` (JSON text).

    Reads the working warehouse (or `db_path`) read-only. A row that already has a decision
    recorded since the last run carries `pending_decision` = that decision's kind.
    """
    path = db_path or settings.working_db
    statuses = "'review', 'unmatched'" if include_unmatched else "'review'"
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.sql(_QUEUE_SQL.format(statuses=statuses)).pl()
    finally:
        con.close()
    pending = {k: v[-1].kind for k, v in latest_decisions(read_decisions(settings)).items()}
    keys = zip(frame["source"], frame["distributor_code"], frame["buyer_code"], frame["raw_name"],
               strict=True)
    return frame.with_columns(pl.Series("pending_decision", [pending.get(k) for k in keys],
                                        dtype=pl.String))


PRODUCT_DECISIONS_FILE = "product_decisions.jsonl"


@dataclass(frozen=True)
class ProductStewardDecision:
    """`product_id` for one raw product of one distributor; None = not a product we track."""

    decision_id: str
    distributor_code: str
    raw_product: str
    raw_spec: str
    product_id: str | None
    who: str
    at: str
    why: str


def record_product_decision(settings: Settings, *, distributor_code: str, raw_product: str,
                            raw_spec: str = "", product_id: str | None, who: str,
                            why: str = "") -> ProductStewardDecision:
    """Map a raw product (name + spec as the distributor wrote them) to a product_id; applied by
    the next `run_matching` (its quarantined flow rows then count). Appended, never edited."""
    decision = ProductStewardDecision(uuid.uuid4().hex, distributor_code, raw_product, raw_spec or "",
                               product_id or None, who, datetime.now(UTC).isoformat(timespec="seconds"),
                               why)
    doc = asdict(decision)
    problems = product_problems(doc)
    known = _master_ids(settings, _product_ids)
    if not problems and known is not None and decision.product_id not in known | {None}:
        problems.append(("product_id", f"'{decision.product_id}' is not in the product master"))
    _refuse(problems)
    _append(settings.stewardship_dir / PRODUCT_DECISIONS_FILE, doc)
    return decision


def _master_ids(settings: Settings,
                read: Callable[[duckdb.DuckDBPyConnection], list[str]]) -> set[str] | None:
    """The master's ids as `read` finds them in the working warehouse, so a typo is refused
    when the steward saves, not at everyone's next build. None when the warehouse cannot be
    read now (none yet, a build holds it, no master loaded): the build checks then."""
    if not settings.working_db.exists():
        return None
    try:
        con = duckdb.connect(str(settings.working_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        ids = set(read(con))
    except duckdb.Error:
        return None
    finally:
        con.close()
    return ids or None


def _product_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return load_products(con)["product_id"].drop_nulls().to_list()


def product_problems(doc: dict[str, Any]) -> list[Problem]:
    """What is wrong with one product decision (empty when it is valid)."""
    problems = _unknown_fields(doc, ProductStewardDecision)
    problems += _text_problems(doc, required=("decision_id", "distributor_code", "raw_product", "who",
                                              "at"), optional=("raw_spec", "why"))
    product_id = doc.get("product_id")
    if product_id is not None and not _is_text(product_id):
        problems.append(("product_id", f"must be a product_id from the product master, or null for "
                                       f"'not a product we track'; not {_show(product_id)}"))
    return problems


def read_product_decisions(settings: Settings, known_products: Collection[str] | None = None,
                           ) -> dict[tuple[str, str, str], ProductStewardDecision]:
    """The latest decision per (distributor_code, raw_product, raw_spec). Every line must be a
    valid decision, and (given `known_products`) each latest one must name a product among them
    or null; else `DecisionError`. A decision a later one replaced may name a retired product."""
    path = settings.stewardship_dir / PRODUCT_DECISIONS_FILE
    out: dict[tuple[str, str, str], ProductStewardDecision] = {}
    line_of: dict[tuple[str, str, str], int] = {}
    problems: list[LineProblem] = []
    for number, doc in _read_lines(path, problems):
        found = product_problems(doc)
        problems.extend((number, name, text) for name, text in found)
        if found:
            continue
        values = {f.name: doc.get(f.name) for f in fields(ProductStewardDecision)}
        d = ProductStewardDecision(**{**values, "raw_spec": values["raw_spec"] or "",
                                      "why": values["why"] or ""})
        key = (d.distributor_code, d.raw_product, d.raw_spec)
        out[key], line_of[key] = d, number
    if known_products is not None:
        unknown = [k for k, d in out.items()
                   if d.product_id is not None and d.product_id not in known_products]
        problems += [(line_of[k], "product_id", f"{_show(out[k].product_id)} is not in the product "
                                                "master; use a product_id from master/products")
                     for k in unknown]
    _raise_for(path, problems)
    return out


@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    """Hold `<path>.lock` (flock: exclusive to append, shared to read) until the block ends.
    A reader that cannot create the lock file (a read-only copy) reads without it."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o664)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _append(path: Path, doc: dict[str, Any]) -> None:
    """Append one line under the exclusive lock, on a fresh line (a last line left without its
    newline by a hand edit stays its own line), in one write, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
    with _locked(path, exclusive=True):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o664)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


_PRODUCT_QUEUE_SQL = """
select distributor_code, raw_product, raw_spec, match_score, evidence, candidates
from matching.product_source_map
where product_id is null
order by distributor_code, raw_product, raw_spec
"""


def product_review_queue(settings: Settings, db_path: Path | None = None) -> pl.DataFrame:
    """Raw products with no product_id yet (their flow rows wait in quarantine), with candidates."""
    con = duckdb.connect(str(db_path or settings.working_db), read_only=True)
    try:
        return con.sql(_PRODUCT_QUEUE_SQL).pl()
    finally:
        con.close()
