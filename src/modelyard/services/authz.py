"""Applies the one permission rule (``domain.permissions.can``) inside a unit of work.

Loads what ``can`` needs (visibility, the roles granted to the actor and its teams) and
turns a refusal into the right error: a registry the actor may not read does not exist
for them (404, same message as a missing one); anything else denied is a 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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


def downloadable_registry_ids(store: MetadataStore, actor: Actor) -> list[int]:
    """Ids of the registries whose files ``actor`` may download (``can(principal, download, registry)``)."""
    granted = store.registries_with_grants(actor.id, actor.team_ids) if actor.id is not None else {}
    principal = actor.principal
    return [
        r.id
        for r in store.list_registries()
        if can(principal, Action.DOWNLOAD, RegistryResource(r.visibility, tuple(granted.get(r.id, ()))))
    ]


def usable_digests(store: MetadataStore, actor: Actor | None, digests: Iterable[str]) -> set[str]:
    """Which of ``digests`` count as already present for ``actor`` (DESIGN.md decision 8).

    Dedup never crosses a permission boundary: a digest is usable only if ``actor`` may
    download it from somewhere (a version in a registry where it holds download) or holds a
    receipt (see ``record_receipt``): it uploaded the bytes itself, or registered them from a
    source it was authorized to read (an MLflow run's artifacts, a ``file:`` source). A run
    artifact's digest is not usable by everyone: experiments have permissions of their own.
    Everything else is answered exactly like a digest the server does not hold, so the answer
    is no existence oracle. Whether the bytes are actually in the blob store is the caller's
    second question. ``actor=None`` (a trusted
    internal caller) and org admins (including the local operator when auth is off) may use
    every digest.
    """
    wanted = set(digests)
    if actor is None or actor.org_admin or not wanted:
        return wanted
    return store.usable_digests(
        sorted(wanted), registry_ids=downloadable_registry_ids(store, actor), principal_id=actor.id
    )


def record_receipt(store: MetadataStore, actor: Actor | None, digest: str, *, now: datetime) -> None:
    """Remember that ``actor`` uploaded ``digest``'s bytes (the server hashed them), so the digest
    counts as present for it from now on (see ``usable_digests``)."""
    if actor is not None and actor.id is not None:
        store.record_blob_receipt(actor.id, digest, now=now)
