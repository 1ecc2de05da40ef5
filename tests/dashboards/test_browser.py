"""A real browser (Playwright driving Debian's Chromium) against `sfe serve`'s app on the small
fixture snapshot: sign in, open every page, upload a flow file, save screenshots; fail on any
exception or error box. Skipped, saying why, where Chromium is missing (CI installs
Chromium: .ci/run)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dashboards.scorecard import find_chromium
from dashboards.scorecard_pdf import find_cjk_font
from dashboards.serve import start_server, wait_until_ready
from dashboards.users import User, hash_password, save_users
from sfe.config import Settings
from tests.dashboards.snapshot_fixture import build_snapshot
from tests.dashboards.test_upload import FLOW_CSV

# one Chromium at a time on a small machine; each test walks every page (~45 s)
pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.slow]

PASSWORD = "browser test pw 1"
# every page of the navigation is visited (read from the sidebar, so a new page is included);
# these must be among them
EXPECTED = ["经营周报 Executive scorecard", "指标浏览 KPI explorer", "渠道库存 Channel inventory",
            "数据加载 Loads", "客户匹配 Matching", "数据质量 Data quality"]


@pytest.fixture(scope="session")
def browser_type_launch_args(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """pytest-playwright launches this Chromium instead of downloading its own, with the
    scorecard's Chinese font added to fontconfig: a bare CI machine has no CJK font, and
    screenshots of tofu boxes cannot be checked by eye."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium installed (apt-get install chromium); the browser test needs "
                    "/usr/bin/chromium")
    env = dict(os.environ)
    font = find_cjk_font()
    if font is not None:
        conf = tmp_path_factory.mktemp("fontconfig") / "fonts.conf"
        conf.write_text(
            '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
            '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
            f"<dir>{font.parent}</dir><cachedir>{conf.parent / 'cache'}</cachedir></fontconfig>",
            encoding="utf-8")
        env["FONTCONFIG_FILE"] = str(conf)
    return {"executable_path": chromium, "args": ["--no-sandbox", "--disable-gpu"], "env": env}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Settings]]:
    """The dashboards with login on, one sales_ops user, on the fixture snapshot."""
    for name in ("SFE_CONFIG", "SFE_ACCESS_CONTROL", "SFE_INBOX", "SFE_MAPPINGS_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = replace(settings, access_control=True)
    build_snapshot(settings.published_db)
    save_users(settings, {"ops": User("ops", "sales_ops", (), hash_password(PASSWORD))})
    port = _free_port()
    proc = start_server(settings, port)
    try:
        wait_until_ready(port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}", settings
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _settled(page) -> None:
    """Wait until the script run is over: no running indicator and no skeleton, twice in a row
    half a second apart (a rerun can start right after a click has been handled)."""
    idle = ("() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]') "
            "&& !document.querySelector('[data-testid=\"stSkeleton\"]')")
    for _ in range(2):
        page.wait_for_timeout(500)
        page.wait_for_function(idle, timeout=30_000)


def _nav(page, title: str):
    return page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)


def _problems(page) -> list[str]:
    boxes = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [boxes.nth(i).inner_text()[:300] for i in range(boxes.count())]


def _sign_in(page, url: str) -> list[str]:
    """Signs in as ops; the pages' titles as the navigation lists them."""
    page.goto(url)
    page.get_by_label("用户名 Login").fill("ops")
    page.get_by_label("密码 Password").fill(PASSWORD)
    page.get_by_role("button", name="登录 Sign in").click()
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=30_000)
    return [t.strip().splitlines()[-1].strip()  # the text after the icon's name
            for t in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def _every_tab(page, titles: list[str]):
    """Opens every page and each of its tabs in turn; yields a label for each view shown."""
    for title in titles:
        _nav(page, title).click()
        page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
        _settled(page)
        tabs = page.get_by_role("tab")
        for k in range(max(1, tabs.count())):
            if k:
                tabs.nth(k).click()
                _settled(page)
            yield f"{title} tab {k}"


def test_sign_in_visit_every_page_and_upload_in_a_real_browser(server, page, tmp_path: Path):
    url, settings = server
    requested: list[str] = []  # every URL the browser asks for: none may leave the machine
    page.on("request", lambda r: requested.append(r.url))
    # tall: Streamlit scrolls inside its own container, so full_page alone shows one screen
    page.set_viewport_size({"width": 1400, "height": 3000})
    titles = _sign_in(page, url)
    assert set(EXPECTED) <= set(titles), titles
    seen: dict[str, list[str]] = {}
    for n, title in enumerate(titles):
        _nav(page, title).click()
        page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
        _settled(page)
        page.screenshot(path=str(tmp_path / f"{n}-{title.split()[-1].lower()}.png"),
                        full_page=True)
        seen[title] = _problems(page)
    assert not {p: found for p, found in seen.items() if found}, seen
    # no font, icon or usage ping from outside, and no Deploy button in the toolbar
    assert any(u.startswith(url) for u in requested)  # the listener did see the app's requests
    assert [u for u in requested if not u.startswith((url, "data:", "blob:"))] == []
    assert page.get_by_role("button", name="Deploy").count() == 0

    # the upload: preview, then into the inbox (Loads page)
    _nav(page, "数据加载 Loads").click()
    page.get_by_role("heading", name="数据加载 Loads").wait_for()
    _settled(page)
    # the Excel download is built on click: it must still arrive, as a workbook
    with page.expect_download(timeout=30_000) as got:
        page.get_by_role("button", name="Excel").first.click()
    assert Path(got.value.path()).read_bytes()[:2] == b"PK"
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "D001_2026-10.csv", "mimeType": "text/csv", "buffer": FLOW_CSV}])
    page.get_by_text("部分加载 Would load in part").wait_for(timeout=30_000)
    _settled(page)
    page.get_by_role("button", name="放入收件箱 Put it in the inbox").click()
    page.get_by_text("已放入收件箱 Saved as").wait_for(timeout=30_000)
    _settled(page)
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
    assert _problems(page) == []
    assert (settings.inbox / "flow" / "D001" / "D001_2026-10.csv").read_bytes() == FLOW_CSV
    if os.environ.get("SFE_SCREENSHOTS"):  # keep them for a person to look at
        Path(os.environ["SFE_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shot.replace(Path(os.environ["SFE_SCREENSHOTS"]) / shot.name)


# a headline number or a download button whose text overflows its box: Streamlit cuts it with an
# ellipsis ("¥1,23…", "C."), so the reader sees a different number or no label
_CUT = """() => [...document.querySelectorAll(
    '[data-testid="stMetricValue"], [data-testid="stDownloadButton"] button, '
    + '[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]')]
  .filter(e => [e, ...e.querySelectorAll('*')].some(x => x.scrollWidth > x.clientWidth + 1))
  .map(e => e.innerText.trim())"""


# a table whose columns are wider than the page scrolls sideways: the reader sees half the
# columns and must find the scroll bar (the grid draws on a canvas inside .dvn-scroller)
_WIDE = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
  .map(e => e.querySelector('.dvn-scroller'))
  .filter(s => s && s.scrollWidth > s.clientWidth + 1)
  .map(s => s.scrollWidth + ' > ' + s.clientWidth)"""


# a grid takes its new width a few frames after its box did (React measures, then redraws): one
# that overflows while narrower than its box is still at the old width. CI once measured the
# KPI explorer's grid at 1024 px widths 400 ms after the resize to 1440 ('907 > 562').
_GRIDS_CAUGHT_UP = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
  .every(e => { const s = e.querySelector('.dvn-scroller');
                const box = e.closest('[data-testid="stElementContainer"]') || e.parentElement;
                return !s || s.scrollWidth <= s.clientWidth + 1 || e.clientWidth >= box.clientWidth - 1; })"""


def _measured_at(page, width: int, script: str) -> list[str]:
    """`script`'s findings once the page is laid out at `width` px (a resize re-lays out the
    columns and the grids' canvases; no script rerun). A grid narrower than its box by design
    never catches up: after 10 s it is measured as it is."""
    page.set_viewport_size({"width": width, "height": 3000})
    page.wait_for_timeout(100)  # the resize reaches the page's layout
    try:
        page.wait_for_function(_GRIDS_CAUGHT_UP, timeout=10_000, polling=50)
    except PlaywrightTimeout:
        pass
    return page.evaluate(script)


def test_nothing_is_cut_at_1024_px_and_no_table_scrolls_sideways_at_1440_px(server, page):
    """One walk over every page and tab, each view measured at two widths (a walk costs ~40 s):
    - at 1024 px (a laptop, the sidebar open) the scorecard's fifths of the page cut
      '¥1,234,567' to '¥1,2…' and the CSV/Excel buttons to 'C.' / 'E.'; a metric's label
      neither ('目标医生覆盖 Target HCP…', '24小时内提交 Reported w…');
    - at 1440 px with the sidebar open the main column is ~980 px: the scorecard's detail
      (1,400 px of bilingual headers), tender lines and the files list scrolled sideways."""
    url, _ = server
    page.set_viewport_size({"width": 1024, "height": 3000})
    cut: dict[str, list[str]] = {}
    wide: dict[str, list[str]] = {}
    checked = 0
    for view in _every_tab(page, _sign_in(page, url)):
        if found := _measured_at(page, 1024, _CUT):
            cut[view] = found
        if found := _measured_at(page, 1440, _WIDE):
            wide[view] = found
        checked += page.locator('[data-testid="stDataFrame"] .dvn-scroller').count()
        page.set_viewport_size({"width": 1024, "height": 3000})  # the next view opens at 1024
    assert checked > 10  # the tables were drawn and measured
    assert cut == {}, "cut at 1024 px"
    assert wide == {}, "scrolls sideways at 1440 px"
