"""`sfe users` and the users file: bcrypt hashes, roles, passwords never on the command line."""

from __future__ import annotations

import io
import json
import stat

import bcrypt
import pytest

from dashboards.users import User, authenticate, load_users
from orchestration.cli import main
from sfe.config import Settings


@pytest.fixture
def users_dir(tmp_path, monkeypatch):
    for name in ("SFE_CONFIG", "SFE_ACCESS_CONTROL", "SFE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def _sfe(monkeypatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*argv, "--data-dir", "data"])


def _doc(users_dir) -> dict:
    return json.loads((users_dir / "users.json").read_text(encoding="utf-8"))["users"]


def test_add_stores_a_bcrypt_hash_readable_by_the_owner_only(users_dir, monkeypatch):
    assert _sfe(monkeypatch, "users", "add", "Li.Na", "--role", "rep", "--territory", "T-SH1",
                "--territory", "T-SH2", "--password-stdin", stdin="s3cret-pass\n") == 0
    entry = _doc(users_dir)["li.na"]
    assert entry["role"] == "rep" and entry["territories"] == ["T-SH1", "T-SH2"]
    assert bcrypt.checkpw(b"s3cret-pass", entry["password_hash"].encode())
    assert "s3cret-pass" not in (users_dir / "users.json").read_text(encoding="utf-8")
    assert stat.S_IMODE((users_dir / "users.json").stat().st_mode) == 0o600


def test_set_password_replaces_the_old_one_and_remove_deletes(users_dir, monkeypatch):
    _sfe(monkeypatch, "users", "add", "wang", "--role", "steward", "--password-stdin",
         stdin="first-password\n")
    assert _sfe(monkeypatch, "users", "set-password", "wang", "--password-stdin",
                stdin="second-password\n") == 0
    users = load_users(Settings(data_dir=users_dir))
    assert authenticate(users, "wang", "first-password") is None
    assert authenticate(users, "WANG", "second-password").role == "steward"
    assert _sfe(monkeypatch, "users", "remove", "wang") == 0
    assert _doc(users_dir) == {}


def test_list_shows_roles_and_who_has_a_password(users_dir, monkeypatch, capsys):
    _sfe(monkeypatch, "users", "add", "boss", "--role", "executive", "--password-stdin",
         stdin="boss-password\n")
    _sfe(monkeypatch, "users", "add", "sso.user", "--role", "analyst", "--no-password")
    capsys.readouterr()
    assert _sfe(monkeypatch, "users", "list", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert [(u["login"], u["role"], u["has_password"]) for u in out["users"]] == [
        ("boss", "executive", True), ("sso.user", "analyst", False)]
    assert authenticate(load_users(Settings(data_dir=users_dir)), "sso.user", "") is None


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["add", "zhang", "--role", "rep", "--password-stdin"], "long-enough\n", "needs at least one territory"),
    (["add", "boss", "--role", "executive", "--territory", "T-SH1", "--password-stdin"],
     "long-enough\n", "sees every territory"),
    (["add", "zhang", "--role", "analyst", "--password-stdin"], "short\n", "too short"),
    (["add", "zhang", "--role", "analyst", "--password-stdin"], "", "stdin is empty"),
    (["add", "zhang", "--role", "analyst"], "", "no terminal"),  # stdin is not a tty here
    (["add", "bad name", "--role", "analyst", "--no-password"], "", "not valid"),
    (["set-password", "ghost", "--password-stdin"], "long-enough\n", "no user 'ghost'"),
])
def test_bad_users_commands_exit_2_and_say_why(users_dir, monkeypatch, capsys, argv, stdin,
                                               message):
    assert _sfe(monkeypatch, "users", *argv, stdin=stdin) == 2
    assert message in capsys.readouterr().err
    assert not (users_dir / "users.json").exists()


def test_a_password_is_never_taken_from_the_command_line(users_dir, monkeypatch, capsys):
    code = _sfe(monkeypatch, "users", "add", "zhang", "--role", "analyst", "--password", "x" * 10)
    assert code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert not (users_dir / "users.json").exists()


def test_a_damaged_users_file_is_an_error_naming_file_and_user(users_dir):
    users_dir.mkdir()
    (users_dir / "users.json").write_text('{"users": {"zhang": {"role": "ceo"}}}',
                                          encoding="utf-8")
    with pytest.raises(Exception, match=r"users\.json: user 'zhang'.*role 'ceo'"):
        load_users(Settings(data_dir=users_dir))


def test_authenticate_refuses_a_damaged_hash_instead_of_crashing():
    users = {"a": User(login="a", role="analyst", password_hash="not-a-bcrypt-hash")}
    assert authenticate(users, "a", "anything-at-all") is None
