"""User data is shown as text: a territory or region name holding markdown or HTML never
becomes an image (a request to an outside URL), a link or markup."""

from __future__ import annotations

import re

import duckdb
import pytest
from markdown_it import MarkdownIt

from tests.dashboards.conftest import texts

TRACKER = "![t](http://tracker.example/track.png)"
EVIL = [TRACKER, "[click](http://evil.example)", "<img src=http://x/y.png>",
        ":red[alarm] :material/lock: $x^2$", "**bold** _it_"]


def _render(markdown: str) -> str:
    """Markdown to HTML as a CommonMark renderer does (raw HTML left as text, like Streamlit
    without unsafe_allow_html)."""
    return MarkdownIt("commonmark", {"html": False}).render(markdown)


@pytest.fixture
def evil_names(published):
    """The snapshot with markdown in the national territory's and a region's names."""
    con = duckdb.connect(str(published / "published" / "current.duckdb"))
    try:
        con.execute("update marts.dim_territory set name = ? where territory_id = 'NAT'",
                    [" ".join(EVIL)])
        con.execute("update marts.dim_territory set name = ? where territory_id = 'R-E'",
                    [TRACKER])
    finally:
        con.close()
    return published


@pytest.mark.parametrize("page", ["scorecard", "kpi_explorer"])
def test_names_with_markdown_render_as_plain_text(evil_names, open_page, page):
    at = open_page(page)
    shown = texts(at) + "\n" + "\n".join(e.value for e in at.subheader)
    assert "tracker.example" in shown  # the name is on the page …
    html = _render(shown)
    assert "<img" not in html and "<a " not in html  # … as text, not an image or a link
    assert "<strong>bold</strong>" not in html and "<em>it</em>" not in html
    assert "![t](http://tracker.example/track.png)" in html  # shown exactly as typed
    for bad in (r":red\[", r":material/lock:", r"\$x"):  # Streamlit directives and LaTeX
        assert not re.search(r"(?<!\\)" + bad, shown), bad  # only backslash-escaped


def test_plain_keeps_ordinary_text_readable():
    from dashboards.components import plain

    assert plain("2026-10 08:00 customer_match_rate 上海一区") == \
        "2026-10 08:00 customer_match_rate 上海一区"
    assert _render(plain("- not a list\n# not a heading")).strip() == \
        "<p>- not a list # not a heading</p>"
    assert _render(plain("1. not a list")).strip() == "<p>1. not a list</p>"
