"""The Loads page's upload form (UI only): the preview and the Put button; the work is in
`dashboards.upload`."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dashboards import connection, upload
from dashboards.components import plain, unavailable

PREVIEW_STATUS = {"loaded": "可加载 Would load", "partial": "部分加载 Would load in part",
                  "rejected": "会被拒绝 Would be rejected"}
BUYER_COLUMNS = {
    "buyer_name": "购买方 Buyer", "buyer_code": "编码 Code", "buyer_address": "地址 Address",
    "rows": "行数 Rows", "amount": st.column_config.NumberColumn("金额 Amount", format="¥%,.0f"),
    "match_status": "匹配 Match", "crm_customer_id": "客户 Customer",
    "match_score": "得分 Score", "seen": "依据 Basis"}
MATCH_LABELS = {"auto": "自动匹配 auto", "confirmed": "已确认 confirmed", "review": "待审核 review",
                "unmatched": "未匹配 unmatched", "rejected": "已拒绝 rejected",
                "unknown": "下次运行时匹配 matched at the next run"}
ROW_LABELS = {  # flow fields (ingestion.sources.FLOW) as a person reads them
    "source_row": "行 Row", "sheet": "工作表 Sheet", "distributor_code": "经销商 Distributor",
    "sale_date": st.column_config.DateColumn("销售日期 Sale date", format="YYYY-MM-DD"),
    "buyer_code": "客户编码 Buyer code", "buyer_name": "客户名称 Buyer",
    "buyer_address": "地址 Address", "product_name": "产品 Product", "spec": "规格 Spec",
    "manufacturer": "厂家 Manufacturer", "batch_no": "批号 Batch",
    "expiry_date": st.column_config.DateColumn("有效期 Expiry", format="YYYY-MM-DD"),
    "quantity": "数量 Quantity", "unit": "单位 Unit", "raw_unit": "原单位 Unit as sent",
    "unit_price": "单价 Unit price", "amount": st.column_config.NumberColumn(
        "金额 Amount", format="¥%,.2f"), "doc_type": "类型 Type"}


def _preview(settings, code: str, name: str, raw: bytes, codes: list[str]):
    """The preview, kept for this file across reruns (the Put click reruns the page)."""
    key = (hashlib.sha256(raw).hexdigest(), code, name)
    held = st.session_state.get("_upload_preview")
    if held is None or held[0] != key:
        held = (key, upload.preview(settings, code, name, raw, codes))
        st.session_state["_upload_preview"] = held
    return held[1]


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns the file filled (an all-empty column says nothing), empty text as blank."""
    frame = frame.dropna(axis=1, how="all")
    text = frame.select_dtypes(include="object").columns
    return frame.assign(**{c: frame[c].fillna("") for c in text})


def _buyers(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(
        match_status=frame["match_status"].map(lambda s: MATCH_LABELS.get(s, s)),
        match_score=frame["match_score"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        seen=frame["seen"].map({"matched before": "已匹配过 matched before",
                                "new name": "新名称 new name"}).fillna(""))
    return _shown(frame)


def _show_preview(p) -> None:
    (st.error if p.status == "rejected" else st.success)(
        f"{PREVIEW_STATUS[p.status]}: {plain(p.file_name)} → inbox/flow/{plain(p.distributor_code)}/")
    if p.already_ingested:
        st.warning("同一文件已加载过 The same bytes were already ingested as "
                   f"{plain(p.already_ingested)}; loading it again adds nothing.")
    m = st.columns(4)
    m[0].metric("读取行 Rows read", f"{p.rows_read:,}")
    m[1].metric("可加载行 Rows that would load", f"{p.rows_loaded:,}")
    m[2].metric("隔离行 Rows quarantined", f"{p.rows_quarantined:,}")
    m[3].metric("购买方 Distinct buyers", f"{len(p.buyers):,}")
    for reason in p.reasons:
        st.caption(plain(reason))
    if len(p.quarantined):
        more = f" (first {upload.SHOWN_ROWS:,})" if p.rows_quarantined > upload.SHOWN_ROWS else ""
        st.markdown(f"**隔离行及原因 Quarantined rows and why{more}**")
        st.dataframe(_shown(p.quarantined), hide_index=True, key="upload_quarantine",
                     column_config={"source_row": "行 Row", "sheet": "工作表 Sheet",
                                    "reason": st.column_config.TextColumn("原因 Reason",
                                                                          width="large"), "column_name": "列 Column",
                                    "raw_values": "原始内容 As sent"})
    if len(p.buyers):
        st.markdown("**购买方匹配 Buyers: would they match?**")
        if p.buyer_note:
            st.caption(plain(p.buyer_note))
        st.dataframe(_buyers(p.buyers), hide_index=True, key="upload_buyers",
                     column_config=BUYER_COLUMNS)
    if len(p.loaded):
        st.markdown("**可加载行（前200行）Rows that would load (first 200)**")
        st.dataframe(_shown(p.loaded.head(200)), hide_index=True, key="upload_rows",
                     column_config=ROW_LABELS)


def upload_section() -> None:
    """The form: who may, distributor, file, the preview, and the Put button."""
    settings = connection.get_settings()
    author = upload.upload_author(settings)
    if author is None:
        st.info("仅商务/流向专员与数据管理员可上传 Only sales ops (sales_ops) and stewards may "
                "upload flow files; sign in with such a user.")
        return
    try:
        choices = upload.distributor_choices(settings)
    except connection.DataUnavailable as exc:
        unavailable(exc)
        return
    code = st.selectbox("经销商 Distributor", list(choices), format_func=choices.get,
                        key="upload_distributor")
    file = st.file_uploader(f"流向文件 Flow file (CSV/TXT/Excel, ≤ {upload.MAX_UPLOAD_BYTES // 2**20}"
                            " MB)", type=[e.lstrip(".") for e in upload.ALLOWED_EXTENSIONS],
                            key="upload_file",
                            # the widget says this limit too, not Streamlit's default 200 MB
                            max_upload_size=upload.MAX_UPLOAD_BYTES // 2**20)
    if file is None or code is None:
        return
    raw = file.getvalue()
    try:
        p = _preview(settings, code, file.name, raw, list(choices))
    except upload.UploadRefused as exc:
        st.error(f"不能上传 Cannot upload: {plain(exc)}")
        return
    _show_preview(p)
    if st.button("放入收件箱 Put it in the inbox", key="upload_put", type="primary",
                 disabled=p.status == "rejected"):
        try:
            target = upload.put_in_inbox(settings, code, file.name, raw, list(choices), author)
        except (upload.UploadRefused, OSError) as exc:
            st.error(f"未保存 Not saved: {plain(exc)}")
            return
        st.success(f"已放入收件箱 Saved as {plain(target.relative_to(settings.inbox))}; the next "
                   "`sfe ingest` (or pipeline run) loads it.")
