"""Use cases for registries, collections, versions, aliases and tags.

Each public method is one unit of work: it opens a transaction, validates, reads, writes,
appends exactly one event per change, and commits once. Imports ``storage.interfaces``
only, never a concrete adapter.

``updated_at`` moves as MLflow's ``last_updated_timestamp`` does (issue 10), so both APIs
show one clock: a collection's on its own edits (description, rename), new or deleted
versions and stage changes of its versions; a version's on its own edits and stage changes.
Tags and aliases move neither (the event log records them, with their time).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from modelyard.domain import events as ev
from modelyard.domain.actor import Actor
from modelyard.domain.digest import Digest
from modelyard.domain.identity import AliasPolicy
from modelyard.domain.models import (
    STAGE_RANK,
    STAGES,
    VISIBILITY_ORGANIZATION,
    VISIBILITY_RESTRICTED,
    AliasChange,
    Collection,
    FileEntry,
    Page,
    Registry,
    Version,
    VersionMetadata,
)
from modelyard.domain.names import (
    MAX_METADATA_JSON,
    MAX_TAGS,
    alias_key,
    normalize_collection_name,
    validate_alias_name,
    validate_artifact_type,
    validate_collection_name,
    validate_description,
    validate_file_paths,
    validate_registry_name,
    validate_tag,
    validate_tags,
)
from modelyard.domain.paths import VersionRef
from modelyard.domain.permissions import Action
from modelyard.domain.promotion import STAGE_POLICY_PREFIX, Requirements, alias_for_stage, stage_guard
from modelyard.domain.search import (
    DEFAULT_PAGE_SIZE,
    CollectionQuery,
    check_page_size,
    decode_page_token,
    encode_page_token,
    is_row_id,
    parse_order_by,
)
from modelyard.errors import (
    AliasNotFoundError,
    AlreadyExistsError,
    CollectionNotFoundError,
    ConflictError,
    InvalidArgumentError,
    InvalidPageTokenError,
    LimitExceededError,
    MissingBlobsError,
    NotFoundError,
    PromotionRequiredError,
    RegistryNotFoundError,
    VersionNotFoundError,
)
from modelyard.storage.interfaces import BlobStore, Database, MetadataStore

from . import authz

DEFAULT_REGISTRIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("models", ("model",), "Trained models."),
    ("datasets", ("dataset",), "Datasets and their snapshots."),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def manifest_digest(files: Sequence[FileEntry]) -> str:
    """The digest of a version's manifest: sha256 over its sorted (path, digest, size) list."""
    body = json.dumps([[f.path, f.digest, f.size] for f in sorted(files, key=lambda f: f.path)], separators=(",", ":"))
    return f"sha256:{hashlib.sha256(body.encode()).hexdigest()}"


class RegistryService:
    def __init__(self, db: Database, blobs: BlobStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._blobs = blobs
        self._clock = clock

    # -- helpers --------------------------------------------------------------------------------

    def _event(
        self,
        store: MetadataStore,
        actor: Actor,
        action: str,
        target: str,
        *,
        registry: str | None,
        collection_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        now: datetime,
    ) -> int:
        return store.append_event(
            now=now,
            actor=actor.name,
            actor_kind=actor.kind,
            token_name=actor.token_name,
            action=action,
            target=target,
            registry=registry,
            collection_id=collection_id,
            before=before,
            after=after,
            request_id=actor.request_id,
            client_address=actor.client_address,
        )

    @staticmethod
    def _registry(
        store: MetadataStore, name: str, actor: Actor | None = None, action: Action = Action.READ
    ) -> Registry:
        """The registry, after checking ``actor`` may do ``action`` on it (None: trusted caller)."""
        validate_registry_name(name)
        reg = store.find_registry(name)
        if reg is None:
            raise RegistryNotFoundError(registry=name)
        authz.require(store, actor, reg, action)
        return reg

    @staticmethod
    def _collection_row(store: MetadataStore, reg: Registry, name: str, *, for_update: bool = False) -> Any:
        validate_collection_name(name)
        row = store.find_collection_row(reg.id, name, for_update=for_update)
        if row is None:
            raise CollectionNotFoundError(registry=reg.name, collection=name)
        return row

    @staticmethod
    def _version_row(store: MetadataStore, reg: Registry, crow: Any, ref: VersionRef) -> Any:
        path = f"{reg.name}/{crow['name']}:{ref}"
        if ref.number is not None:
            number: int | None = ref.number
        elif ref.is_latest:
            number = crow["latest_version"]
        else:
            assert ref.alias is not None
            found = store.find_alias(crow["id"], alias_key(ref.alias))
            if found is None:
                raise AliasNotFoundError(path=f"{reg.name}/{crow['name']}", alias=ref.alias)
            return store.find_version_row_by_id(found[1])
        row = store.find_version_row(crow["id"], number) if number is not None else None
        if row is None:
            raise VersionNotFoundError(path=path)
        return row

    # -- registries -----------------------------------------------------------------------------

    def create_registry(
        self,
        actor: Actor,
        name: str,
        *,
        description: str = "",
        artifact_types: Sequence[str] = ("model",),
        visibility: str = VISIBILITY_ORGANIZATION,
    ) -> Registry:
        validate_registry_name(name)
        validate_description(description)
        types = _check_types(artifact_types)
        _check_visibility(visibility)
        authz.require_org(actor, Action.CREATE_REGISTRY)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = store.insert_registry(
                name=name, description=description, artifact_types=types, visibility=visibility, now=now
            )
            self._event(
                store,
                actor,
                ev.REGISTRY_CREATED,
                name,
                registry=name,
                now=now,
                after={"artifact_types": types, "visibility": visibility, "description": description},
            )
        return reg

    def check_access(self, actor: Actor | None, registry: str, action: Action) -> Registry:
        """Raise unless ``actor`` may do ``action`` on ``registry`` (404 when it may not even see it)."""
        with self._db.unit_of_work(write=False) as store:
            return self._registry(store, registry, actor, action)

    def get_registry(self, name: str, *, actor: Actor | None = None) -> Registry:
        with self._db.unit_of_work(write=False) as store:
            return self._registry(store, name, actor, Action.READ)

    def list_registries(self, *, actor: Actor | None = None) -> list[Registry]:
        with self._db.unit_of_work(write=False) as store:
            visible = authz.visible_registry_ids(store, actor)
            return [r for r in store.list_registries() if visible is None or r.id in visible]

    def update_registry(
        self,
        actor: Actor,
        name: str,
        *,
        description: str | None = None,
        artifact_types: Sequence[str] | None = None,
        visibility: str | None = None,
    ) -> Registry:
        fields: dict[str, Any] = {}
        if description is not None:
            fields["description"] = validate_description(description)
        if artifact_types is not None:
            fields["artifact_types"] = _check_types(artifact_types)
        if visibility is not None:
            fields["visibility"] = _check_visibility(visibility)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, name, actor, Action.ADMINISTER)
            if not fields:
                return reg
            before = {k: (list(getattr(reg, k)) if k == "artifact_types" else getattr(reg, k)) for k in fields}
            store.update_registry(reg.id, now=now, **fields)
            self._event(store, actor, ev.REGISTRY_UPDATED, name, registry=name, before=before, after=fields, now=now)
            updated = store.find_registry(name)
            assert updated is not None
            return updated

    def delete_registry(self, actor: Actor, name: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, name, actor, Action.ADMINISTER)
            count = store.count_collections(reg.id)
            if count:
                raise ConflictError(
                    f"registry '{name}' still holds {count} collection(s); delete them first",
                    registry=name,
                    collections=count,
                )
            store.delete_registry(reg.id)
            self._event(store, actor, ev.REGISTRY_DELETED, name, registry=name, before={"name": name}, now=now)

    def seed_default_registries(self, actor: Actor) -> list[str]:
        """On a brand-new database, create ``models`` and ``datasets``. Returns what it created."""
        created = []
        with self._db.unit_of_work(write=True) as store:
            if store.list_registries() or store.list_events(limit=1):
                return []
            now = self._clock()
            for name, types, description in DEFAULT_REGISTRIES:
                store.insert_registry(
                    name=name,
                    description=description,
                    artifact_types=list(types),
                    visibility=VISIBILITY_ORGANIZATION,
                    now=now,
                )
                self._event(
                    store,
                    actor,
                    ev.REGISTRY_CREATED,
                    name,
                    registry=name,
                    now=now,
                    after={"artifact_types": list(types), "visibility": VISIBILITY_ORGANIZATION},
                )
                created.append(name)
        return created

    # -- collections ----------------------------------------------------------------------------

    def create_collection(
        self,
        actor: Actor,
        registry: str,
        name: str,
        *,
        artifact_type: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> Collection:
        validate_collection_name(name)
        validate_description(description)
        tags = validate_tags(tags or {})
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            cid = self._insert_collection(store, actor, reg, name, artifact_type, description, tags, now)
            return store.get_collection_by_id(cid)

    def _insert_collection(
        self,
        store: MetadataStore,
        actor: Actor,
        reg: Registry,
        name: str,
        artifact_type: str | None,
        description: str,
        tags: dict[str, str],
        now: datetime,
    ) -> int:
        atype = _accepted_type(reg, artifact_type)
        try:
            cid = store.insert_collection(
                registry_id=reg.id,
                name=name,
                name_norm=normalize_collection_name(name),
                artifact_type=atype,
                description=description,
                created_by=actor.name,
                now=now,
            )
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"collection '{reg.name}/{name}' already exists", registry=reg.name, collection=name
            ) from exc
        for k, v in tags.items():
            store.set_collection_tag(cid, k, v, now)
        self._event(
            store,
            actor,
            ev.COLLECTION_CREATED,
            f"{reg.name}/{name}",
            registry=reg.name,
            collection_id=cid,
            now=now,
            after={"artifact_type": atype, "description": description, "tags": tags},
        )
        return cid

    def get_collection(self, registry: str, name: str, *, actor: Actor | None = None) -> Collection:
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry(store, registry, actor, Action.READ)
            row = self._collection_row(store, reg, name)
            return store.get_collection_by_id(row["id"])

    def update_collection(
        self,
        actor: Actor,
        registry: str,
        name: str,
        *,
        description: str | None = None,
        new_name: str | None = None,
    ) -> Collection:
        fields: dict[str, Any] = {}
        if description is not None:
            fields["description"] = validate_description(description)
        if new_name is not None:
            validate_collection_name(new_name)
            fields["name"] = new_name
            fields["name_norm"] = normalize_collection_name(new_name)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            row = self._collection_row(store, reg, name, for_update=True)
            if not fields:
                return store.get_collection_by_id(row["id"])
            if new_name is not None and new_name != row["name"]:
                # A rename takes the collection's aliases and stages away from the name consumers
                # resolve (and frees the name; names are exact, so 'X' -> 'x' is a rename too): with a
                # protected alias on it, or a version in a protected stage, only who may move that alias may.
                protected = store.protected_aliases_on(reg.id, row["id"])
                authz.require(store, actor, reg, Action.RENAME_COLLECTION, holds_protected_alias=bool(protected))
                if store.find_collection_row(reg.id, new_name) is not None:
                    raise AlreadyExistsError(
                        f"collection '{registry}/{new_name}' already exists", registry=registry, collection=new_name
                    )
            store.update_collection(row["id"], now=now, **fields)
            public = {k: v for k, v in fields.items() if k != "name_norm"}
            before = {k: row[k] for k in public}
            target = f"{registry}/{fields.get('name', row['name'])}"
            self._event(
                store,
                actor,
                ev.COLLECTION_UPDATED,
                target,
                registry=registry,
                collection_id=row["id"],
                before=before,
                after=public,
                now=now,
            )
            return store.get_collection_by_id(row["id"])

    def delete_collection(self, actor: Actor, registry: str, name: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.READ)
            row = self._collection_row(store, reg, name, for_update=True)
            protected = store.protected_aliases_on(reg.id, row["id"])
            authz.require(store, actor, reg, Action.DELETE_COLLECTION, holds_protected_alias=bool(protected))
            coll = store.get_collection_by_id(row["id"])
            store.delete_collection(row["id"])
            self._event(
                store,
                actor,
                ev.COLLECTION_DELETED,
                coll.path,
                registry=registry,
                collection_id=row["id"],
                now=now,
                before={"latest_version": coll.latest_version, "aliases": coll.aliases, "tags": coll.tags},
            )

    def set_collection_tag(self, actor: Actor, registry: str, name: str, key: str, value: str) -> None:
        validate_tag(key, value)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            row = self._collection_row(store, reg, name, for_update=True)
            old = store.set_collection_tag(row["id"], key, value, now)
            if old == value:
                return  # unchanged: nothing to record
            if old is None:
                _check_tag_count(store.count_tags("collection", row["id"]))
            self._event(
                store,
                actor,
                ev.COLLECTION_TAG_SET,
                f"{registry}/{row['name']}",
                registry=registry,
                collection_id=row["id"],
                now=now,
                before=None if old is None else {"key": key, "value": old},
                after={"key": key, "value": value},
            )

    def unset_collection_tag(self, actor: Actor, registry: str, name: str, key: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            row = self._collection_row(store, reg, name, for_update=True)
            old = store.unset_collection_tag(row["id"], key)
            if old is None:
                raise NotFoundError(f"collection '{registry}/{row['name']}' has no tag '{key}'", tag=key)
            self._event(
                store,
                actor,
                ev.COLLECTION_TAG_UNSET,
                f"{registry}/{row['name']}",
                registry=registry,
                collection_id=row["id"],
                now=now,
                before={"key": key, "value": old},
            )

    def search_collections(
        self,
        *,
        registries: Sequence[str] | None = None,
        name: str | None = None,
        match: str = "substring",
        tags: Sequence[tuple[str, str | None]] = (),
        artifact_type: str | None = None,
        alias: str | None = None,
        order_by: str = "name",
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
        actor: Actor | None = None,
    ) -> Page[Collection]:
        """Search collections across registries; sorted, with opaque keyset page tokens."""
        check_page_size(page_size)
        field, descending = parse_order_by(order_by)
        with self._db.unit_of_work(write=False) as store:
            registry_ids: list[int] | None = None
            if registries:
                registry_ids = [self._registry(store, r, actor, Action.READ).id for r in registries]
            visible_registry_ids = authz.visible_registry_ids(store, actor)
            if visible_registry_ids is not None:
                allowed = set(visible_registry_ids)
                registry_ids = [i for i in (registry_ids if registry_ids is not None else allowed) if i in allowed]
            query = CollectionQuery(
                registry_ids=registry_ids,
                name=name or None,
                name_mode=match,
                tags=list(tags),
                artifact_type=artifact_type or None,
                alias=alias or None,
                order_by=field,
                descending=descending,
                limit=page_size,
            )
            if page_token:
                query = replace(query, after=query.position_from_token(page_token))
            items = store.search_collections(query)
        token = None
        if len(items) > page_size:
            items = items[:page_size]
            last = items[-1]
            sort_value: Any = {
                "name": normalize_collection_name(last.name),
                "created_at": last.created_at,
                "updated_at": last.updated_at,
            }[field]
            token = query.token_for(sort_value, last.id)
        return Page(items, token)

    # -- versions -------------------------------------------------------------------------------

    def create_version(
        self,
        actor: Actor,
        registry: str,
        collection: str,
        *,
        files: Sequence[FileEntry],
        metadata: VersionMetadata = VersionMetadata(),
        aliases: Sequence[str] = (),
        artifact_type: str | None = None,
        create_collection: bool = True,
    ) -> Version:
        """Create the next version of a collection from files already in the blob store.

        The number is allocated under the collection's row lock, so concurrent commits get
        consecutive numbers. Every referenced blob must exist with the stated size.
        """
        validate_collection_name(collection)
        files = list(files)
        validate_file_paths([f.path for f in files])
        for f in files:
            Digest.parse(f.digest)
            if not isinstance(f.size, int) or f.size < 0:
                raise InvalidArgumentError(f"file '{f.path}' has an invalid size", file=f.path)
        _check_metadata(metadata)
        alias_names = [validate_alias_name(a) for a in aliases]
        if len({alias_key(a) for a in alias_names}) != len(alias_names):
            raise InvalidArgumentError("the same alias is given twice", field="aliases")
        self.check_access(actor, registry, Action.WRITE)  # say "no such registry" before "missing blobs"
        self._check_blobs(actor, files)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            row = store.find_collection_row(reg.id, collection, for_update=True)
            if row is None:
                if not create_collection:
                    raise CollectionNotFoundError(registry=registry, collection=collection)
                try:
                    self._insert_collection(store, actor, reg, collection, artifact_type, "", {}, now)
                except AlreadyExistsError:
                    pass  # a concurrent first push created it; use theirs
                row = store.find_collection_row(reg.id, collection, for_update=True)
                assert row is not None
            elif artifact_type is not None and artifact_type != row["artifact_type"]:
                raise InvalidArgumentError(
                    f"collection '{registry}/{row['name']}' holds '{row['artifact_type']}' artifacts, "
                    f"not '{artifact_type}'",
                    field="artifact_type",
                )
            number = store.allocate_version_number(row["id"])
            size = sum(f.size for f in files)
            digest = manifest_digest(files)
            vid = store.insert_version(
                collection_id=row["id"],
                number=number,
                artifact_type=row["artifact_type"],
                metadata=metadata,
                files=files,
                size=size,
                digest=digest,
                created_by=actor.name,
                now=now,
            )
            store.update_collection(row["id"], now=now, latest_version=number)
            path = f"{registry}/{row['name']}"
            self._event(
                store,
                actor,
                ev.VERSION_CREATED,
                f"{path}:{number}",
                registry=registry,
                collection_id=row["id"],
                now=now,
                after={"version": number, "digest": digest, "size": size, "files": len(files)},
            )
            for alias in alias_names:
                self._move_alias(store, actor, reg, row, alias, vid, number, now)
            return store.versions_by_rows(
                [store.find_version_row_by_id(vid)], registry=registry, collection=row["name"]
            )[0]

    def _check_blobs(self, actor: Actor, files: Sequence[FileEntry]) -> None:
        """Every file's blob must be usable by ``actor`` (``authz.usable_digests``) and stored with
        the stated size; an unusable digest is reported exactly like an absent one."""
        unique = {f.digest: f for f in files}
        with self._db.unit_of_work(write=False) as store:
            usable = authz.usable_digests(store, actor, unique)
        missing = []
        for f in unique.values():
            info = self._blobs.stat(Digest.parse(f.digest)) if f.digest in usable else None
            if info is None or info.size != f.size:
                missing.append(f.digest)
        if missing:
            raise MissingBlobsError(
                f"{len(missing)} file(s) were not uploaded (or have a different size); upload them first",
                missing=missing[:100],
            )

    def record_blob_receipts(self, actor: Actor, digests: Sequence[str]) -> None:
        """Record that ``actor`` supplied these digests' bytes itself (the server read and hashed
        them, e.g. from a ``file:`` source), so they count as present for it (DESIGN.md decision 8)."""
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            for d in sorted(set(digests)):
                authz.record_receipt(store, actor, str(Digest.parse(d)), now=now)

    def get_version(
        self,
        registry: str,
        collection: str,
        ref: str | int | VersionRef,
        *,
        actor: Actor | None = None,
        action: Action = Action.READ,
    ) -> Version:
        vref = ref if isinstance(ref, VersionRef) else VersionRef.parse(str(ref))
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry(store, registry, actor, action)
            crow = self._collection_row(store, reg, collection)
            vrow = self._version_row(store, reg, crow, vref)
            return store.versions_by_rows([vrow], registry=registry, collection=crow["name"])[0]

    def list_versions(
        self,
        registry: str,
        collection: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
        stage: str | None = None,
        descending: bool = True,
        sort: str = "number",
        actor: Actor | None = None,
    ) -> Page[Version]:
        """Versions keyset-paged, newest first (``descending=False``: oldest first), by ``sort``:
        ``number``, ``created`` (time), ``stage`` (Production, Staging, None, Archived; ties by
        number) or ``aliases`` (versions holding an alias first). A token only continues its own order."""
        check_page_size(page_size)
        if sort not in VERSION_SORTS:
            raise InvalidArgumentError(f"sort must be one of {', '.join(VERSION_SORTS)}", field="sort")
        after: int | None = None
        after_key: Any = None
        if page_token:
            payload = decode_page_token(page_token)
            if (
                not is_row_id(payload.get("n"))
                or bool(payload.get("asc")) == descending
                or payload.get("s", "number") != sort
            ):
                raise InvalidPageTokenError("page_token is not a token this server issued", page_token=page_token[:80])
            after = payload["n"]
            after_key = _sort_key_in(sort, payload.get("k"), page_token)
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry(store, registry, actor, Action.READ)
            crow = self._collection_row(store, reg, collection)
            rows = store.list_version_rows(
                crow["id"],
                after_number=after,
                limit=page_size,
                stage=stage,
                descending=descending,
                sort=sort,
                after_key=after_key,
                stage_rank=STAGE_RANK,
            )
            token = None
            if len(rows) > page_size:
                rows = rows[:page_size]
                last = rows[-1]
                state: dict[str, Any] = {"n": last["number"], **({} if descending else {"asc": True})}
                if sort != "number":
                    key = last["sort_key"]
                    state.update(s=sort, k=key.isoformat() if isinstance(key, datetime) else key)
                token = encode_page_token(state)
            items = store.versions_by_rows(rows, registry=registry, collection=crow["name"], with_files=False)
        return Page(items, token)

    def versions_of_run(
        self, run_id: str, *, actor: Actor | None = None, limit: int = 50
    ) -> list[tuple[str, str, int]]:
        """(registry, collection, number) of the versions registered from an MLflow/tracking run,
        in the registries ``actor`` may read (lineage: the run page lists them)."""
        check_page_size(limit)
        with self._db.unit_of_work(write=False) as store:
            return store.versions_of_run(run_id, registry_ids=authz.visible_registry_ids(store, actor), limit=limit)

    def update_version(
        self, actor: Actor, registry: str, collection: str, number: int, *, description: str | None = None
    ) -> Version:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            if description is not None:
                validate_description(description)
                store.update_version(vrow["id"], now=now, description=description)
                self._event(
                    store,
                    actor,
                    ev.VERSION_UPDATED,
                    f"{registry}/{crow['name']}:{number}",
                    registry=registry,
                    collection_id=crow["id"],
                    now=now,
                    before={"description": vrow["description"]},
                    after={"description": description},
                )
            return store.versions_by_rows(
                [store.find_version_row_by_id(vrow["id"])], registry=registry, collection=crow["name"]
            )[0]

    def delete_version(self, actor: Actor, registry: str, collection: str, number: int) -> None:
        """Delete one version. Its number is never reused; aliases on it are removed (and recorded)."""
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            path = f"{registry}/{crow['name']}"
            for alias in store.aliases_of_version(vrow["id"]):
                self._check_alias_policy(store, actor, reg, crow, alias, via="remove")
            for alias in store.aliases_of_version(vrow["id"]):
                self._event(
                    store,
                    actor,
                    ev.ALIAS_UNSET,
                    f"{path}@{alias}",
                    registry=registry,
                    collection_id=crow["id"],
                    now=now,
                    before={"alias": alias, "version": number},
                    after={"reason": "version deleted"},
                )
            store.delete_version(vrow["id"])
            latest = crow["latest_version"]
            if latest == number:
                latest = store.max_version_number(crow["id"])
            store.update_collection(crow["id"], now=now, latest_version=latest)
            self._event(
                store,
                actor,
                ev.VERSION_DELETED,
                f"{path}:{number}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before={"version": number, "digest": vrow["digest"], "size": vrow["size"]},
            )

    def set_version_tag(self, actor: Actor, registry: str, collection: str, number: int, key: str, value: str) -> None:
        validate_tag(key, value)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            old = store.set_version_tag(vrow["id"], key, value, now)
            if old == value:
                return  # unchanged: nothing to record
            if old is None:
                _check_tag_count(store.count_tags("version", vrow["id"]))
            self._event(
                store,
                actor,
                ev.VERSION_TAG_SET,
                f"{registry}/{crow['name']}:{number}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before=None if old is None else {"key": key, "value": old},
                after={"key": key, "value": value},
            )

    def unset_version_tag(self, actor: Actor, registry: str, collection: str, number: int, key: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            old = store.unset_version_tag(vrow["id"], key)
            if old is None:
                raise NotFoundError(f"version '{registry}/{crow['name']}:{number}' has no tag '{key}'", tag=key)
            self._event(
                store,
                actor,
                ev.VERSION_TAG_UNSET,
                f"{registry}/{crow['name']}:{number}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before={"key": key, "value": old},
            )

    def set_stage(
        self, actor: Actor, registry: str, collection: str, number: int, stage: str, *, archive_existing: bool = False
    ) -> Version:
        """Legacy lifecycle: move a version to a stage, optionally archiving others in that stage."""
        stage = _check_stage(stage)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            self._apply_stage(store, actor, reg, crow, vrow, stage, archive_existing, now)
            return store.versions_by_rows(
                [store.find_version_row_by_id(vrow["id"])], registry=registry, collection=crow["name"]
            )[0]

    def _apply_stage(
        self,
        store: MetadataStore,
        actor: Actor,
        reg: Registry,
        crow: Any,
        vrow: Any,
        stage: str,
        archive_existing: bool,
        now: datetime,
        *,
        via: str | None = None,
    ) -> None:
        registry = reg.name
        key = STAGE_POLICY_PREFIX + stage
        # Taking versions out of a guarded stage is like removing a protected alias (admins only),
        # unless an approved request moves a version into a guarded stage: then the version leaves
        # its old stage and ``archive_existing`` archives the others as part of that promotion.
        approved = via == "promotion" and self.guarding_policy(store, reg, crow, key) is not None
        if vrow["stage"] != stage:
            self._check_policy(store, actor, reg, crow, key, f"stage '{stage}'", via=via)
            if not approved:
                old = vrow["stage"]
                self._check_policy(store, actor, reg, crow, STAGE_POLICY_PREFIX + old, f"stage '{old}'", via="remove")
        path = f"{registry}/{crow['name']}"
        if archive_existing and stage in ("Staging", "Production"):
            others = store.list_version_rows(crow["id"], after_number=None, limit=100_000, stage=stage)
            if not approved and any(o["id"] != vrow["id"] for o in others):
                self._check_policy(store, actor, reg, crow, key, f"stage '{stage}'", via="remove")
            for other in others:
                if other["id"] != vrow["id"]:
                    store.update_version(other["id"], now=now, stage="Archived")
                    self._event(
                        store,
                        actor,
                        ev.STAGE_CHANGED,
                        f"{path}:{other['number']}",
                        registry=registry,
                        collection_id=crow["id"],
                        now=now,
                        before={"stage": stage},
                        after={"stage": "Archived"},
                    )
        if vrow["stage"] != stage:
            store.update_version(vrow["id"], now=now, stage=stage)
            store.update_collection(crow["id"], now=now)
            self._event(
                store,
                actor,
                ev.STAGE_CHANGED,
                f"{path}:{vrow['number']}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before={"stage": vrow["stage"]},
                after={"stage": stage},
            )

    # -- aliases --------------------------------------------------------------------------------

    def set_alias(self, actor: Actor, registry: str, collection: str, alias: str, number: int) -> Version:
        """Point ``alias`` at version ``number`` (creating or moving it). Recorded in the history."""
        validate_alias_name(alias)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            vrow = self._version_row(store, reg, crow, VersionRef(number=number))
            self._move_alias(store, actor, reg, crow, alias, vrow["id"], number, now)
            return store.versions_by_rows([vrow], registry=registry, collection=crow["name"], with_files=False)[0]

    @staticmethod
    def _check_policy(
        store: MetadataStore,
        actor: Actor | None,
        reg: Registry,
        crow: Any,
        key: str,
        label: str,
        *,
        via: str | None = None,
    ) -> None:
        """Guard a protected alias or stage (``key`` is the alias, or ``stage:<name>``).

        Only registry admins move protected ones, and one with promotion requirements moves only
        through a promotion request (``via="promotion"``, whose requirements the caller checked),
        or an admin's rollback or removal (``via="rollback"`` / ``"remove"``). A request for one
        that is protected but requires nothing adds nothing: completing it needs an admin.
        """
        policy = RegistryService.guarding_policy(store, reg, crow, key)
        if policy is None or not policy.protected:
            return
        if via == "promotion" and not Requirements.parse(policy.requirements).empty:
            return
        if key.startswith(STAGE_POLICY_PREFIX) and not policy.alias.startswith(STAGE_POLICY_PREFIX):
            label = f"{label} (guarded by alias '{policy.alias}')"
        if via is None and not Requirements.parse(policy.requirements).empty:
            authz.require(store, actor, reg, Action.READ)
            raise PromotionRequiredError(
                f"{label} in '{reg.name}' has promotion requirements; open a promotion request "
                f"('modelyard promote ...') instead of moving it directly",
                registry=reg.name,
                target=label,
            )
        authz.require(store, actor, reg, Action.MOVE_PROTECTED_ALIAS, holds_protected_alias=True)

    @staticmethod
    def guarding_policy(store: MetadataStore, reg: Registry, crow: Any, key: str) -> AliasPolicy | None:
        """The policy that guards ``key`` (an alias, or ``stage:<name>``) on this collection.

        A stage without a policy of its own is guarded by the policy of the alias it maps to
        (``stage_guard`` in domain/promotion.py), so ``Production`` cannot bypass ``production``.
        """
        policy = store.effective_alias_policy(reg.id, crow["id"], key.lower(), reg.name)
        if not key.startswith(STAGE_POLICY_PREFIX):
            return policy
        alias = alias_for_stage(key[len(STAGE_POLICY_PREFIX) :])
        if alias is None:
            return policy
        return stage_guard(policy, store.effective_alias_policy(reg.id, crow["id"], alias, reg.name))

    def _check_alias_policy(
        self,
        store: MetadataStore,
        actor: Actor | None,
        reg: Registry,
        crow: Any,
        alias: str,
        *,
        via: str | None = None,
    ) -> None:
        self._check_policy(store, actor, reg, crow, alias, f"alias '{alias}'", via=via)

    def _move_alias(
        self,
        store: MetadataStore,
        actor: Actor,
        reg: Registry,
        crow: Any,
        alias: str,
        vid: int,
        number: int,
        now: datetime,
        *,
        via: str | None = None,
        note: dict[str, Any] | None = None,
    ) -> bool:
        """Point ``alias`` at version ``vid``; returns False when it already pointed there."""
        registry = reg.name
        current = store.find_alias(crow["id"], alias_key(alias))
        if current is not None and current[1] == vid:
            return False
        self._check_alias_policy(store, actor, reg, crow, alias, via=via)
        store.set_alias(crow["id"], alias, vid, actor=actor.name, now=now)
        self._event(
            store,
            actor,
            ev.ALIAS_SET,
            f"{registry}/{crow['name']}@{alias}",
            registry=registry,
            collection_id=crow["id"],
            now=now,
            before=None if current is None else {"alias": current[0], "version": current[2]},
            after={"alias": alias, "version": number, **(note or {})},
        )
        return True

    def rollback_alias(
        self, actor: Actor, registry: str, collection: str, alias: str, *, to: int | None = None
    ) -> Version:
        """Move ``alias`` back to the version it pointed to before its last move (or to ``to``).

        Same policy as any move, except that a registry admin may roll back a guarded alias
        without new approvals; the event records ``rollback: true``.
        """
        validate_alias_name(alias)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            current = store.find_alias(crow["id"], alias_key(alias))
            if current is None:
                raise AliasNotFoundError(path=f"{registry}/{crow['name']}", alias=alias)
            target = to
            if target is None:
                for move in store.alias_history(crow["id"], f"{registry}/{crow['name']}@{current[0]}", limit=1000):
                    if move.version == current[2] and move.previous_version is not None:
                        target = move.previous_version
                        break
                if target is None:
                    raise ConflictError(
                        f"alias '{alias}' has no earlier version to roll back to; give one with --to",
                        alias=alias,
                    )
            vrow = self._version_row(store, reg, crow, VersionRef(number=target))
            if vrow["id"] == current[1]:
                raise ConflictError(f"alias '{alias}' already points to version {target}", alias=alias)
            self._move_alias(
                store,
                actor,
                reg,
                crow,
                current[0],
                vrow["id"],
                target,
                now,
                via="rollback",
                note={"rollback": True, "rolled_back_from": current[2]},
            )
            return store.versions_by_rows([vrow], registry=registry, collection=crow["name"], with_files=False)[0]

    def unset_alias(self, actor: Actor, registry: str, collection: str, alias: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry(store, registry, actor, Action.WRITE)
            crow = self._collection_row(store, reg, collection, for_update=True)
            current = store.find_alias(crow["id"], alias_key(alias))
            if current is None:
                raise AliasNotFoundError(path=f"{registry}/{crow['name']}", alias=alias)
            self._check_alias_policy(store, actor, reg, crow, alias, via="remove")
            store.delete_alias(crow["id"], alias_key(alias))
            self._event(
                store,
                actor,
                ev.ALIAS_UNSET,
                f"{registry}/{crow['name']}@{current[0]}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before={"alias": current[0], "version": current[2]},
            )

    def alias_history(
        self, registry: str, collection: str, alias: str, *, limit: int = 100, actor: Actor | None = None
    ) -> list[AliasChange]:
        """Every move of ``alias``, newest first: version, previous version, who, when."""
        check_page_size(limit)
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry(store, registry, actor, Action.READ)
            crow = self._collection_row(store, reg, collection)
            return store.alias_history(crow["id"], f"{registry}/{crow['name']}@{alias}", limit=limit)


def _check_tag_count(count: int) -> None:
    if count > MAX_TAGS:
        raise LimitExceededError(f"at most {MAX_TAGS} tags are allowed; remove one first", field="tags")


def _check_types(types: Sequence[str]) -> list[str]:
    if isinstance(types, str) or not types:
        raise InvalidArgumentError("artifact_types must be a non-empty list", field="artifact_types")
    out = []
    for t in types:
        validate_artifact_type(t)
        if t not in out:
            out.append(t)
    return out


def _check_visibility(visibility: str) -> str:
    if visibility not in (VISIBILITY_ORGANIZATION, VISIBILITY_RESTRICTED):
        raise InvalidArgumentError(
            f"visibility must be '{VISIBILITY_ORGANIZATION}' or '{VISIBILITY_RESTRICTED}'", field="visibility"
        )
    return visibility


def _check_stage(stage: str) -> str:
    for s in STAGES:
        if isinstance(stage, str) and stage.lower() == s.lower():
            return s
    raise InvalidArgumentError(f"stage must be one of {', '.join(STAGES)}, got '{str(stage)[:40]}'", field="stage")


def _accepted_type(reg: Registry, artifact_type: str | None) -> str:
    if artifact_type is None:
        return reg.artifact_types[0]
    validate_artifact_type(artifact_type)
    if artifact_type not in reg.artifact_types:
        raise InvalidArgumentError(
            f"registry '{reg.name}' accepts {', '.join(reg.artifact_types)}, not '{artifact_type}'",
            field="artifact_type",
        )
    return artifact_type


def _check_metadata(md: VersionMetadata) -> None:
    validate_description(md.description)
    validate_tags(md.tags)
    for name, value in md.metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidArgumentError(f"metric '{name}' must be a number", field="metrics")
    size = len(json.dumps([md.params, md.metrics, md.datasets, md.signature], default=str))
    if size > MAX_METADATA_JSON:
        raise LimitExceededError(
            f"params, metrics, datasets and signature together are {size} bytes; at most {MAX_METADATA_JSON}",
            field="metadata",
        )


VERSION_SORTS = ("number", "created", "stage", "aliases")


def _sort_key_in(sort: str, key: Any, token: str) -> Any:
    """The sort key a page token carries, checked against its sort (None for ``number``)."""
    bad = InvalidPageTokenError("page_token is not a token this server issued", page_token=token[:80])
    if sort == "number":
        return None
    if sort == "created":
        if not isinstance(key, str):
            raise bad
        try:
            at = datetime.fromisoformat(key)
        except ValueError as exc:
            raise bad from exc
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    if isinstance(key, bool) or not isinstance(key, int) or not -1 <= key < len(STAGE_RANK):
        raise bad
    return key
