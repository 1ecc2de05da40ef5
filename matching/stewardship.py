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

Dashboards: `review_queue(settings)` / `product_review_queue(settings)` to show,
`record_decision(...)` / `record_product_decision(...)` to act. Product decisions go to
`product_decisions.jsonl` beside the customer decisions, same rules.

Sticky buyer codes (a code matched once stays matched) are kept in `sticky_keys.csv` here too,
rewritten by every run, so rebuilding the warehouse from scratch does not forget them.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from sfe.config import Settings

KINDS = ("confirm", "reject", "remap", "new_customer")
DECISIONS_FILE = "decisions.jsonl"
STICKY_FILE = "sticky_keys.csv"
STICKY_SCHEMA = {"source": pl.String, "distributor_code": pl.String, "buyer_code": pl.String,
                 "crm_customer_id": pl.String, "match_status": pl.String}


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message says what to fix."""


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
    if kind not in KINDS:
        raise DecisionError(f"decision kind '{kind}' is not one of {', '.join(KINDS)}")
    if kind in ("confirm", "remap", "reject") and not crm_customer_id:
        raise DecisionError(f"a '{kind}' decision needs the crm_customer_id it is about")
    if not who.strip():
        raise DecisionError("a decision needs 'who' (the steward's name or login)")
    if kind == "new_customer" and not crm_customer_id:
        crm_customer_id = new_customer_key(source, distributor_code, buyer_code, raw_name)
    decision = StewardDecision(
        decision_id=uuid.uuid4().hex, kind=kind, source=source, distributor_code=distributor_code,
        buyer_code=buyer_code or "", raw_name=raw_name, crm_customer_id=crm_customer_id,
        who=who, at=datetime.now(UTC).isoformat(timespec="seconds"), why=why)
    _append(decisions_path(settings), asdict(decision))
    return decision


def read_decisions(settings: Settings) -> list[StewardDecision]:
    """All decisions in the order they were made (a half-written last line is skipped)."""
    path = decisions_path(settings)
    if not path.exists():
        return []
    out: list[StewardDecision] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            out.append(StewardDecision(**{f: doc.get(f) for f in StewardDecision.__dataclass_fields__}))
        except (json.JSONDecodeError, TypeError) as exc:
            if number < len(lines):
                raise DecisionError(f"{path} line {number} is not a decision ({exc}); "
                                    "fix or remove that line") from exc
    return out


def read_sticky_keys(settings: Settings) -> dict[tuple[str, str, str], tuple[str, str]]:
    """Buyer codes matched on earlier runs, kept beside the decisions so a rebuilt warehouse
    keeps them too: (source, distributor_code, buyer_code) → (crm_customer_id, status)."""
    path = settings.stewardship_dir / STICKY_FILE
    if not path.exists():
        return {}
    frame = pl.read_csv(path, schema=STICKY_SCHEMA)
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
    if not who.strip():
        raise DecisionError("a decision needs 'who' (the steward's name or login)")
    decision = ProductStewardDecision(uuid.uuid4().hex, distributor_code, raw_product, raw_spec or "",
                               product_id or None, who, datetime.now(UTC).isoformat(timespec="seconds"),
                               why)
    _append(settings.stewardship_dir / PRODUCT_DECISIONS_FILE, asdict(decision))
    return decision


def read_product_decisions(settings: Settings) -> dict[tuple[str, str, str], ProductStewardDecision]:
    """The latest decision per (distributor_code, raw_product, raw_spec)."""
    path = settings.stewardship_dir / PRODUCT_DECISIONS_FILE
    out: dict[tuple[str, str, str], ProductStewardDecision] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue  # a half-written last line
        d = ProductStewardDecision(**{f: doc.get(f) for f in ProductStewardDecision.__dataclass_fields__})
        out[(d.distributor_code, d.raw_product, d.raw_spec or "")] = d
    return out


def _append(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:  # one write per line: appends do not interleave
        fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


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
