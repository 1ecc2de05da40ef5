"""The scorecard as PDF, drawn with reportlab (pure Python, from PyPI) in an embedded CJK font.

No browser and no system library is needed: the font is WenQuanYi Micro Hei (文泉驿微米黑), shipped
on PyPI by `paperang-p2-fonts-cjk`, a TrueType collection reportlab can embed (subset). It is the
same content as the HTML (`scorecard_context`), laid out for A4: a summary page and one page per
region. Before writing, every character is checked against the font; if one is missing the PDF
is not written and the caller says why — a PDF with empty boxes is worse than none.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

# Debian's fonts-wqy-microhei / fonts-wqy-zenhei, for a machine set up without the PyPI package.
SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def find_cjk_font() -> Path | None:
    """A TrueType font with Chinese glyphs: the PyPI package's, else a Debian one, else None."""
    try:
        path = Path(str(resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))
        if path.is_file():
            return path
    except ModuleNotFoundError:
        pass
    return next((Path(p) for p in SYSTEM_FONTS if Path(p).is_file()), None)


def _font(path: Path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = "SfeCJK-" + "".join(c for c in path.stem if c.isalnum())
    try:  # registered once per process and file
        return pdfmetrics.getFont(name)
    except KeyError:
        font = TTFont(name, str(path), subfontIndex=0)
        pdfmetrics.registerFont(font)
        return font


def _missing_glyphs(font, texts: Iterable[str]) -> list[str]:
    covered = font.face.charToGlyph
    return sorted({ch for text in texts for ch in text
                   if not ch.isspace() and ord(ch) not in covered})


def _texts(context: dict[str, Any]) -> list[str]:
    out = [str(context.get(k, "")) for k in ("company", "status_text", "as_of", "snapshot_id",
                                             "published_at", "generated_at")]
    out += [f"{zh} {en}" for _, zh, en in context["fields"]]
    for r in context["regions"]:
        out += [str(r["name"]), str(r["region_id"]), str(r["data_status"]), *r["vals"].values()]
    return out + [t for row in _SUMMARY_HEAD for t in row] + [_WITHHELD]


_SUMMARY_HEAD = [("大区", "Region"), ("流向销售额", "Sell-out"), ("增长", "Growth"),
                 ("月达成", "MTD"), ("年达成", "YTD"), ("覆盖率", "Coverage"),
                 ("数据状态", "Status")]
_WITHHELD = "未通过质量门，数字不显示 withheld: failed the gates"
_STATUS_COLOURS = {"ok": ("#e3f9e5", "#31b237"), "bad": ("#ffe3e3", "#e12d39"),
                   "warn": ("#fffbea", "#f0b429")}


def write_pdf(context: dict[str, Any], path: Path, font_path: Path | None = None) -> str | None:
    """Write the scorecard PDF to `path` (atomically); None on success, else why not."""
    note = _write(context, path, font_path or find_cjk_font())
    if note is not None:  # never leave last week's PDF to be mailed as this week's
        path.unlink(missing_ok=True)
    return note


def _write(context: dict[str, Any], path: Path, font_path: Path | None) -> str | None:
    if font_path is None:
        return ("PDF unavailable: no Chinese font found (the package paperang-p2-fonts-cjk is "
                "not installed; run `bin/sfe` once to set up the environment, or install "
                "Debian's fonts-wqy-microhei)")
    try:
        font = _font(font_path)
    except Exception as exc:  # a damaged or non-TrueType font file: say which
        return f"PDF unavailable: cannot use the font {font_path} ({exc})"
    missing = _missing_glyphs(font, _texts(context))
    if missing:
        return (f"PDF unavailable: the font {font_path.name} has no glyph for "
                f"{''.join(missing[:20])!r}; the HTML scorecard shows them")
    tmp = path.with_name(path.name + ".tmp")
    _build(context, tmp, font.fontName)
    tmp.replace(path)
    return None


def _styles(font_name: str):
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=font_name, fontSize=9, leading=12,
                          textColor="#1f2933", wordWrap="CJK")
    return {
        "base": base,
        "h1": ParagraphStyle("h1", parent=base, fontSize=17, leading=22, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontSize=15, leading=20, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, textColor="#52606d", spaceAfter=8),
        "foot": ParagraphStyle("foot", parent=base, fontSize=7.5, textColor="#9aa5b1",
                               spaceBefore=10),
        "right": ParagraphStyle("right", parent=base, alignment=2),
        # headers break between the Chinese and the English label, never inside a word
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=10, wordWrap=None),
        "head_r": ParagraphStyle("head_r", parent=base, fontSize=8, leading=10, wordWrap=None,
                                 alignment=2),
        "muted": ParagraphStyle("muted", parent=base, textColor="#9aa5b1"),
    }


def _p(text: Any, style) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(text)), style)  # data is text, never markup


def _head(zh: str, en: str, style) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(f"{escape(zh)}<br/>{escape(en)}", style)


def _status_box(text: str, cls: str, s) -> Any:
    from reportlab.platypus import Table, TableStyle

    bg, border = _STATUS_COLOURS.get(cls, _STATUS_COLOURS["warn"])
    box = Table([[_p(f"数据状态 Data status: {text}", s["base"])]], colWidths=["100%"])
    box.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), bg),
                             ("BOX", (0, 0), (-1, -1), 1.5, border),
                             ("TOPPADDING", (0, 0), (-1, -1), 6),
                             ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    box.spaceAfter = 8
    return box


def _grid(rows: list[list[Any]], widths: list[float]) -> Any:
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), "#f0f4f8"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.5, "#d9e2ec"),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _summary(context: dict[str, Any], s) -> list[Any]:
    head = [_head(zh, en, s["head"] if i in (0, 6) else s["head_r"])
            for i, (zh, en) in enumerate(_SUMMARY_HEAD)]
    rows = [head]
    for r in context["regions"]:
        if r["withheld"]:
            cells = [_p(_WITHHELD, s["muted"])] + [""] * 4
        else:
            cells = [_p(r["vals"][k], s["right"]) for k in
                     ("sell_out_amount", "growth", "mtd_achievement_rate",
                      "ytd_achievement_rate", "coverage_rate")]
        rows.append([_p(r["name"], s["base"]), *cells, _p(r["data_status"], s["base"])])
    return [
        _p(f"{context['company']} 经营周报 Weekly scorecard", s["h1"]),
        _p(f"周 Week {context['week_start']} – {context['week_end']} · 数据截至 As of "
           f"{context['as_of']} · 快照 Snapshot {context['snapshot_id']} · 发布 Published "
           f"{context['published_at']}", s["sub"]),
        _status_box(context["status_text"], context["status_class"], s),
        _grid(rows, [90, 80, 55, 55, 55, 60, 110]),
        _p("比率显示为百分比 Rates shown as percentages; amounts in yuan (元); weeks start "
           "Monday (Asia/Shanghai).", s["foot"]),
    ]


def _region(context: dict[str, Any], r: dict[str, Any], s) -> list[Any]:
    rows = [[_p("指标 Measure", s["base"]), _p("本周 This week", s["right"])]]
    for key, zh, en in context["fields"]:
        value = "—" if r["withheld"] and key != "data_status" else r["vals"][key]
        rows.append([_p(f"{zh} {en}", s["base"]), _p(value, s["right"])])
    status = r["data_status"] + (" — 未通过质量门，数字不显示 numbers withheld"
                                 if r["withheld"] else "")
    return [
        _p(f"{r['name']} ({r['region_id']})", s["h2"]),
        _p(f"周 Week {context['week_start']} – {context['week_end']} · 数据截至 As of "
           f"{context['as_of']}", s["sub"]),
        _status_box(status, r["status_class"], s),
        _grid(rows, [300, 200]),
        _p(f"{context['company']} · scorecard_weekly · 生成于 Generated "
           f"{context['generated_at']}", s["foot"]),
    ]


def _build(context: dict[str, Any], path: Path, font_name: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    s = _styles(font_name)
    story = _summary(context, s)
    for r in context["regions"]:
        story += [PageBreak(), *_region(context, r, s)]
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"{context['company']} 经营周报 {context['week_start']}",
                            author=str(context["company"]))
    doc.build(story)
