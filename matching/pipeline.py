"""`run_matching`: raw names in, `matching.*` tables out, in one transaction.

Reads the latest master snapshot and every distinct raw name in flow, inventory and tender data,
matches them (customers, distributors as buyers, products, tender bidders), applies sticky buyer
codes and steward decisions, and replaces `matching.customer_source_map`,
`matching.product_source_map`, `matching.customer_ids`, `matching.sticky_keys` and
`matching.bidder_map` whole. Running it twice gives the same tables.

`match_method` says how a row got its answer (the `evidence` JSON says which features agreed):

| method | meaning |
|---|---|
| `exact_name` | the raw name is, letter for letter, one customer's official name |
| `fuzzy:name` / `fuzzy:bracket_alias` | rapidfuzz on the normalised name / on a bracketed alias of the master name |
| `fuzzy:alias_table` / `fuzzy:alias_literal` | a known abbreviation (`matching/data/hospital_aliases.csv`) |
| `ambiguous` | scored high, but another customer scored within the margin: review |
| `buyer_code` | another spelling under the same buyer code was matched in this run |
| `sticky_code` | the buyer code was matched on an earlier run (evidence.sticky = today's result); never over an `exact_name` of another customer (`code_customers`) |
| `steward:confirm|remap|new_customer|reject` | a steward decision (`matching.stewardship`) |
| `distributor:code|name|alias|fuzzy` | the buyer is another distributor (`buyer_kind` = distributor) |
| `no_candidate` | nothing close enough in the master |

Thresholds: `match_auto_score` (score for auto), `match_review_score` (below: unmatched) from
settings; an auto match also needs `AMBIGUITY_MARGIN` over the runner-up.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import duckdb
import polars as pl

from matching import inputs
from matching.companies import DistributorHit, DistributorIndex, is_own_company, own_company_score
from matching.customers import (CustomerIndex, CustomerMatcher, Decision, MasterCustomer, RawBuyer,
                                Thresholds, load_aliases)
from matching.divisions import Divisions, short_name
from matching.normalize import NameRules, Normalizer, basic_clean
from matching.products import MasterProduct, Prices, ProductMatcher
from matching.sources import (load_customer_master, load_distributors, load_products, load_raw_buyers,
                              load_raw_products, load_bidders, previous_sticky_keys, all_crm_ids)
from matching.stewardship import (StewardDecision, latest_decisions, read_decisions,
                                  read_product_decisions, read_sticky_keys, write_sticky_keys)
from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_NEEDS_ATTENTION, EXIT_OK
from sfe.runs import new_run_id
from sfe.warehouse import connect


def customer_id_for(crm_customer_id: str) -> str:
    """Stable surrogate key: never renumbered by rebuilds, new files or threshold changes."""
    return "CU" + hashlib.sha1(crm_customer_id.encode("utf-8")).hexdigest()[:10].upper()


@dataclass
class MatchReport:
    customer_status: dict[str, int] = field(default_factory=dict)
    customer_by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    distributor_buyers: int = 0
    product_status: dict[str, int] = field(default_factory=dict)
    bidders: int = 0
    own_bidders: int = 0
    decisions_applied: int = 0
    sticky_applied: int = 0
    customer_ids: int = 0
    seconds: float = 0.0
    error: str | None = None
    unchanged_since: str | None = None  # skipped: the run whose match had the same inputs
    sticky: pl.DataFrame | None = field(default=None, repr=False)  # written to the sticky file

    @property
    def review_queue_size(self) -> int:
        return self.customer_status.get("review", 0)

    @property
    def exit_code(self) -> int:
        return EXIT_NEEDS_ATTENTION if self.error else EXIT_OK

    def to_dict(self) -> dict:
        return {"customer_status": self.customer_status, "customer_by_source": self.customer_by_source,
                "distributor_buyers": self.distributor_buyers, "product_status": self.product_status,
                "review_queue_size": self.review_queue_size, "bidders": self.bidders,
                "own_bidders": self.own_bidders, "decisions_applied": self.decisions_applied,
                "sticky_applied": self.sticky_applied, "customer_ids": self.customer_ids,
                "seconds": round(self.seconds, 2), "error": self.error, "exit_code": self.exit_code,
                "unchanged_since": self.unchanged_since}

    @classmethod
    def of_unchanged(cls, last: dict, run_id: str) -> MatchReport:
        """The report of the last match, standing for a match skipped because its inputs
        are the same (its counts are today's: the same inputs give the same tables)."""
        keep = ("customer_status", "customer_by_source", "distributor_buyers", "product_status",
                "bidders", "own_bidders", "decisions_applied", "sticky_applied", "customer_ids")
        return cls(**{k: last[k] for k in keep if k in last}, unchanged_since=run_id)

    def summary(self) -> str:
        if self.error:
            return f"matching: {self.error}"
        if self.unchanged_since:
            return (f"matching: inputs unchanged since run {self.unchanged_since} (names, masters, "
                    f"steward decisions, thresholds, rules); not run; review queue "
                    f"{self.review_queue_size}")
        cs = ", ".join(f"{k} {v}" for k, v in sorted(self.customer_status.items()))
        ps = ", ".join(f"{k} {v}" for k, v in sorted(self.product_status.items()))
        return (f"matching: customers {cs}; distributor buyers {self.distributor_buyers}; "
                f"products {ps}; review queue {self.review_queue_size}; steward decisions applied "
                f"{self.decisions_applied}; sticky codes kept {self.sticky_applied}; "
                f"{self.seconds:.1f}s")


@dataclass(frozen=True)
class Context:
    normalizer: Normalizer
    thresholds: Thresholds


def build_normalizer(customers: pl.DataFrame) -> Normalizer:
    """Divisions from the shipped table, extended with every place the master mentions."""
    divisions = Divisions.load().extend(customers.select("province", "city", "district").iter_rows())
    return Normalizer(NameRules.load(), divisions)


def master_customers(frame: pl.DataFrame, normalizer: Normalizer) -> list[MasterCustomer]:
    out = []
    for row in frame.iter_rows(named=True):
        norm = normalizer.name(row["name"] or "", row["address"] or "")
        out.append(MasterCustomer(
            crm_customer_id=row["crm_customer_id"], name=row["name"] or "",
            province=short_name(row["province"] or "") or norm.province,
            city=short_name(row["city"] or "") or norm.city,
            district=short_name(row["district"] or "") or norm.district, norm=norm))
    return out


def run_matching(settings: Settings, console: Console | None = None,
                 run_id: str | None = None, raw_unchanged: bool = False,
                 force: bool = False, record_raw: bool = True) -> MatchReport:
    """Match every raw name of the working warehouse and replace the `matching.*` tables —
    unless everything matching reads is as the last successful match left it
    (matching/inputs.py): then nothing is written and the report says since which run.
    `run_id` names this match in that record (the run's id; else a new one); `raw_unchanged`:
    the caller proved the raw rows unchanged since the last run (they are not hashed then);
    `force` matches whatever the record says (`sfe build --force`); `record_raw` False: the
    caller's next run will prove the raw rows unchanged by the files' stat, so a match leaves
    no raw digest (a hash of every raw row, history-sized) in its record."""
    console = console or Console(quiet=True)
    started = time.perf_counter()
    with connect(settings) as con:
        before = inputs.digest(con, settings)
        # the raw rows are hashed only where that can still tell "unchanged"
        raw = (inputs.raw_digest(con) if not (raw_unchanged or force)
               and inputs.unchanged_since(settings, before, None) else None)
        last = None if force else inputs.unchanged_since(settings, before, raw)
        if last is not None:
            report = MatchReport.of_unchanged(last.get("report") or {}, str(last.get("run_id")))
        else:
            inputs.forget(settings)
            report = _match_all(con, settings, console)
    if last is None and report.error is None:
        write_sticky_keys(settings, report.sticky)
        with connect(settings) as con:
            after = inputs.digest(con, settings)
            raw = raw or (inputs.raw_digest(con) if record_raw else None)
        inputs.record(settings, after, raw, run_id or new_run_id("match"), report.to_dict())
    report.seconds = time.perf_counter() - started
    console.info(f"    {report.summary()}")
    return report


def _match_all(con: duckdb.DuckDBPyConnection, settings: Settings,
               console: Console) -> MatchReport:
    """Match every raw name and write the `matching.*` tables (in one transaction)."""
    report = MatchReport()
    console.step("matching: reading master data and raw names")
    customers = load_customer_master(con)
    if customers.is_empty():
        report.error = ("no customer master loaded (raw.master__customers is empty or missing); "
                        "put master/customers.csv in the inbox and run 'sfe ingest'")
        return report
    normalizer = build_normalizer(customers)
    thresholds = Thresholds(settings.thresholds.match_auto_score,
                            settings.thresholds.match_review_score)
    customer_map = _match_customers(con, settings, normalizer, thresholds, customers, report, console)
    product_map = _match_products(con, settings, normalizer, thresholds, report)
    bidder_map = _match_bidders(con, settings, normalizer, report)
    ids = _customer_ids(con, customer_map)
    report.customer_ids = ids.height
    report.sticky = _sticky_frame(customer_map)
    _write(con, customer_map, product_map, ids, bidder_map, report.sticky)
    return report


def _match_customers(con: duckdb.DuckDBPyConnection, settings: Settings, normalizer: Normalizer,
                     thresholds: Thresholds, customers: pl.DataFrame, report: MatchReport,
                     console: Console) -> pl.DataFrame:
    raw = load_raw_buyers(con)
    index = CustomerIndex.build(master_customers(customers, normalizer), normalizer, load_aliases())
    matcher = CustomerMatcher(index, normalizer, thresholds)
    distributors = DistributorIndex(load_distributors(con).select(
        "distributor_code", "name", "aliases", "province").iter_rows(), normalizer)
    console.step(f"matching: {raw.height} raw customer names against {len(index.customers)} customers")
    rows = _customer_rows(raw, matcher, distributors)
    rows = _propagate_codes(rows)
    sticky = {**read_sticky_keys(settings), **previous_sticky_keys(con)}
    rows, report.sticky_applied = _apply_sticky(rows, sticky)
    known = set(all_crm_ids(con))
    # a decision naming a crm_customer_id of no snapshot fails here (DecisionError, exit 2)
    rows = _apply_decisions(rows, read_decisions(settings, known_customers=known), report)
    frame = pl.DataFrame(rows, schema=CUSTOMER_MAP_SCHEMA, orient="row")
    terminal = frame.filter(pl.col("buyer_kind") == "terminal")
    report.customer_status = dict(Counter(terminal["match_status"].to_list()))
    report.customer_by_source = {
        src: dict(Counter(terminal.filter(pl.col("source") == src)["match_status"].to_list()))
        for src in sorted(set(terminal["source"].to_list()))}
    report.distributor_buyers = frame.height - terminal.height
    return frame


CUSTOMER_MAP_SCHEMA = {
    "source": pl.String, "distributor_code": pl.String, "buyer_code": pl.String,
    "raw_name": pl.String, "source_key": pl.String, "normalized_name": pl.String,
    "buyer_kind": pl.String, "buyer_distributor_code": pl.String, "crm_customer_id": pl.String,
    "match_status": pl.String, "match_method": pl.String, "match_score": pl.Float64,
    "evidence": pl.String, "candidates": pl.String,
}


LOCAL_SELLER_MIN_MATCHES = 5
LOCAL_SELLER_MIN_SHARE = 0.95


def _raw_buyer(rec: dict, matcher: CustomerMatcher) -> RawBuyer:
    places = {(p.city, p.district) for p in
              (matcher.normalizer.divisions.find(basic_clean(a)) for a in rec["addresses"] or [])}
    return RawBuyer(rec["raw_name"], rec["address"] or "", rec["context_province"] or "",
                    rec["context_city"] or "", addresses=max(1, len(places)))


def local_sellers(buyers: list[RawBuyer], decisions: list[Decision],
                  distributor_of: list[str]) -> set[str]:
    """Distributors whose auto-matched buyers all sit in the distributor's own city (at least
    LOCAL_SELLER_MIN_MATCHES of them, LOCAL_SELLER_MIN_SHARE in its city): for them the
    distributor's city is evidence as good as a written one ('中医院' from a 南充 sub-distributor)."""
    seen: dict[str, list[bool]] = {}
    for buyer, d, code in zip(buyers, decisions, distributor_of, strict=True):
        if d.status == "auto" and d.candidates and buyer.context_city:
            seen.setdefault(code, []).append(d.candidates[0]["city"] == short_name(buyer.context_city))
    return {code for code, hits in seen.items()
            if len(hits) >= LOCAL_SELLER_MIN_MATCHES and sum(hits) / len(hits) >= LOCAL_SELLER_MIN_SHARE}


def _customer_rows(raw: pl.DataFrame, matcher: CustomerMatcher,
                   distributors: DistributorIndex) -> list[dict[str, object]]:
    records = raw.to_dicts()
    buyers = [_raw_buyer(r, matcher) for r in records]
    decisions = matcher.match(buyers)
    codes = [r["distributor_code"] if r["source"] == "flow" else "" for r in records]
    local = local_sellers(buyers, decisions, codes) - {""}
    again = [i for i, (d, c) in enumerate(zip(decisions, codes, strict=True))
             if c in local and d.status != "auto"]
    if again:
        redo = matcher.match([replace(buyers[i], local_seller=True) for i in again])
        for i, d in zip(again, redo, strict=True):
            decisions[i] = d
    rows = []
    for rec, decision in zip(records, decisions, strict=True):
        norm = matcher.normalizer.name(rec["raw_name"], rec["address"] or "")
        hit = (distributors.classify(rec["buyer_code"], rec["raw_name"], rec["context_province"] or "")
               if rec["source"] != "tender" else None)
        rows.append(_row(rec, norm.clean, decision, hit))
    return rows


def _row(rec: dict, normalized: str, d: Decision, hit: DistributorHit | None) -> dict[str, object]:
    base = {"source": rec["source"], "distributor_code": rec["distributor_code"],
            "buyer_code": rec["buyer_code"], "raw_name": rec["raw_name"],
            "source_key": rec["buyer_code"] or normalized, "normalized_name": normalized}
    if hit is not None:
        return {**base, "buyer_kind": "distributor", "buyer_distributor_code": hit.distributor_code,
                "crm_customer_id": None, "match_status": "auto", "match_method": hit.method,
                "match_score": hit.score, "evidence": json.dumps({"distributor": hit.method}),
                "candidates": "[]"}
    return {**base, "buyer_kind": "terminal", "buyer_distributor_code": None,
            "crm_customer_id": d.crm_customer_id, "match_status": d.status,
            "match_method": d.method, "match_score": round(d.score, 4),
            "evidence": json.dumps(d.evidence, ensure_ascii=False),
            "candidates": json.dumps(d.candidates, ensure_ascii=False)}


CodeKey = tuple[str, str, str]
# A match that stands on the raw name itself, not on the buyer code it was written with.
OWN_NAME_METHODS = ("exact_name",)


def _own_name(r: dict[str, object]) -> bool:
    return r["match_method"] in OWN_NAME_METHODS or str(r["match_method"]).startswith("steward:")


def code_customers(rows: list[dict[str, object]]) -> dict[CodeKey, tuple[str, str]]:
    """The one customer each buyer code stands for: (source, distributor, code) → (crm id,
    status). A code is the distributor's key for one buyer, so its confident (auto/manual) names
    vote. When they disagree, the code was reused or mis-keyed ('德阳市四院' and '益丰大药房幸福路店'
    under one code): a name that is letter for letter another customer's official name, or that a
    steward decided, stands on its own, and the code is the customer its other names agree on;
    no agreement, no customer. Order-free, so every run reads back what the last one wrote."""
    votes: dict[CodeKey, list[dict[str, object]]] = {}
    for r in rows:
        if r["buyer_code"] and r["buyer_kind"] == "terminal" and r["match_status"] in ("auto", "manual"):
            votes.setdefault((str(r["source"]), str(r["distributor_code"]), str(r["buyer_code"])),
                             []).append(r)
    out: dict[CodeKey, tuple[str, str]] = {}
    for key, voters in votes.items():
        ids = {str(r["crm_customer_id"]) for r in voters}
        if len(ids) > 1:
            voters = [r for r in voters if not _own_name(r)]
            ids = {str(r["crm_customer_id"]) for r in voters}
        if len(ids) == 1:
            manual = any(r["match_status"] == "manual" for r in voters)
            out[key] = (ids.pop(), "manual" if manual else "auto")
    return out


def _propagate_codes(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Raw names not matched on their own take their buyer code's customer (`code_customers`)."""
    by_code = code_customers(rows)
    for r in rows:
        hit = by_code.get((r["source"], r["distributor_code"], r["buyer_code"]))
        if hit and r["match_status"] != "auto" and r["buyer_kind"] == "terminal":
            r.update(crm_customer_id=hit[0], match_status="auto", match_method="buyer_code")
    return rows


def _apply_sticky(rows: list[dict[str, object]],
                  sticky: dict[tuple[str, str, str], tuple[str, str]]) -> tuple[list[dict], int]:
    """A buyer code matched on an earlier run keeps its customer (until a steward changes it),
    except for a name that is letter for letter another customer's official name: the code was
    reused for that customer, the name says so, and `code_customers` leaves it out of the vote."""
    applied = 0
    for r in rows:
        hit = sticky.get((r["source"], r["distributor_code"], r["buyer_code"])) if r["buyer_code"] else None
        if hit is None or r["buyer_kind"] != "terminal":
            continue
        crm_id, status = hit
        if r["match_status"] == "auto" and _own_name(r) and r["crm_customer_id"] != crm_id:
            continue
        if r["crm_customer_id"] != crm_id or r["match_status"] not in ("auto", "manual"):
            evidence = json.loads(str(r["evidence"]) or "{}")
            evidence["sticky"] = {"fresh_status": r["match_status"], "fresh_id": r["crm_customer_id"]}
            r.update(crm_customer_id=crm_id, match_status=status, match_method="sticky_code",
                     evidence=json.dumps(evidence, ensure_ascii=False))
            applied += 1
    return rows, applied


def _apply_decisions(rows: list[dict[str, object]], decisions: list[StewardDecision],
                     report: MatchReport) -> list[dict[str, object]]:
    """Steward decisions override everything, replayed in the order they were made: a mapping
    (confirm, remap, new_customer) sets the customer, a reject removes that customer."""
    by_key = latest_decisions(decisions)
    for r in rows:
        history = by_key.get((r["source"], r["distributor_code"], r["buyer_code"], r["raw_name"]))
        if not history:
            continue
        report.decisions_applied += 1
        mapped, rejected = _replay(history)
        if mapped is not None:
            r.update(buyer_kind="terminal", buyer_distributor_code=None,
                     crm_customer_id=mapped.crm_customer_id, match_status="manual",
                     match_method=f"steward:{mapped.kind}", match_score=1.0)
            continue
        if r["crm_customer_id"] in rejected or r["match_status"] == "manual":
            r.update(crm_customer_id=None, match_status="review", match_method="steward:reject")
        cands = [c for c in json.loads(str(r["candidates"]) or "[]") if c["crm_customer_id"] not in rejected]
        r["candidates"] = json.dumps(cands, ensure_ascii=False)
    return rows


def _replay(history: list[StewardDecision]) -> tuple[StewardDecision | None, set[str | None]]:
    mapped: StewardDecision | None = None
    rejected: set[str | None] = set()
    for d in history:
        if d.kind == "reject":
            rejected.add(d.crm_customer_id)
            if mapped is not None and mapped.crm_customer_id == d.crm_customer_id:
                mapped = None
        else:
            mapped = d
            rejected.discard(d.crm_customer_id)
    return mapped, rejected


def _match_products(con: duckdb.DuckDBPyConnection, settings: Settings, normalizer: Normalizer,
                    thresholds: Thresholds, report: MatchReport) -> pl.DataFrame:
    products = [MasterProduct(**r) for r in load_products(con).iter_rows(named=True)]
    matcher = ProductMatcher(products, thresholds.auto, thresholds.review)
    by_product = {p.product_id: p for p in products}
    decisions = read_product_decisions(settings, known_products=by_product)
    records = load_raw_products(con).to_dicts()
    inputs = [(_own_manufacturer(rec.pop("manufacturers") or [], settings, normalizer),
               Prices(rec.pop("price_box"), rec.pop("price_min_unit"), rec.pop("price_case")))
              for rec in records]
    found = [matcher.match(rec["raw_product"], rec["raw_spec"], own, prices)
             for rec, (own, prices) in zip(records, inputs, strict=True)]
    own_feeds = own_only_feeds([r["distributor_code"] for r in records], found, by_product)
    rows = []
    for rec, (own, prices), d in zip(records, inputs, found, strict=True):
        if d.status != "auto" and own is None and rec["distributor_code"] in own_feeds:
            again = matcher.match(rec["raw_product"], rec["raw_spec"], True, prices)
            if again.status == "auto":  # a feed of our products only: the maker is us
                d = replace(again, evidence={**again.evidence, "manufacturer_from": "distributor_feed"})
        steward = decisions.get((rec["distributor_code"], rec["raw_product"], rec["raw_spec"]))
        if steward is not None and (steward.product_id is None or steward.product_id in by_product):
            d = replace(d, product_id=steward.product_id, status="manual" if steward.product_id else "review",
                        method="steward:product", score=1.0)
        p = by_product.get(d.product_id) if d.product_id else None
        rows.append({**rec, "product_id": d.product_id, "match_status": d.status,
                     "match_method": d.method, "match_score": round(d.score, 4),
                     "box_factor_min_unit": 1.0 / p.pack_size if p and p.pack_size else None,
                     "box_factor_case": float(p.case_size) if p and p.case_size else None,
                     "evidence": json.dumps(d.evidence, ensure_ascii=False),
                     "candidates": json.dumps(d.candidates, ensure_ascii=False)})
    frame = pl.DataFrame(rows, schema=PRODUCT_MAP_SCHEMA, orient="row")
    report.product_status = dict(Counter(frame["match_status"].to_list()))
    return frame


OWN_FEED_MIN_MATCHES = 5


def own_only_feeds(distributors: list[str], decisions: list, by_product: dict[str, MasterProduct]) -> set[str]:
    """Distributors whose confidently matched products are all our company's (at least
    OWN_FEED_MIN_MATCHES of them): a 流向 feed sent to us carries our products, so a line that
    names no maker is ours when our product and a competitor's share name, strength and pack."""
    seen: dict[str, set[bool | None]] = {}
    counts: Counter[str] = Counter()
    for code, d in zip(distributors, decisions, strict=True):
        if d.status == "auto" and d.product_id in by_product:
            seen.setdefault(code, set()).add(by_product[d.product_id].is_own)
            counts[code] += 1
    return {c for c, flags in seen.items() if flags == {True} and counts[c] >= OWN_FEED_MIN_MATCHES}


def _own_manufacturer(manufacturers: list[str], settings: Settings,
                      normalizer: Normalizer) -> bool | None:
    """True/False when every manufacturer written for the product is / is not our company."""
    flags = {is_own_company(own_company_score(m, settings.company_name, normalizer))
             for m in manufacturers if m and m.strip()}
    return flags.pop() if len(flags) == 1 else None


PRODUCT_MAP_SCHEMA = {
    "distributor_code": pl.String, "raw_product": pl.String, "raw_spec": pl.String,
    "product_id": pl.String, "match_status": pl.String, "match_method": pl.String,
    "match_score": pl.Float64, "box_factor_min_unit": pl.Float64, "box_factor_case": pl.Float64,
    "evidence": pl.String, "candidates": pl.String,
}


def _match_bidders(con: duckdb.DuckDBPyConnection, settings: Settings, normalizer: Normalizer,
                   report: MatchReport) -> pl.DataFrame:
    rows = []
    for bidder in load_bidders(con):
        score = own_company_score(bidder, settings.company_name, normalizer)
        rows.append({"bidder": bidder, "normalized_bidder": normalizer.canonical(bidder),
                     "is_own_company": is_own_company(score), "match_score": round(score, 4),
                     "match_method": "fuzzy:company_name"})
    frame = pl.DataFrame(rows, schema={"bidder": pl.String, "normalized_bidder": pl.String,
                                       "is_own_company": pl.Boolean, "match_score": pl.Float64,
                                       "match_method": pl.String}, orient="row")
    report.bidders, report.own_bidders = frame.height, int(frame["is_own_company"].sum() or 0)
    return frame


def _customer_ids(con: duckdb.DuckDBPyConnection, customer_map: pl.DataFrame) -> pl.DataFrame:
    ids = set(all_crm_ids(con))
    ids.update(x for x in customer_map.filter(pl.col("match_status") == "manual")["crm_customer_id"]
               .to_list() if x)
    ordered = sorted(ids)
    return pl.DataFrame({"customer_id": [customer_id_for(i) for i in ordered],
                         "crm_customer_id": ordered}, schema={"customer_id": pl.String,
                                                              "crm_customer_id": pl.String})


def _sticky_frame(customer_map: pl.DataFrame) -> pl.DataFrame:
    rows = [(*key, crm, status) for key, (crm, status) in code_customers(customer_map.to_dicts()).items()]
    return pl.DataFrame(rows, schema={"source": pl.String, "distributor_code": pl.String,
                                      "buyer_code": pl.String, "crm_customer_id": pl.String,
                                      "match_status": pl.String}, orient="row"
                        ).sort("source", "distributor_code", "buyer_code")


def _write(con: duckdb.DuckDBPyConnection, customer_map: pl.DataFrame, product_map: pl.DataFrame,
           ids: pl.DataFrame, bidder_map: pl.DataFrame, sticky: pl.DataFrame) -> None:
    tables = {"customer_source_map": customer_map.sort("source", "distributor_code", "buyer_code",
                                                       "raw_name"),
              "product_source_map": product_map.sort("distributor_code", "raw_product", "raw_spec"),
              "customer_ids": ids, "sticky_keys": sticky,
              "bidder_map": bidder_map.sort("bidder")}
    con.execute("begin transaction")
    try:
        for name, frame in tables.items():
            con.register("_frame", frame.to_arrow())
            json_cols = [c for c in ("evidence", "candidates") if c in frame.columns]
            replace_json = (f" replace ({', '.join(f'{c}::json as {c}' for c in json_cols)})"
                            if json_cols else "")
            con.execute(f"create or replace table matching.{name} as select *{replace_json} from _frame")
            con.unregister("_frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
