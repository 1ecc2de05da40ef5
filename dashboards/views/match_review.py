"""客户匹配 Matching: the stewards' review queue (confirm / reject / remap suggested matches) and
the audit log of decisions. Decisions go through `matching.stewardship` and apply on the next build."""

import json

import pandas as pd
import streamlit as st

from dashboards import auth, data
from dashboards.components import company_wide_page, download_table, plain, unavailable

st.title("客户匹配 Matching")
company_wide_page(False, "匹配审核仅对数据管理员开放 The review queue is for data stewards who see "
                         "every territory.")

KINDS = {"confirm": "确认 Confirm suggested match", "remap": "改配 Remap to another customer",
         "reject": "拒绝 Reject (no match)", "new_customer": "新客户 New customer"}


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


def _label(row: pd.Series) -> str:
    dist = row.get("distributor_code") or ""
    score = row.get("match_score")
    score = f" · {float(score):.2f}" if score is not None and not pd.isna(score) else ""
    return f"{dist} · {row.get('raw_name')}{score}"


queue = None
author = auth.decision_author(data.get_settings())  # None: this session may not record
writable = True
try:
    queue = data.review_queue()
except (data.StewardshipMissing, data.DataUnavailable) as exc:
    writable = False
    st.warning(f"{exc}", icon=":material/construction:")
    try:
        queue = data.review_queue_from_snapshot()
    except data.DataUnavailable as exc2:
        unavailable(exc2)

st.subheader("待审核 Review queue")
if queue is None or queue.empty:
    st.success("没有待审核的匹配 Nothing waiting for review.")
else:
    st.metric("待审核 Waiting", len(queue))
    shown = queue.copy()
    if "candidates" in shown:
        shown["candidates"] = shown["candidates"].map(
            lambda v: "; ".join(f"{c.get('crm_customer_id')} {c.get('name', '')} "
                                f"({c.get('score', '')})" for c in _candidates(v)[:3]))
    first = [c for c in ("source", "distributor_code", "buyer_code", "raw_name", "candidates",
                         "match_score", "match_method", "pending_decision") if c in shown]
    st.dataframe(shown[first], hide_index=True, key="queue_table",
                 column_config={"distributor_code": "经销商 Distributor",
                                "buyer_code": "客户编码 Buyer code", "raw_name": "原始名称 Raw name",
                                "candidates": "候选 Candidates (top 3)",
                                "match_score": st.column_config.NumberColumn("得分 Score",
                                                                             format="%.2f"),
                                "match_method": "方法 Method",
                                "pending_decision": "待生效决定 Pending decision"})
    download_table(shown[first], "review-queue", "queue_dl")

    if writable and author is None:
        st.info("只有数据管理员可以记录决定 Only a signed-in steward records match decisions "
                "(with login off: only on a server bound to this machine).",
                icon=":material/lock:")
    elif writable:
        st.subheader("记录决定 Record a decision")
        st.caption(f"记录为 Recorded as: {plain(author)}")
        idx = st.selectbox("待审核名称 Raw name", list(range(len(queue))),
                           format_func=lambda i: _label(queue.iloc[i]), key="item")
        row = queue.iloc[idx]
        cands = _candidates(row.get("candidates"))
        suggested = (row.get("suggested_crm_customer_id") or row.get("crm_customer_id")
                     or (cands[0].get("crm_customer_id") if cands else "") or "")
        if cands:
            st.dataframe(pd.DataFrame(cands), hide_index=True, key="candidates_table",
                         column_config={"crm_customer_id": "CRM 客户编码", "name": "名称 Name",
                                        "city": "城市 City", "score": "得分 Score"})
        with st.form("decision"):
            kind = st.radio("决定 Decision", list(KINDS), format_func=KINDS.get, key="kind")
            options = [c.get("crm_customer_id") for c in cands if c.get("crm_customer_id")]
            crm = st.text_input("CRM 客户编码 crm_customer_id (confirm/remap)",
                                value=str(suggested) if not pd.isna(suggested) else "",
                                help="候选 Candidates: " + ", ".join(map(str, options)), key="crm")
            why = st.text_input("原因 Why", key="why")
            submitted = st.form_submit_button("保存 Save decision")
        if submitted:
            if kind in ("confirm", "remap") and not crm.strip():
                st.error("确认/改配需要 CRM 客户编码 Confirm and remap need a crm_customer_id.")
            else:
                try:
                    data.record_decision(
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
    log = data.decision_log()
    if log.empty:
        st.info("还没有决定 No decisions yet.")
    else:
        st.dataframe(log, hide_index=True, key="decision_log")
except data.StewardshipMissing as exc:
    st.caption(str(exc))
