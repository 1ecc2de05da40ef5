"""UI pieces every page shares: the data-status banner, the refusal, number formats.

No queries here: everything comes from `dashboards.queries` and `dashboards.status`.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import access, connection, status, territories
from dashboards.export import to_csv_bytes, to_excel_bytes
from dashboards.formats import PCT_AXIS, PCT_DIGITS, PCT_STEP, fmt_num, fmt_pct, local_time
from dashboards.formats import fmt_yuan as fmt_yuan  # the pages import the formats from here

# what markdown, Streamlit directives (:red[..], :material/..:), LaTeX ($) or HTML act on
# anywhere in a line; a backslash makes each literal (CommonMark escapes). A list marker
# (-, +, "1.") only acts at the start, so only there is it escaped: dates keep their dashes.
# `_` inside a word (customer_match_rate) and `:` before a non-letter (08:00) act on nothing.
_MARKUP = re.compile(r"([\\`*{}\[\]()#!|<>$~&^]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|:(?=[A-Za-z]))")
_LIST_START = re.compile(r"^(\d+)([.)])|^([-+])")


def plain(value: Any) -> str:
    """User data (territory names, file names, reasons) to put inside a markdown string: shown
    exactly as typed, never as a link, an image (a request to an outside URL) or HTML."""
    text = _MARKUP.sub(r"\\\1", " ".join(str(value).split()))
    return _LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


# a metric box's width in px: holds '¥9,999,999' at st.metric's size; five fit side by side
# on a 1440 px screen, three at 1024 px (a longer value, such as a time, takes width="content")
METRIC_WIDTH = 170


def metric_row() -> Any:
    """A row for st.metric boxes (`.metric(..., width=METRIC_WIDTH)`) that wraps onto the next
    line on a narrow page: st.columns gives each a fixed share of the page, and a metric cuts
    its value at the box's edge ('¥3,71…' at 1024 px)."""
    return st.container(horizontal=True, wrap=True, gap="small")


def download_table(df: pd.DataFrame, name: str, key: str) -> None:
    """CSV and Excel downloads of a table as shown (already limited to what the user may
    see), with formula cells quoted; the table toolbar's own export is off (`sfe serve`)."""
    # side by side at their own width: columns of a fixed share cut them to "C." at 1024 px
    c = st.container(horizontal=True, gap="small")
    c.download_button("CSV", to_csv_bytes(df), file_name=f"{name}.csv", mime="text/csv",
                      key=f"{key}_csv", icon=":material/download:")
    # the workbook is built on click (a callable runs then): openpyxl takes seconds for a few
    # thousand rows, which every rerun of the page paid before (bench/bench_pages.py)
    c.download_button("Excel", lambda: to_excel_bytes(df), file_name=f"{name}.xlsx",
                      key=f"{key}_xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      icon=":material/download:")


def readable(df: pd.DataFrame, config: dict[str, Any], days: tuple[str, ...] = (),
             zone: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A table and its column_config as a person should read them: the grid shows a missing
    cell as `None`, so a column with gaps becomes text with '—' for them; times are shown to
    the minute (`days` columns as dates), never with `00:00:00`, and in `zone` when given (the
    tables' times are the audit's UTC; the banner says the zone). A percent or money format in
    `config` is kept in the text. Columns without gaps and times stay typed (they sort).
    Percent columns are rounded to what they show: the grid cuts a value to its column's
    `step` (0.7648 → 76.4%), a metric box rounds it (76.5%)."""
    out, cfg = df.copy(), dict(config)
    for col in out.columns:
        spec = cfg.get(col)
        label = spec.get("label") if isinstance(spec, dict) else spec
        width = spec.get("width") if isinstance(spec, dict) else None  # kept when retyped
        fmt = ((spec.get("type_config") or {}).get("format") if isinstance(spec, dict) else None)
        if fmt == "percent" and pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].round(PCT_DIGITS + 2)
        values = out[col]
        if col in days or pd.api.types.is_datetime64_any_dtype(values):
            if col in days or zone is None:
                pattern = "%Y-%m-%d" if col in days else "%Y-%m-%d %H:%M"
                out[col] = values.map(lambda v, p=pattern: _stamp(v, p))
                cfg[col] = st.column_config.TextColumn(label, width=width)
            else:
                out[col] = values.map(lambda v: local_time(v, zone, named=False))
                cfg[col] = st.column_config.TextColumn(label, width=width,
                                                       help=f"{zone} 时间 time")
        elif values.isna().any() and pd.api.types.is_numeric_dtype(values):
            out[col] = values.map(lambda v, f=fmt: _number(v, f))
            cfg[col] = st.column_config.TextColumn(label, width=width, alignment="right")
        elif values.isna().any():
            out[col] = values.map(lambda v: "—" if _missing(v) else v)
    return out, cfg


def show_table(df: pd.DataFrame, config: dict[str, Any], key: str,
               days: tuple[str, ...] = ()) -> None:
    """st.dataframe of `readable(df, config, days)`, times in the configured zone, without
    the index."""
    table, cfg = readable(df, config, days, zone=connection.get_settings().time_zone)
    st.dataframe(table, hide_index=True, key=key, column_config=cfg)


def _number(value: Any, fmt: str | None) -> str:
    """A number as the column's format would show it ('percent' or printf such as '¥%,.2f')."""
    if _missing(value):
        return "—"
    if fmt == "percent":
        return fmt_pct(value)
    m = re.fullmatch(r"(.*)%(,?)\.(\d+)f(.*)", fmt or "")
    if m is None:
        return fmt_num(value, 0 if float(value).is_integer() else 2)
    return f"{m[1]}{float(value):{m[2]}.{m[3]}f}{m[4]}"


def _stamp(value: Any, pattern: str) -> str:
    if _missing(value):
        return "—"
    try:
        return pd.Timestamp(value).strftime(pattern)
    except (ValueError, TypeError):  # not a time (a label such as 'n/a'): as written
        return str(value)


def _missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def pct_column(label: str, progress: bool = False, **kwargs: Any) -> Any:
    """The column_config of every rate and achievement column: a number (it sorts) shown as a
    percent with `PCT_DIGITS` decimals, like `fmt_pct` in metric boxes and the e-mail;
    `progress` draws it as a bar from 0 to 100 %."""
    if progress:
        return st.column_config.ProgressColumn(label, format="percent", step=PCT_STEP,
                                               min_value=0, max_value=1, **kwargs)
    return st.column_config.NumberColumn(label, format="percent", step=PCT_STEP, **kwargs)


def percent_axis(fig: Any, axis: str = "y") -> Any:
    """A plotly figure's rate axis (ticks and hover) in the pages' percent format."""
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    return update(tickformat=PCT_AXIS, hoverformat=PCT_AXIS)


def status_banner(kpi_page: bool = True) -> dict | None:
    """Data status and as-of date at the top of a page.

    Returns the status dict when the page may show numbers; on a KPI page whose snapshot failed a
    blocking gate it shows the refusal and returns None (the page then stops). Returns None too
    when nothing is published or the user has no access.
    """
    try:
        s = status.status()
    except connection.DataUnavailable as exc:
        st.warning(f"暂无发布数据 · {plain(exc)}")
        return None
    if not s["available"]:
        st.warning(f"暂无发布数据 No published data · {plain(s['message'])}")
        return None
    as_of = s.get("as_of_date") or s.get("as_of_month")
    as_of = str(as_of)[:10] if as_of is not None else "—"
    zone = connection.get_settings().time_zone
    line = (f"**数据截至 As of:** {plain(as_of)} · "
            f"**发布于 Published:** {plain(local_time(s.get('published_at'), zone))} · "
            f"**质量门 Quality gates:** {plain(status.gate_status_words(s.get('gate_status')))} · "
            f"**快照 Snapshot:** {plain(s.get('snapshot_id') or '—')}")
    if s["refuse"]:
        failed = plain("; ".join(s.get("blocking_failure_titles") or s["blocking_failures"])
                       or "质量门状态为未通过 the gate run failed")
        st.error(f"数据未通过质量门 The numbers failed a blocking quality check: {failed}\n\n{line}",
                 icon=":material/block:")
    else:
        st.success(f"数据状态正常 Data status OK · {line}", icon=":material/verified:")
    refused = s.get("last_refused")
    if refused and not s["refuse"]:
        st.warning("显示的是最近一次通过质量门的快照 Showing the last good snapshot: the latest "
                   f"publish was refused — {plain(_describe(refused, zone))}", icon=":material/history:")
    elif refused:
        st.caption(f"最近一次被拒绝的发布 Last refused publish: {plain(_describe(refused, zone))}")
    acc = access.access()
    if acc.restricted and not acc.allowed:
        st.error(f"无权限 No access · {acc.reason}", icon=":material/lock:")
        return None
    if acc.restricted:
        st.caption(f"权限 Access: {plain(acc.user)} → {plain(territory_label(acc.territory_id))} "
                   "(and territories below)")
    if s["refuse"] and kpi_page:
        st.info("本页不显示未通过质量门的数字。See 数据质量 Data quality for the failing checks; "
                "the numbers return after the next run passes the gates.")
        return None
    return s


def territory_label(ids: str | None) -> str:
    """A user's territories ('D-07, T-029', as access.Access holds them) by name and id:
    '湖北地区 (D-07), 武汉1组 (T-029)'; an id not in dim_territory as written."""
    names = territories.region_names()
    return ", ".join(f"{names[t]} ({t})" if t in names else t
                     for t in (x.strip() for x in str(ids or "").split(",")) if t)


def company_wide_page(kpi_page: bool, why: str) -> dict:
    """The data-status banner, then the page only for users who see every territory (`why`
    tells the others); stops the script when either says no. Returns the data status."""
    shown = status_banner(kpi_page=kpi_page)
    if shown is None:
        st.stop()
    if not access.is_unrestricted():
        st.info(why)
        st.stop()
    return shown


def _describe(refused: Any, zone: str) -> str:
    if isinstance(refused, dict):
        when = (refused.get("at") or refused.get("attempted_at") or refused.get("checked_at")
                or refused.get("finished_at"))
        why = refused.get("why") or refused.get("reason") or refused.get("message") or ""
        run = refused.get("run_id") or ""
        return " · ".join(str(x) for x in (local_time(when, zone) if when else "", run, why) if x)
    return str(refused)


def unavailable(exc: Exception) -> None:
    st.info(f"{exc}", icon=":material/info:")
