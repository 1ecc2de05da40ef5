"""Who sees which territories, and the one function through which access control enters every
territory-scoped query (`scope_clause`)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboards import auth
from dashboards.connection import get_settings
from dashboards.territories import below
from dashboards.users import load_users
from sfe.config import Settings

ALL_TERRITORIES = "*"


@dataclass(frozen=True)
class Access:
    restricted: bool
    user: str | None = None
    territory_id: str | None = None
    allowed: tuple[str, ...] = ()
    reason: str = ""
    role: str | None = None


def access(settings: Settings | None = None, user: str | None = None) -> Access:
    """What the current user may see. Login off → everything, but only on a server bound to
    this machine; login on → by role: everything, or their territories and those below."""
    settings = settings or get_settings()
    if not settings.access_control:
        if auth.serving_locally():
            return Access(restricted=False)
        return Access(restricted=True, reason=(
            "login is off and this server listens on other interfaces; start it with "
            "`sfe serve` (127.0.0.1) or turn on access_control and add users"))
    if user is not None:
        found = load_users(settings).get(user.strip().lower())
    else:
        ident = auth.current_identity(settings)
        found = ident.user if ident else None
    if found is None:
        return Access(restricted=True, user=user, reason=(
            "access control is on and you are not signed in (or not a user in "
            "users.json); sign in, or ask sales ops to add you with `sfe users add`"))
    if found.sees_everything:
        return Access(restricted=False, user=found.login, territory_id=ALL_TERRITORIES,
                      role=found.role)
    allowed = sorted({t for terr in found.territories for t in below(settings, terr)})
    return Access(restricted=True, user=found.login, territory_id=", ".join(found.territories),
                  allowed=tuple(allowed), role=found.role)


def is_unrestricted(settings: Settings | None = None) -> bool:
    return not access(settings).restricted


def scope_clause(column: str, kind: str = "territory", settings: Settings | None = None,
                 scoped: bool = True) -> tuple[str, list]:
    """The one function through which access control enters every query.

    kind: `territory` (column holds a territory_id), `customer` (a crm_customer_id, allowed when
    aligned to an allowed territory), `global` (distributor- or system-level data that is not split
    by territory: only unrestricted users see it). `scoped=False` is for company-wide outputs
    that no dashboard user drives (the emailed scorecard).
    """
    if not scoped:
        return "true", []
    acc = access(settings)
    if not acc.restricted:
        return "true", []
    allowed = list(acc.allowed)
    if not allowed:
        return "false", []
    if kind == "territory":
        return f"list_contains(?::varchar[], {column}::varchar)", [allowed]
    if kind == "customer":
        return (f"{column} in (select crm_customer_id from marts.bridge_customer_territory "
                f"where list_contains(?::varchar[], territory_id::varchar))", [allowed])
    return "false", []
