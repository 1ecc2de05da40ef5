"""Fixtures for the dashboard tests: a hand-made published snapshot and an AppTest opener."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import bcrypt
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboards.snapshot_fixture import build_snapshot

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
VIEWS = APP.parent / "views"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SFE_DATA_DIR for the app under test; nothing published yet."""
    for name in ("SFE_CONFIG", "SFE_ACCESS_CONTROL", "SFE_INBOX", "SFE_MAPPINGS_DIR"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SFE_DATA_DIR", str(data))
    return data


@pytest.fixture(scope="session")
def snapshot_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two fixture snapshots, built once per session and copied into each test's data dir."""
    root = tmp_path_factory.mktemp("snapshots")
    return {"good": build_snapshot(root / "good.duckdb"),
            "failed": build_snapshot(root / "failed.duckdb", blocking_failure=True)}


def _install(snapshot: Path, data_dir: Path) -> Path:
    target = data_dir / "published" / "current.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot, target)
    return data_dir


@pytest.fixture
def published(data_dir: Path, snapshot_files: dict[str, Path]) -> Path:
    """A good snapshot: gates passed, as of 2026-10."""
    return _install(snapshot_files["good"], data_dir)


@pytest.fixture
def published_failed(data_dir: Path, snapshot_files: dict[str, Path]) -> Path:
    """A snapshot whose blocking gate `customer_match_rate` failed."""
    return _install(snapshot_files["failed"], data_dir)


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """Run one page script as Streamlit would after navigation (the entry file's navigation is
    covered once per page by test_app_navigation.py; running it first for every test doubles
    the cost)."""
    def _open(page: str, query: dict[str, str] | None = None, user: str | None = None) -> AppTest:
        at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=30)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        if user is not None:
            sign_in(at, user)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return _open


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    """Every message element's text, for 'does the page say X' assertions."""
    parts = [e.value for kind in ("error", "warning", "info", "success", "caption", "markdown")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def table_with(at: AppTest, column: str, index: int = 0):
    """The index-th dataframe shown that has `column` (AppTest does not expose dataframe keys)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) > index, f"no table with column {column!r}"
    return found[index]


def assert_readable_tables(at: AppTest) -> None:
    """Every table column a person sees has a label (no raw `status`, `source`), no cell reads
    `None`/`NaN` and no time carries `00:00:00`."""
    for table in at.dataframe:
        config = json.loads(table.proto.columns or "{}")
        labels = {k.removeprefix("col:"): (v or {}).get("label") for k, v in config.items()}
        shown = table.value
        assert [c for c in shown.columns if not labels.get(c)] == [], labels
        assert not shown.isna().any().any(), shown
        cells = shown.astype(str)
        assert not cells.isin(["None", "NaN", "nan", "NaT"]).any().any(), shown
        assert not cells.apply(lambda c: c.str.contains("00:00:00")).any().any(), shown


@pytest.fixture(autouse=True)
def _close_snapshot_connections():
    """Each test builds its own snapshot file; drop connections to the previous ones."""
    yield
    from dashboards import connection

    connection.close_local_connections()


@pytest.fixture(autouse=True)
def _served_on_loopback():
    """Pages run as under `sfe serve` (bound to 127.0.0.1); a test that wants a server reachable
    from other machines sets `server.address` itself."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


def add_user(data_dir: Path, login: str, role: str, territories: tuple[str, ...] = (),
             password: str | None = "correct horse 1") -> None:
    """A user in <data_dir>/users.json in the documented format, written here with bcrypt
    directly (not through the code under test)."""
    path = data_dir / "users.json"
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode() if password else None
    doc["users"][login] = {"role": role, "territories": list(territories),
                           "password_hash": hashed, "display_name": ""}
    path.write_text(json.dumps(doc), encoding="utf-8")


def sign_in(at: AppTest, login: str) -> AppTest:
    """Mark the session signed in, as the login form does after a right password."""
    from dashboards.auth import SESSION_KEY, Identity
    from dashboards.users import load_users
    from sfe.config import load_settings

    user = load_users(load_settings())[login]
    at.session_state[SESSION_KEY] = Identity(user, "password")
    return at
