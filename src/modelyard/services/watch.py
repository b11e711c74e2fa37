"""Resolve what a watch stream follows (``registry/collection@alias``, ``...:latest`` or
``registry/collection``), after checking the actor may read it. The streaming itself is
``events.watch``."""

from __future__ import annotations

from modelyard.domain.actor import Actor
from modelyard.domain.names import validate_alias_name
from modelyard.domain.permissions import Action
from modelyard.errors import InvalidArgumentError, RegistryNotFoundError
from modelyard.events.watch import WatchSpec
from modelyard.storage.interfaces import Database

from .identity import IdentityService
from .registry import RegistryService


class WatchService:
    def __init__(self, db: Database, registry: RegistryService, identity: IdentityService) -> None:
        self._db = db
        self._registry = registry
        self._identity = identity

    def reauthorize(self, actor: Actor, spec: WatchSpec, *, token: str | None) -> None:
        """Raise unless the stream ``actor`` opened on ``spec`` may go on: its ``token`` still
        authenticates (not revoked or expired, account enabled) and the principal, as it is now
        (teams, org admin), may still read the registry, the same one by id. ``token`` None: the
        stream was opened without one (auth off), and there is nothing to revoke.

        ``UnauthenticatedError`` for the token, ``RegistryNotFoundError`` (the registry is
        invisible, exactly as at open) when read access is gone.
        """
        current = actor
        if token is not None:
            current = self._identity.authenticate(
                token, request_id=actor.request_id, client_address=actor.client_address
            )
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, spec.registry, current, Action.READ)
            if reg.id != spec.registry_id:  # deleted, and the name re-used: not what was opened
                raise RegistryNotFoundError(registry=spec.registry)

    def resolve(self, actor: Actor | None, target: str) -> WatchSpec:
        """``models/fraud@production`` (an alias; ``:production`` works too), ``models/fraud:latest``,
        or ``models/fraud`` (every change of the collection)."""
        if not isinstance(target, str) or "/" not in target:
            raise InvalidArgumentError(
                "target must be 'registry/collection@alias', 'registry/collection:latest' or 'registry/collection'",
                field="target",
            )
        registry, _, rest = target.partition("/")
        ref = None
        for sep in ("@", ":"):
            if sep in rest:
                rest, _, ref = rest.partition(sep)
                break
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor, Action.READ)
            row = self._registry._collection_row(store, reg, rest)
        if ref is None or ref == "":
            return WatchSpec(reg.name, reg.id, row["name"], row["id"], "collection")
        if ref.lower() == "latest":
            return WatchSpec(reg.name, reg.id, row["name"], row["id"], "latest")
        if ref.isdigit():
            raise InvalidArgumentError("a version number never changes; watch an alias or 'latest'", field="target")
        validate_alias_name(ref)
        return WatchSpec(reg.name, reg.id, row["name"], row["id"], "alias", ref)
