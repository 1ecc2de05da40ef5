"""Dashboard users: login names, roles, territories and bcrypt password hashes.

They live in one file under the data dir, `<data_dir>/users.json`, written only by `sfe users`
(owner-read/write only). No Streamlit here: the command line and the login form share it.

Roles (what each may see and do):

* executive, analyst, sales_ops, steward: every territory and every page; only `steward`
  records match decisions.
* district_manager, rep: only their territories and the territories below them; pages that are
  not split by territory (inventory, loads, matching, quality) are not shown to them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bcrypt

from sfe.config import Settings
from sfe.console import Console
from sfe.report import EXIT_OK, UsageError

USERS_FILE_NAME = "users.json"
ROLES: dict[str, str] = {
    "executive": "every territory, read-only",
    "analyst": "every territory, read-only",
    "sales_ops": "every territory, loads and quality",
    "steward": "every territory; records customer-match decisions",
    "district_manager": "own territories and below",
    "rep": "own territories and below",
}
TERRITORY_ROLES = frozenset({"district_manager", "rep"})
DECISION_ROLES = frozenset({"steward"})
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit; longer input is refused, not silently cut
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
# checked against when the login is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = b"$2b$12$dHayL4dwfrTQszmocqHbAusSIJqckVWD/aXLqYBIRJBKoNXH4dTpe"  # of a random string nobody knows


class UsersFileError(UsageError):
    """The users file is unreadable or a user entry is malformed; the message names both."""


@dataclass(frozen=True)
class User:
    login: str
    role: str
    territories: tuple[str, ...] = ()
    password_hash: str | None = None  # None: identified only by a trusted proxy or OIDC login
    display_name: str = ""

    @property
    def sees_everything(self) -> bool:
        return self.role not in TERRITORY_ROLES

    @property
    def may_record_decisions(self) -> bool:
        return self.role in DECISION_ROLES


def users_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / USERS_FILE_NAME


def normalise_login(login: str) -> str:
    login = login.strip()
    if not _LOGIN.match(login):
        raise UsageError(f"login '{login}' is not valid: use letters, digits and . _ @ + - "
                         "(at most 100 characters), e.g. zhang.wei or zhang.wei@example.com")
    return login.lower()


def check_user(user: User) -> User:
    """A user entry that makes sense: a known role; territory roles name their territories."""
    if user.role not in ROLES:
        raise UsageError(f"user '{user.login}': role '{user.role}' is not one of "
                         f"{', '.join(ROLES)}")
    if user.role in TERRITORY_ROLES and not user.territories:
        raise UsageError(f"user '{user.login}': a {user.role} needs at least one territory "
                         "(--territory T-SH1)")
    if user.role not in TERRITORY_ROLES and user.territories:
        raise UsageError(f"user '{user.login}': role {user.role} sees every territory; drop "
                         "--territory or use role rep / district_manager")
    return user


def load_users(settings: Settings) -> dict[str, User]:
    """Every user by login; an empty dict when the file does not exist yet."""
    path = users_file(settings)
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsersFileError(f"{path} cannot be read ({exc}); restore it from a backup or "
                             "recreate users with `sfe users add`") from exc
    users: dict[str, User] = {}
    for login, entry in (doc.get("users") or {}).items():
        try:
            user = User(login=normalise_login(login), role=str(entry["role"]),
                        territories=tuple(str(t) for t in entry.get("territories") or ()),
                        password_hash=entry.get("password_hash") or None,
                        display_name=str(entry.get("display_name") or ""))
            users[user.login] = check_user(user)
        except (KeyError, TypeError, AttributeError, UsageError) as exc:
            raise UsersFileError(f"{path}: user '{login}' is malformed ({exc}); fix it with "
                                 "`sfe users add` after `sfe users remove`") from exc
    return users


def save_users(settings: Settings, users: dict[str, User]) -> Path:
    """Write the file atomically, readable by its owner only (it holds password hashes)."""
    path = users_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"users": {u.login: {k: v for k, v in asdict(u).items() if k != "login"}
                     for u in sorted(users.values(), key=lambda u: u.login)}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def hash_password(password: str) -> str:
    raw = password.encode("utf-8")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise UsageError(f"the password is longer than bcrypt's {MAX_PASSWORD_BYTES} bytes; "
                         "use a shorter one")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=12)).decode("ascii")


def authenticate(users: dict[str, User], login: str, password: str) -> User | None:
    """The user when login and password match; None otherwise (same cost either way)."""
    user = users.get(login.strip().lower())
    raw = password.encode("utf-8")[:MAX_PASSWORD_BYTES]
    stored = user.password_hash.encode("ascii") if user and user.password_hash else _DUMMY_HASH
    try:
        ok = bcrypt.checkpw(raw, stored)
    except ValueError:  # a damaged hash in the file: refuse, never crash the login page
        ok = False
    return user if ok and user is not None and user.password_hash else None


# -- `sfe users` ---------------------------------------------------------------------------------

@dataclass
class UsersReport:
    action: str
    users: list[dict] = field(default_factory=list)
    message: str = ""
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict:
        return {"action": self.action, "users": self.users, "message": self.message,
                "exit_code": self.exit_code}

    def summary(self) -> str:
        if self.action != "list":
            return self.message
        if not self.users:
            return self.message
        rows = [f"{u['login']:<32} {u['role']:<17} {','.join(u['territories']) or '*':<20} "
                f"{'password' if u['has_password'] else 'proxy/OIDC only'}" for u in self.users]
        return "\n".join([f"{'login':<32} {'role':<17} {'territories':<20} sign-in", *rows])


def read_password(args: argparse.Namespace, confirm: bool = True) -> str:
    """From a prompt (asked twice) or, with --password-stdin, the first line of stdin; never
    from the command line, where it would land in shell history and `ps`."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line.strip():
            raise UsageError("--password-stdin: stdin is empty; pipe the password in, e.g. "
                             "`printf '%s\\n' \"$PW\" | sfe users set-password NAME --password-stdin`")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password; use --password-stdin and pipe it in")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != first:
        raise UsageError("the two passwords differ; nothing was changed")
    return first


def _public(user: User) -> dict:
    return {"login": user.login, "role": user.role, "territories": list(user.territories),
            "display_name": user.display_name, "has_password": bool(user.password_hash)}


def users_command(settings: Settings, args: argparse.Namespace, console: Console) -> UsersReport:
    """`sfe users add|set-password|remove|list`."""
    action = args.users_action
    users = load_users(settings)
    if action == "list":
        msg = "" if users else (f"no users in {users_file(settings)} yet; create the first with "
                                "`sfe users add NAME --role sales_ops`")
        return UsersReport("list", [_public(u) for u in sorted(users.values(),
                                                                 key=lambda u: u.login)], msg)
    login = normalise_login(args.login)
    if action == "add":
        if login in users:
            raise UsageError(f"user '{login}' exists; use `sfe users set-password {login}` or "
                             "`sfe users remove` first")
        user = check_user(User(login=login, role=args.role, territories=tuple(args.territory or ()),
                               display_name=args.display_name or ""))
        if not args.no_password:
            user = User(**{**asdict(user), "password_hash": hash_password(read_password(args))})
        users[login] = user
        path = save_users(settings, users)
        return UsersReport("add", [_public(user)], f"added {login} ({user.role}) to {path}")
    if login not in users:
        raise UsageError(f"no user '{login}' in {users_file(settings)}; see `sfe users list`")
    if action == "set-password":
        user = users[login]
        users[login] = User(**{**asdict(user), "password_hash": hash_password(read_password(args))})
        save_users(settings, users)
        return UsersReport(action, [_public(users[login])], f"password of {login} changed")
    removed = users.pop(login)
    save_users(settings, users)
    return UsersReport("remove", [_public(removed)], f"removed {login}")


def add_users_parser(sub: argparse._SubParsersAction, common) -> None:
    """The `sfe users` sub-commands (called by orchestration.cli.build_parser)."""
    p = sub.add_parser("users", help="dashboard users: add, set-password, remove, list",
                       description="Dashboard users, roles and passwords (stored as bcrypt hashes "
                                   "in <data_dir>/users.json).")
    common(p)
    acts = p.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    a = acts.add_parser("add", help="add a user (asks for the password)")
    common(a)
    a.add_argument("login")
    a.add_argument("--role", required=True, choices=list(ROLES))
    a.add_argument("--territory", action="append", metavar="ID",
                   help="territory the user sees, with those below it (rep, district_manager); "
                        "repeat for several")
    a.add_argument("--display-name", default="")
    a.add_argument("--no-password", action="store_true",
                   help="no password: the user signs in only through a trusted proxy or OIDC")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin instead of a prompt")
    s = acts.add_parser("set-password", help="set or change a user's password")
    common(s)
    s.add_argument("login")
    s.add_argument("--password-stdin", action="store_true")
    r = acts.add_parser("remove", help="remove a user")
    common(r)
    r.add_argument("login")
    common(acts.add_parser("list", help="list users, roles and territories"))
