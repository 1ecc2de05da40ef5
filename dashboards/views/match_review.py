"""客户匹配 Matching: the stewards' review queue (confirm / reject / remap suggested matches) and
the audit log of decisions. Decisions go through `matching.stewardship` and apply on the next build.
The queue starts with the names holding the most unmatched sell-out (map_customer_review)."""

import json

import pandas as pd
import streamlit as st

from dashboards import auth, connection
from dashboards.components import (company_wide_page, download_table, fmt_yuan, plain,
                                   show_table, unavailable)
from dashboards.formats import local_time
from dashboards.queries import matching

st.title("客户匹配 Matching")
company_wide_page(False, "匹配审核仅对数据管理员开放 The review queue is for data stewards who see "
                         "every territory.")

KINDS = {"confirm": "确认 Confirm suggested match", "remap": "改配 Remap to another customer",
         "reject": "拒绝 Reject (no match)", "new_customer": "新客户 New customer"}
KEY = ["source", "distributor_code", "buyer_code", "raw_name"]
GEO = {"agree": "一致 agrees", "conflict": "冲突 conflicts", "missing": "未写 not written"}
EVIDENCE = {"name_sim": "名称相似度 Name similarity", "key": "匹配依据 Matched on",
            "province": "省 Province", "city": "市 City", "district": "区 District",
            "street": "街道 Street", "level": "等级 Level", "margin": "领先第二名 Lead over 2nd",
            "exact_name": "名称完全一致 Exact name", "tie_break": "并列处理 Tie broken by",
            "distributor_city": "经销商所在市 Distributor's city"}


def _candidates(value) -> list[dict]:
    if value is None or (not isinstance(value, (list, tuple, str, dict)) and pd.isna(value)):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, dict):
        value = [value]
    return [c for c in value if isinstance(c, dict)]


def _evidence(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _evidence_text(value) -> str:
    """The matcher's evidence in words: which features agreed, which conflicted."""
    ev = _evidence(value)
    return " · ".join(f"{label}: {f'{ev[key]:.2f}' if isinstance(ev[key], float) else GEO.get(str(ev[key]), ev[key])}"
                      for key, label in EVIDENCE.items() if key in ev)


def _tied(cands: list[dict]) -> bool:
    """The two best candidates score the same: nothing to suggest."""
    scores = [c.get("score") for c in cands[:2]]
    return len(scores) == 2 and None not in scores and float(scores[0]) == float(scores[1])


def _named(code, names: dict[str, str]) -> str:
    """A code with its name in front: '上海医药分销 (D001)'; the code alone when unnamed."""
    if code is None or (not isinstance(code, str) and pd.isna(code)) or code == "":
        return "—"
    return f"{names[code]} ({code})" if names.get(code) else str(code)


def _candidate_text(cands: list[dict]) -> str:
    """The best three candidates by name, id and score: '上海市第一人民医院 (C1) 0.82; …'."""
    parts = []
    for c in cands[:3]:
        text = f"{c.get('name') or ''} ({c.get('crm_customer_id')})".strip()
        score = c.get("score")
        parts.append(f"{text} {float(score):.2f}" if isinstance(score, (int, float)) else text)
    return "; ".join(parts)


def _label(row: pd.Series, names: dict[str, str]) -> str:
    amount = row.get("sell_out_amount")
    stake = f" · {fmt_yuan(amount)}" if amount is not None and not pd.isna(amount) else ""
    return f"{row.get('raw_name')} · {_named(row.get('distributor_code'), names)}{stake}"


def _with_amounts(queue: pd.DataFrame) -> pd.DataFrame:
    """Add the sell-out at stake and order by it, largest first (unknown amounts last)."""
    amounts = matching.review_amounts()
    queue = queue.copy()
    if "buyer_code" not in queue:
        queue["buyer_code"] = ""
    queue["buyer_code"] = queue["buyer_code"].fillna("")
    if amounts.empty:
        queue["sell_out_amount"], queue["flow_rows"] = float("nan"), pd.NA
        return queue
    amounts["buyer_code"] = amounts["buyer_code"].fillna("")
    merged = queue.merge(amounts.drop(columns=["last_sale_date"]), on=KEY, how="left")
    return merged.sort_values(["sell_out_amount", "raw_name"], ascending=[False, True],
                              na_position="last", kind="stable").reset_index(drop=True)


queue = None
author = auth.decision_author(connection.get_settings())  # None: this session may not record
writable = True
try:
    queue = matching.review_queue()
except matching.DecisionsUnreadable as exc:
    writable = False
    st.error(f"决定文件有误，暂不能记录决定 The decisions file cannot be read, so no decision can "
             f"be recorded until it is fixed: {plain(exc)}", icon=":material/error:")
except connection.DataUnavailable as exc:
    writable = False
    st.warning(f"{exc}", icon=":material/construction:")
if queue is None:
    try:
        queue = matching.review_queue_from_snapshot()
    except connection.DataUnavailable as exc2:
        unavailable(exc2)

st.subheader("待审核 Review queue")
if queue is None or queue.empty:
    st.success("没有待审核的匹配 Nothing waiting for review.")
else:
    queue = _with_amounts(queue)
    dist_names = matching.distributor_names()
    c = st.columns(2)
    c[0].metric("待审核名称 Raw names waiting", len(queue))
    c[1].metric("待匹配流向金额 Unmatched sell-out at stake", fmt_yuan(
        queue["sell_out_amount"].sum() if queue["sell_out_amount"].notna().any() else None))
    st.caption("按待匹配流向金额排序 Ordered by the net sell-out booked to the name while it is "
               "unmatched (largest first): deciding these first moves the most money.")
    shown = queue.copy()
    if "candidates" in shown:
        shown["candidates"] = shown["candidates"].map(lambda v: _candidate_text(_candidates(v)))
    if "evidence" in shown:
        shown["evidence"] = shown["evidence"].map(_evidence_text)
    if "pending_decision" in shown:
        shown["pending_decision"] = shown["pending_decision"].map(lambda k: KINDS.get(k, k))
    shown["distributor_code"] = shown["distributor_code"].map(lambda c: _named(c, dist_names))
    # what fits at 1440 px: names, money, the candidates (the best one's score first); flow
    # rows, the matcher's score, evidence, method and source are in the download and, for the
    # chosen name, below
    listed = ["raw_name", "distributor_code", "buyer_code", "sell_out_amount", "candidates",
              "pending_decision"]
    first = [c for c in listed if c in shown
             and (c != "buyer_code" or shown[c].fillna("").ne("").any())]  # often none
    show_table(shown[first], key="queue_table",  # no pending decision reads '—'
               config={"distributor_code": st.column_config.TextColumn("经销商 Distributor",
                                                                       width=230),
                       "buyer_code": "客户编码 Buyer code", "raw_name": "原始名称 Name as written",
                       "sell_out_amount": st.column_config.NumberColumn(
                           "待匹配金额 At stake", format="¥%,.0f",
                           help="待匹配流向金额 Net sell-out booked to the name while unmatched"),
                       "candidates": st.column_config.TextColumn(
                           "候选客户 Candidates", width=190,
                           help="前三名：名称 (CRM编码) 得分 Best three: name (CRM id) score"),
                       "pending_decision": "待生效 Pending"})
    wanted = [c for c in (*listed, "flow_rows", "match_score", "evidence", "match_method",
                          "source") if c in shown]
    download_table(shown[wanted], "review-queue", "queue_dl")

    if writable and author is None:
        st.info("只有数据管理员可以记录决定 Only a signed-in steward records match decisions "
                "(with login off: only on a server bound to this machine).",
                icon=":material/lock:")
    elif writable:
        st.subheader("记录决定 Record a decision")
        st.caption(f"记录为 Recorded as: {plain(author)}")
        idx = st.selectbox("待审核名称 Raw name", list(range(len(queue))),
                           format_func=lambda i: _label(queue.iloc[i], dist_names), key="item")
        row = queue.iloc[idx]
        cands = _candidates(row.get("candidates"))
        tied = _tied(cands)
        if cands:
            where = matching.customer_addresses([c.get("crm_customer_id") for c in cands])
            table = pd.DataFrame(cands).drop(columns=["city"], errors="ignore").merge(
                where.drop(columns=["name"]), on="crm_customer_id", how="left")
            show_table(table, key="candidates_table",
                       config={"crm_customer_id": "客户编码 CRM ID", "name": "名称 Name",
                                        "province": "省 Province", "city": "市 City",
                                        "district": "区 District", "address": "地址 Address",
                                        "score": st.column_config.NumberColumn("得分 Score",
                                                                               format="%.2f")})
        if row.get("evidence") is not None and _evidence_text(row.get("evidence")):
            st.caption(f"依据 Evidence: {plain(_evidence_text(row.get('evidence')))}")
        if tied:
            st.warning("前两个候选得分相同 The two best candidates score the same: compare their "
                       "addresses and choose; nothing is pre-selected.", icon=":material/balance:")
        suggested = "" if tied else (row.get("suggested_crm_customer_id") or row.get("crm_customer_id")
                                     or (cands[0].get("crm_customer_id") if cands else "") or "")
        with st.form("decision"):  # widgets keyed per item: another item's choice never carries over
            kind = st.radio("决定 Decision", list(KINDS), format_func=KINDS.get, key=f"kind_{idx}",
                            index=None if tied else 0)
            options = [c.get("crm_customer_id") for c in cands if c.get("crm_customer_id")]
            crm = st.text_input("CRM 客户编码 crm_customer_id (confirm/remap)",
                                value=str(suggested) if not pd.isna(suggested) else "",
                                help="候选 Candidates: " + ", ".join(map(str, options)),
                                key=f"crm_{idx}")
            why = st.text_input("原因 Why", key=f"why_{idx}")
            submitted = st.form_submit_button("保存 Save decision")
        if submitted:
            if kind is None:
                st.error("请选择决定 Choose a decision first.")
            elif kind in ("confirm", "remap") and not crm.strip():
                st.error("确认/改配需要 CRM 客户编码 Confirm and remap need a crm_customer_id.")
            else:
                try:
                    matching.record_decision(
                        kind=kind, source=row.get("source", "flow"),
                        distributor_code=row.get("distributor_code"),
                        buyer_code=row.get("buyer_code", "") or "", raw_name=row.get("raw_name"),
                        crm_customer_id=crm.strip() or None if kind in ("confirm", "remap") else None,
                        why=why.strip())
                except Exception as exc:  # the steward must see why it was not saved
                    st.error(f"未保存 Not saved: {plain(exc)}")
                else:
                    st.success("已保存，将在下次构建时生效 Saved; it applies on the next build "
                               "(`sfe run`).")

st.subheader("决定记录 Decision log (audit)")
try:
    log = matching.decision_log()
    if log.empty:
        st.info("还没有决定 No decisions yet.")
    else:
        # names beside the codes, as in the queue
        crm = matching.customer_addresses([c for c in log["crm_customer_id"].dropna().unique()])
        crm_names = dict(zip(crm["crm_customer_id"], crm["name"], strict=True))
        dist_names, zone = matching.distributor_names(), connection.get_settings().time_zone
        log = log.assign(
            kind=log["kind"].map(lambda k: KINDS.get(k, k)),
            distributor_code=log["distributor_code"].map(lambda c: _named(c, dist_names)),
            crm_customer_id=log["crm_customer_id"].map(lambda c: _named(c, crm_names)),
            at=log["at"].map(lambda t: local_time(t, zone, False)))
        show_table(log, key="decision_log",
                   config={"kind": "决定 Decision", "raw_name": "原始名称 Name as written",
                           "distributor_code": "经销商 Distributor",
                           "buyer_code": "客户编码 Buyer code",
                           "crm_customer_id": "CRM 客户 Customer", "who": "记录人 Who",
                           "at": f"时间 At ({zone})", "why": "原因 Why",
                           "source": "来源 Source", "decision_id": "编号 ID"})
except matching.DecisionsUnreadable as exc:
    st.error(f"决定记录无法读取 The decision log cannot be read: {plain(exc)}",
             icon=":material/error:")
