"""The entry file: st.navigation lists every page, opens on the scorecard, reaches each page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboards.conftest import APP

PAGES = {
    "scorecard": "经营周报 Executive scorecard", "kpi_explorer": "指标浏览 KPI explorer",
    "inventory": "渠道库存 Channel inventory", "tenders": "招标 Tenders", "loads": "数据加载 Loads",
    "match_review": "客户匹配 Matching", "data_quality": "数据质量 Data quality",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory, snapshot_files):
    import shutil

    data = tmp_path_factory.mktemp("nav") / "data"
    (data / "published").mkdir(parents=True)
    shutil.copyfile(snapshot_files["good"], data / "published" / "current.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SFE_DATA_DIR", str(data))
        for name in ("SFE_CONFIG", "SFE_ACCESS_CONTROL"):
            mp.delenv(name, raising=False)
        from streamlit import config

        before = config.get_option("server.address")
        config.set_option("server.address", "127.0.0.1")  # as `sfe serve` binds it
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.run()
        yield at, mp
        config.set_option("server.address", before)


def test_app_opens_on_the_executive_scorecard(app):
    at, _ = app
    assert not at.exception
    assert at.title[0].value == PAGES["scorecard"]


@pytest.mark.parametrize("page", list(PAGES))
def test_app_navigates_to_every_page(app, page):
    at, _ = app
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == PAGES[page]
    assert at.success and "2026-10" in at.success[0].value  # the status banner, as of month


def test_no_page_file_shadows_a_project_package():
    """A page script's folder is on sys.path when it runs; views/quality.py once made
    `import quality.published` execute the Data quality page inside another page."""
    from tests.dashboards.conftest import VIEWS

    packages = {"sfe", "ingestion", "matching", "quality", "generator", "dashboards", "dags"}
    assert not {p.stem for p in VIEWS.glob("*.py")} & packages


def _signed_in_app(data_dir, monkeypatch, login: str, role: str,
                   territories: tuple[str, ...] = ()) -> AppTest:
    from tests.dashboards.conftest import add_user, sign_in

    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(data_dir, login, role, territories)
    at = AppTest.from_file(str(APP), default_timeout=30)
    sign_in(at, login)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["inventory", "tenders", "loads", "match_review",
                                  "data_quality"])
def test_a_reps_navigation_does_not_list_the_company_wide_pages(published, monkeypatch, page):
    """README: for a rep or district manager the distributor and system pages are hidden; the
    navigation listed them and each opened on 'shown to users who see every territory'."""
    at = _signed_in_app(published, monkeypatch, "li", "rep", ("T-SH1",))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"views/{page}.py")
    at.switch_page("views/kpi_explorer.py").run()
    assert at.title[0].value == PAGES["kpi_explorer"]


def test_sales_ops_navigation_lists_every_page(published, monkeypatch):
    at = _signed_in_app(published, monkeypatch, "ops", "sales_ops")
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert at.title[0].value == PAGES[page]
