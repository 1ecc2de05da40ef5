"""Matching page: the stewards' review queue and decisions (through matching.stewardship), the
sell-out at stake per raw name, and candidates' addresses, all against the published snapshot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from dashboards import auth
from dashboards.access import scope_clause
from dashboards.connection import columns, get_settings, require, run, snapshot_path, tables
from matching import stewardship
from sfe.config import Settings

T = TypeVar("T")


class DecisionsUnreadable(RuntimeError):
    """The stewards' decisions file has a bad line; the message names file, line and the fix."""


class NotAllowed(PermissionError):
    """This session may not do that; the message says who may."""


def _decisions_guarded(call: Callable[[], T]) -> T:
    """Run `call()`; a stewardship.DecisionError becomes DecisionsUnreadable, so a page shows
    its message instead of a traceback."""
    try:
        return call()
    except stewardship.DecisionError as exc:
        raise DecisionsUnreadable(str(exc)) from exc


def review_queue(settings: Settings | None = None) -> pd.DataFrame:
    """Suggested matches waiting for a steward (matching.stewardship.review_queue), read from
    the published snapshot, never the working warehouse."""
    settings = settings or get_settings()
    require("matching.customer_source_map", settings)
    db = snapshot_path(settings)
    frame = _decisions_guarded(lambda: stewardship.review_queue(settings, db_path=db))
    return frame.to_pandas()


def review_queue_from_snapshot(settings: Settings | None = None) -> pd.DataFrame:
    """Read-only fallback when the snapshot has no matching.customer_source_map: `review` rows
    of map_customer_source."""
    settings = settings or get_settings()
    require("marts.map_customer_source", settings)
    code = ("buyer_code" if "buyer_code" in columns("marts.map_customer_source", settings)
            else "'' as buyer_code")
    return run(f"select source, distributor_code, {code}, source_key, raw_name, match_method, "
               "match_score from marts.map_customer_source where match_status = 'review' "
               "order by match_score desc nulls last, distributor_code, raw_name",
               settings=settings)


def review_amounts(settings: Settings | None = None) -> pd.DataFrame:
    """map_customer_review: the unmatched sell-out at stake per raw name in review (empty when
    the snapshot predates the mart). Distributor-level data: unrestricted users only."""
    settings = settings or get_settings()
    cols = ["source", "distributor_code", "buyer_code", "raw_name", "flow_rows",
            "sell_out_amount", "last_sale_date"]
    if "marts.map_customer_review" not in tables(settings):
        return pd.DataFrame(columns=cols)
    where, params = scope_clause("distributor_code", kind="global", settings=settings)
    return run(f"select {', '.join(cols)} from marts.map_customer_review where {where}",
               params, settings=settings)


def distributor_names(settings: Settings | None = None) -> dict[str, str]:
    """distributor_code → the distributor's name (dim_distributor); empty when the snapshot has
    no such mart. Distributor-level data: the page is for unrestricted users only."""
    settings = settings or get_settings()
    if "marts.dim_distributor" not in tables(settings):
        return {}
    names = run("select distributor_code, name from marts.dim_distributor", settings=settings)
    return {code: name for code, name in zip(names["distributor_code"], names["name"], strict=True)
            if name}


def customer_addresses(crm_ids: Sequence[str], settings: Settings | None = None) -> pd.DataFrame:
    """dim_customer_address rows of the given customers (candidates shown to a steward)."""
    settings = settings or get_settings()
    cols = ["crm_customer_id", "name", "province", "city", "district", "address"]
    if "marts.dim_customer_address" not in tables(settings) or not crm_ids:
        return pd.DataFrame(columns=cols)
    return run(f"select {', '.join(cols)} from marts.dim_customer_address "
               "where list_contains(?::varchar[], crm_customer_id)",
               [list(map(str, crm_ids))], settings=settings)


def record_decision(settings: Settings | None = None, **decision: Any) -> Any:
    """Persist one steward decision (confirm|reject|remap|new_customer) via matching.stewardship,
    as the signed-in steward (`auth.decision_author`); a `who` passed in is never trusted."""
    settings = settings or get_settings()
    author = auth.decision_author(settings)
    if author is None:
        raise NotAllowed("only a signed-in steward records match decisions (with login off: "
                         "only on a server bound to this machine)")
    result = stewardship.record_decision(settings, **{**decision, "who": author})
    st.cache_data.clear()
    return result


def decision_log(settings: Settings | None = None) -> pd.DataFrame:
    """Every steward decision so far (the audit log), newest first."""
    settings = settings or get_settings()
    decisions = _decisions_guarded(lambda: stewardship.read_decisions(settings))
    df = pd.DataFrame([asdict(d) for d in decisions])
    if "at" in df.columns:
        df = df.sort_values("at", ascending=False)
    return df
