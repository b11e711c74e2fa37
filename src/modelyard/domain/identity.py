"""Identity entities: principals (users, service accounts), teams, API tokens, grants, alias policies;
and the lockout rules: when ``auth=auto`` turns on, and which changes would lock the organization out.

The lockout rules (docs/security.md, "Lockouts", and docs/decisions/0012), three functions:

* **auth switch** (:func:`auth_required`): ``on`` and ``off`` are what they say. ``auto`` is on
  once an active (not disabled) principal holds an *unrevoked* API token, expired or not, and
  off before: creating users, even org admins, without a token does not turn it on, so nobody
  is asked for a token that does not exist. Expiry does not count: the clock never turns
  authentication off (an expired last admin token is recovered offline, ``admin tokens reset``).
* **the first token is an admin's** (:func:`token_allowed`): while no active org admin holds an
  unrevoked token, a token may only be created for an active org admin. So when ``auto`` turns
  on, an org admin can sign in: a plain user's token never locks the operator out.
* **no stranding** (:func:`strands_org`): a change (demote, disable, revoke a token) is refused
  when, before it, some active org admin held a *live* token (unrevoked and unexpired) and none
  would after it: nobody could administer the organization over the API any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The longest an API token may live (the API states it as ``expires_in_days``' maximum).
MAX_TOKEN_LIFETIME_DAYS = 3650

PRINCIPAL_KINDS = ("user", "service_account")


@dataclass(frozen=True, slots=True)
class PrincipalInfo:
    id: int
    kind: str
    name: str
    display_name: str
    email: str
    org_admin: bool
    disabled: bool
    created_at: datetime
    teams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    description: str
    members: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    principal: str
    prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: ``secret`` is shown once and never stored."""

    info: TokenInfo
    secret: str


@dataclass(frozen=True, slots=True)
class Grant:
    registry: str
    subject_kind: str  # user | service_account | team
    subject: str
    role: str


@dataclass(frozen=True, slots=True)
class AliasPolicy:
    """Rules on an alias name in a registry (``collection`` None) or one collection (an override).

    ``protected``: only registry admins may set, move or remove it. ``requirements`` is where
    promotion rules (required approvals, checks, metadata rules) live.
    """

    registry: str
    alias: str
    collection: str | None = None
    protected: bool = True
    requirements: dict[str, Any] = field(default_factory=dict)


def auth_required(mode: str, token_exists: Callable[[], bool]) -> bool:
    """Whether requests must carry a token under the ``auth`` setting ``mode``.

    ``token_exists`` answers "does an active principal hold an unrevoked token?"; it is only
    asked in ``auto`` mode (so ``on`` and ``off`` cost no query).
    """
    if mode == "auto":
        return token_exists()
    return mode == "on"


def token_allowed(*, for_active_org_admin: bool, org_admin_holds_token: bool) -> bool:
    """Whether a new token may be created: the first one (no active org admin holds an
    unrevoked token) must be an active org admin's."""
    return for_active_org_admin or org_admin_holds_token


def strands_org(*, live_admins_before: int, live_admins_after: int) -> bool:
    """True when a change takes away the last live org admin credential (see the module docstring)."""
    return live_admins_before > 0 and live_admins_after == 0
