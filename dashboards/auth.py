"""Who is looking at the dashboards, and the login form.

Identity comes only from places a browser cannot forge:

1. Streamlit's own OIDC login (`st.login`, configured in `.streamlit/secrets.toml`), when a
   company has an identity provider: `st.user.email`, which must be a user in users.json;
2. an authenticating reverse proxy's header (`proxy_user_header`), and only when the TCP peer is
   one of `trusted_proxies` in sfe.toml;
3. the embedded login form: login and password checked against the bcrypt hashes in
   `<data_dir>/users.json` (`sfe users`), remembered in this browser session only (server side).

Query parameters and other headers never carry identity. With `access_control` off there is no
login: the dashboards then show everything, but only to a server bound to this machine
(`sfe serve` binds 127.0.0.1), and decisions are recorded as the local account running it.
"""

from __future__ import annotations

import getpass
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from dashboards.serve import is_loopback
from dashboards.users import User, authenticate, load_users, users_file
from sfe.config import Settings

SESSION_KEY = "_sfe_identity"  # never a widget key: a browser can set widget keys, not this


@dataclass(frozen=True)
class Identity:
    user: User
    via: str  # "password", "proxy" or "oidc"


def serving_locally() -> bool:
    """Whether this app is reachable from this machine only. Outside a script run (the CLI,
    the scorecard) there is no server at all."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return True
    return is_loopback(st.get_option("server.address"))


def peer_is_trusted(peer: str | None, trusted: tuple[str, ...]) -> bool:
    if not peer or not trusted:
        return False
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in trusted:
        try:
            if ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def user_from_proxy(headers: Mapping[str, str], peer: str | None, settings: Settings,
                    users: dict[str, User]) -> User | None:
    """The user an authenticating proxy names, when the request came from that proxy."""
    if not peer_is_trusted(peer, settings.trusted_proxies):
        return None
    name = headers.get(settings.proxy_user_header)
    return users.get(str(name).strip().lower()) if name else None


def _peer() -> str | None:
    """The TCP peer. `st.context.ip_address` hides loopback as None; `sfe serve` turns off the
    server's own X-Forwarded-For rewriting, so this is the real peer (the proxy)."""
    from streamlit import runtime

    ip = st.context.ip_address
    if ip is None and runtime.exists():
        return "127.0.0.1"
    return ip


def _oidc_user(users: dict[str, User]) -> User | None:
    try:
        if st.user.get("is_logged_in") and st.user.get("email"):
            return users.get(str(st.user.get("email")).lower())
    except Exception:  # no [auth] configured: st.user has no login
        return None
    return None


def current_identity(settings: Settings) -> Identity | None:
    """The signed-in user of this session, or None."""
    users = load_users(settings)
    oidc = _oidc_user(users)
    if oidc is not None:
        return Identity(oidc, "oidc")
    if settings.trusted_proxies:
        try:
            proxied = user_from_proxy(st.context.headers, _peer(), settings, users)
        except Exception:
            proxied = None
        if proxied is not None:
            return Identity(proxied, "proxy")
    held = st.session_state.get(SESSION_KEY)
    if isinstance(held, Identity):
        fresh = users.get(held.user.login)  # removed or changed in users.json since login
        if fresh is not None and fresh.password_hash == held.user.password_hash:
            return Identity(fresh, held.via)
        del st.session_state[SESSION_KEY]
    return None


def decision_author(settings: Settings) -> str | None:
    """Who a match decision is recorded as, or None when this session may not record one:
    with login on, only a signed-in steward; with login off, the local account running a
    server bound to this machine."""
    if settings.access_control:
        ident = current_identity(settings)
        return ident.user.login if ident and ident.user.may_record_decisions else None
    if serving_locally():
        return f"local:{_account()}"
    return None


def _account() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user with no name: still this machine's account
        return "unnamed-account"


def login_gate(settings: Settings) -> Identity | None:
    """At the top of the app: with login on, the signed-in identity, or the login form and
    a stopped script; with login off, None (or a refusal when reachable from other machines)."""
    if not settings.access_control:
        if not serving_locally():
            st.error("登录已关闭 Login is off, and this server listens on other interfaces: "
                     "nothing is shown. Start it with `sfe serve` (binds 127.0.0.1), or set "
                     "`access_control = true` and create users with `sfe users add`.",
                     icon=":material/lock:")
            st.stop()
        return None
    ident = current_identity(settings)
    if ident is None:
        _login_form(settings)
        st.stop()
    st.sidebar.caption(f"已登录 Signed in: {ident.user.display_name or ident.user.login} "
                       f"· {ident.user.role}")
    if ident.via == "password" and st.sidebar.button("退出 Log out", key="sfe_logout"):
        st.session_state.pop(SESSION_KEY, None)
        st.rerun()
    return ident


def _login_form(settings: Settings) -> None:
    st.title("登录 Sign in")
    users = load_users(settings)
    if not users:
        st.error(f"还没有用户 No users yet in {users_file(settings)}: an administrator creates "
                 "them with `sfe users add NAME --role ROLE`.", icon=":material/person_off:")
        return
    with st.form("sfe_login"):
        login = st.text_input("用户名 Login", key="login_name")
        password = st.text_input("密码 Password", type="password", key="login_password")
        submitted = st.form_submit_button("登录 Sign in")
    if submitted:
        user = authenticate(users, login, password)
        if user is None:
            st.error("用户名或密码错误 Wrong login or password.")
            return
        st.session_state[SESSION_KEY] = Identity(user, "password")
        st.rerun()
