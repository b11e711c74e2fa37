"""THE permission rule: ``can(principal, action, resource)``. Pure; every access goes through it.

Roles, lowest to highest: ``restricted_viewer`` < ``viewer`` < ``member`` < ``admin``.
A principal's effective role in a registry is the highest it holds directly, through any
of its teams, or ``admin`` if it is an org admin. In an ``organization``-visible registry
every org member is at least a ``viewer``; in a ``restricted`` one only principals with a
grant see it at all (callers turn "cannot read" into 404 so existence does not leak).

The matrix (docs/security.md draws it):

==========================  =================  ======  ======  =====
action                      restricted_viewer  viewer  member  admin
==========================  =================  ======  ======  =====
read (metadata, search)     yes                yes     yes     yes
download (file bytes)       no                 yes     yes     yes
write (push, tags, aliases,
stages, delete version)     no                 no      yes     yes
delete collection           no                 no      yes*    yes
rename collection           no                 no      yes*    yes
move protected alias        no                 no      no      yes
administer registry         no                 no      no      yes
==========================  =================  ======  ======  =====

``*`` unless the collection holds a protected alias (or has a version in a protected stage):
deleting or renaming it takes it away from every consumer of ``collection@alias`` (or
``models:/collection/Stage``) just as moving the alias would, and would free the name for anyone
to re-create and point the alias elsewhere, so it needs the role that may move the alias
(``GUARDED_BY_PROTECTED_ALIAS``). Org-level actions (create registries,
manage users, teams, service accounts, others' tokens) need org admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from modelyard.errors import InvalidArgumentError

ROLES = ("restricted_viewer", "viewer", "member", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


class Action(StrEnum):
    READ = "read"
    DOWNLOAD = "download"
    WRITE = "write"
    DELETE_COLLECTION = "delete_collection"
    RENAME_COLLECTION = "rename_collection"
    MOVE_PROTECTED_ALIAS = "move_protected_alias"
    ADMINISTER = "administer"
    # org level
    CREATE_REGISTRY = "create_registry"
    MANAGE_ORG = "manage_org"


MIN_ROLE: dict[Action, str] = {
    Action.READ: "restricted_viewer",
    Action.DOWNLOAD: "viewer",
    Action.WRITE: "member",
    Action.DELETE_COLLECTION: "member",
    Action.RENAME_COLLECTION: "member",
    Action.MOVE_PROTECTED_ALIAS: "admin",
    Action.ADMINISTER: "admin",
}
ORG_ACTIONS = frozenset({Action.CREATE_REGISTRY, Action.MANAGE_ORG})
# Actions that take a collection's protected aliases away from the name consumers resolve:
# on a collection holding one they need the role that may move a protected alias.
GUARDED_BY_PROTECTED_ALIAS = frozenset({Action.DELETE_COLLECTION, Action.RENAME_COLLECTION})


def check_role(role: str) -> str:
    if role not in _RANK:
        raise InvalidArgumentError(f"unknown role '{str(role)[:40]}': use one of {', '.join(ROLES)}", field="role")
    return role


def highest(roles: list[str] | tuple[str, ...] | set[str]) -> str | None:
    ranked = [r for r in roles if r in _RANK]
    return max(ranked, key=_RANK.__getitem__) if ranked else None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated identity (user or service account). ``org_admin`` can do everything."""

    name: str
    kind: str = "user"
    id: int | None = None
    org_admin: bool = False
    team_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RegistryResource:
    """What ``can`` needs to know about a registry: its visibility and the roles granted to the principal."""

    visibility: str
    granted_roles: tuple[str, ...] = field(default_factory=tuple)
    holds_protected_alias: bool = False


def effective_role(principal: Principal, resource: RegistryResource) -> str | None:
    if principal.org_admin:
        return "admin"
    roles = list(resource.granted_roles)
    if resource.visibility == "organization":
        roles.append("viewer")
    return highest(roles)


def can(principal: Principal, action: Action, resource: RegistryResource | None = None) -> bool:
    """Whether ``principal`` may do ``action`` on ``resource`` (a registry, or None for org actions)."""
    if action in ORG_ACTIONS:
        return principal.org_admin
    if resource is None:
        return False
    role = effective_role(principal, resource)
    if role is None:
        return False
    if action in GUARDED_BY_PROTECTED_ALIAS and resource.holds_protected_alias:
        return _RANK[role] >= _RANK[MIN_ROLE[Action.MOVE_PROTECTED_ALIAS]]
    return _RANK[role] >= _RANK[MIN_ROLE[action]]
