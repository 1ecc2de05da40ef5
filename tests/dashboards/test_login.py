"""Login and identity: nobody gets data by naming themselves in a URL or a header, the login
form lets the right password in, a rep sees only their territories (tables and downloads)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

from tests.dashboards.conftest import APP, add_user, sign_in

PAGES = ["scorecard", "kpi_explorer", "inventory", "loads", "match_review", "data_quality"]


@pytest.fixture
def login_on(published, monkeypatch):
    """Login on; sales.ops sees everything — also in the old access.toml, so these tests show
    that a name in a URL or header alone no longer opens anything."""
    monkeypatch.setenv("SFE_ACCESS_CONTROL", "true")
    add_user(published, "sales.ops", "sales_ops")
    add_user(published, "zhang", "rep", ("T-SH1",))
    (published / "access.toml").write_text('[users]\n"sales.ops" = "*"\nzhang = "T-SH1"\n',
                                           encoding="utf-8")
    return published


def _no_data(at: AppTest) -> bool:
    return not at.dataframe and not at.metric and not at.exception


@pytest.mark.parametrize("page", PAGES)
def test_a_user_query_parameter_gets_no_data(login_on, page):
    at = AppTest.from_file(str(APP.parent / "views" / f"{page}.py"), default_timeout=30)
    at.query_params["user"] = "sales.ops"
    at.run()
    assert _no_data(at)
    assert not at.button and not at.download_button  # no decision form, nothing to download


@pytest.mark.parametrize("header", ["X-Forwarded-User", "X-Forwarded-Email",
                                    "X-Auth-Request-Email"])
def test_forged_identity_headers_get_no_data(login_on, monkeypatch, header):
    """No trusted proxy is configured: a client's header is just text."""
    monkeypatch.setattr(ContextProxy, "headers", property(lambda self: {header: "sales.ops"}))
    at = AppTest.from_file(str(APP.parent / "views" / "kpi_explorer.py"), default_timeout=30)
    at.run()
    assert _no_data(at)


def test_the_app_shows_only_the_login_form_until_someone_signs_in(login_on):
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["user"] = "sales.ops"
    at.run()
    assert [t.value for t in at.title] == ["登录 Sign in"]
    assert _no_data(at)
    assert at.text_input(key="login_password").proto.type == 1  # a password box (masked)


def test_sign_in_with_the_right_password_opens_the_pages(login_on):
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.text_input(key="login_name").input("Sales.Ops")
    at.text_input(key="login_password").input("correct horse 1")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "经营周报 Executive scorecard"
    assert at.metric  # the scorecard's numbers
    assert any("sales.ops" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(("login", "password"), [("sales.ops", "wrong password"),
                                                 ("nobody", "correct horse 1")])
def test_a_wrong_login_or_password_is_refused(login_on, login, password):
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.text_input(key="login_name").input(login)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert any("Wrong login or password" in e.value for e in at.error)
    assert [t.value for t in at.title] == ["登录 Sign in"] and _no_data(at)


def test_a_removed_user_is_signed_out_on_the_next_click(login_on):
    at = sign_in(AppTest.from_file(str(APP), default_timeout=30), "sales.ops").run()
    assert at.metric
    doc = json.loads((login_on / "users.json").read_text(encoding="utf-8"))
    del doc["users"]["sales.ops"]
    (login_on / "users.json").write_text(json.dumps(doc), encoding="utf-8")
    at.run()
    assert [t.value for t in at.title] == ["登录 Sign in"] and _no_data(at)


def test_login_off_on_a_server_reachable_from_other_machines_shows_nothing(published):
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert _no_data(at)
    assert any("Login is off" in e.value for e in at.error)


def test_a_rep_sees_only_their_territories_on_every_page_and_download(login_on, monkeypatch):
    """zhang (rep, T-SH1): every table and every file offered for download holds T-SH1 rows
    only; the company-wide pages show nothing."""
    from dashboards import components

    downloaded: list[pd.DataFrame] = []
    real_csv, real_xlsx = components.to_csv_bytes, components.to_excel_bytes
    monkeypatch.setattr(components, "to_csv_bytes", lambda df: downloaded.append(df) or real_csv(df))
    monkeypatch.setattr(components, "to_excel_bytes",
                        lambda df: downloaded.append(df) or real_xlsx(df))
    shown: list[pd.DataFrame] = []
    for page in PAGES:
        at = sign_in(AppTest.from_file(str(APP.parent / "views" / f"{page}.py"),
                                       default_timeout=30), "zhang").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page not in ("scorecard", "kpi_explorer"):
            assert not at.dataframe and not at.metric, page
        shown += [d.value for d in at.dataframe]
    assert shown and downloaded  # the KPI explorer showed (and offered) T-SH1's numbers
    for df in shown + downloaded:
        for col in ("territory_id", "district_id", "region_id"):
            if col in df.columns:
                assert set(df[col].dropna()) <= {"T-SH1"}, (col, set(df[col]))


def test_a_trusted_proxys_header_signs_the_user_in_and_no_one_elses(login_on, monkeypatch,
                                                                    tmp_path):
    """trusted_proxies = 10.0.0.0/24: the header counts only when the peer is in it."""
    from dashboards import auth

    cfg = tmp_path / "sfe.toml"
    cfg.write_text('access_control = true\ntrusted_proxies = ["10.0.0.0/24"]\n'
                   'proxy_user_header = "X-Auth-Request-User"\n', encoding="utf-8")
    monkeypatch.setenv("SFE_CONFIG", str(cfg))
    monkeypatch.setattr(ContextProxy, "headers",
                        property(lambda self: {"X-Auth-Request-User": "Zhang"}))
    page = str(APP.parent / "views" / "kpi_explorer.py")
    monkeypatch.setattr(auth, "_peer", lambda: "10.0.0.7")
    at = AppTest.from_file(page, default_timeout=30).run()
    assert not at.exception and at.dataframe  # zhang, via the proxy
    assert {"T-SH1"} >= set(at.dataframe[0].value.get("territory_id", pd.Series(dtype=str)))
    monkeypatch.setattr(auth, "_peer", lambda: "192.168.1.9")  # a client, not the proxy
    assert _no_data(AppTest.from_file(page, default_timeout=30).run())


@pytest.mark.parametrize(("peer", "trusted", "ok"), [
    ("10.0.0.5", ("10.0.0.5",), True), ("10.0.0.6", ("10.0.0.5",), False),
    ("10.1.2.3", ("10.1.0.0/16",), True), ("::1", ("::1",), True),
    (None, ("10.0.0.5",), False), ("10.0.0.5", (), False), ("bogus", ("10.0.0.5",), False),
    ("10.0.0.5", ("not-an-address",), False)])
def test_peer_is_trusted(peer, trusted, ok):
    from dashboards.auth import peer_is_trusted

    assert peer_is_trusted(peer, trusted) is ok
