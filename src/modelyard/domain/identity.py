"""Identity entities: principals (users, service accounts), teams, API tokens, grants, alias policies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
