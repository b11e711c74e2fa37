"""Applies the one permission rule (``domain.permissions.can``) inside a unit of work.

Loads what ``can`` needs (visibility, the roles granted to the actor and its teams) and
turns a refusal into the right error: a registry the actor may not read does not exist
for them (404, same message as a missing one); anything else denied is a 403.
"""

from __future__ import annotations

from modelyard.domain.actor import Actor
from modelyard.domain.models import VISIBILITY_ORGANIZATION, Registry
from modelyard.domain.permissions import MIN_ROLE, Action, RegistryResource, can
from modelyard.errors import PermissionDeniedError, RegistryNotFoundError
from modelyard.storage.interfaces import MetadataStore

_VERBS = {
    Action.DOWNLOAD: "download files from",
    Action.WRITE: "change",
    Action.DELETE_COLLECTION: "delete collections in",
    Action.RENAME_COLLECTION: "rename collections in",
    Action.MOVE_PROTECTED_ALIAS: "move protected aliases in",
    Action.ADMINISTER: "administer",
}


def resource_for(
    store: MetadataStore, actor: Actor, reg: Registry, *, holds_protected_alias: bool = False
) -> RegistryResource:
    roles = store.granted_roles(reg.id, actor.id, actor.team_ids) if actor.id is not None else ()
    return RegistryResource(reg.visibility, tuple(roles), holds_protected_alias)


def require(
    store: MetadataStore, actor: Actor | None, reg: Registry, action: Action, *, holds_protected_alias: bool = False
) -> None:
    """Raise unless ``actor`` may do ``action`` on ``reg``. ``actor=None`` is a trusted internal caller."""
    if actor is None or actor.org_admin:
        return
    resource = resource_for(store, actor, reg, holds_protected_alias=holds_protected_alias)
    principal = actor.principal
    if not can(principal, Action.READ, resource):
        raise RegistryNotFoundError(registry=reg.name)
    if not can(principal, action, resource):
        needed = MIN_ROLE[Action.MOVE_PROTECTED_ALIAS] if holds_protected_alias else MIN_ROLE[action]
        raise PermissionDeniedError(
            f"you need the '{needed}' role on registry '{reg.name}' to {_VERBS.get(action, action.value)} it",
            registry=reg.name,
            action=action.value,
            required_role=needed,
        )


def require_org(actor: Actor | None, action: Action) -> None:
    if actor is None or can(actor.principal, action):
        return
    raise PermissionDeniedError(f"only organization admins may {action.value.replace('_', ' ')}", action=action.value)


def visible_registry_ids(store: MetadataStore, actor: Actor | None) -> list[int] | None:
    """Ids of the registries ``actor`` can read; None means all of them."""
    if actor is None or actor.org_admin:
        return None
    granted = store.registries_with_grants(actor.id, actor.team_ids) if actor.id is not None else {}
    return [r.id for r in store.list_registries() if r.visibility == VISIBILITY_ORGANIZATION or r.id in granted]
