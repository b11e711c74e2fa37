"""Resolve what a watch stream follows (``registry/collection@alias``, ``...:latest`` or
``registry/collection``), after checking the actor may read it. The streaming itself is
``events.watch``."""

from __future__ import annotations

from modelyard.domain.actor import Actor
from modelyard.domain.names import validate_alias_name
from modelyard.domain.permissions import Action
from modelyard.errors import InvalidArgumentError
from modelyard.events.watch import WatchSpec
from modelyard.storage.interfaces import Database

from .registry import RegistryService


class WatchService:
    def __init__(self, db: Database, registry: RegistryService) -> None:
        self._db = db
        self._registry = registry

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
