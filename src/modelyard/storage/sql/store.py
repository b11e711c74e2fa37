"""``SqlMetadataStore``: every read and write of metadata, inside one connection's transaction.

Store methods never commit; the unit of work (``engine.Database.unit_of_work``) does.
Driver exceptions are translated here (``IntegrityError`` -> ``AlreadyExistsError``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from modelyard.domain.audit import GENESIS_HASH, event_hash
from modelyard.domain.models import (
    AliasChange,
    AliasRef,
    Collection,
    Event,
    FileEntry,
    FileRef,
    Registry,
    RunRef,
    UploadSession,
    Version,
    VersionMetadata,
)
from modelyard.domain.names import alias_key
from modelyard.domain.search import CollectionQuery
from modelyard.errors import AlreadyExistsError

from . import governance_tables as gt
from . import tables as t
from . import tracking_tables as tt
from .automation_store import AutomationStoreMixin
from .governance_store import GovernanceStoreMixin
from .ids import fresh_id
from .promotion_store import PromotionStoreMixin
from .upsert import upsert


class SqlMetadataStore(GovernanceStoreMixin, PromotionStoreMixin, AutomationStoreMixin):
    """Implements ``storage.interfaces.MetadataStore`` over one SQLAlchemy connection."""

    def __init__(self, conn: Connection, *, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    # -- registries -------------------------------------------------------------------------

    def insert_registry(
        self, *, name: str, description: str, artifact_types: list[str], visibility: str, now: datetime
    ) -> Registry:
        try:
            with self.conn.begin_nested():
                rid = self.conn.execute(
                    insert(t.registries).values(
                        **fresh_id(self.conn, self.dialect, t.registries),
                        name=name,
                        description=description,
                        artifact_types=artifact_types,
                        visibility=visibility,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError as exc:
            raise AlreadyExistsError(f"registry '{name}' already exists", registry=name) from exc
        return Registry(rid, name, description, tuple(artifact_types), visibility, now, now)

    def find_registry(self, name: str) -> Registry | None:
        row = self.conn.execute(select(t.registries).where(t.registries.c.name == name)).mappings().first()
        return _registry(row) if row else None

    def list_registries(self) -> list[Registry]:
        rows = self.conn.execute(select(t.registries).order_by(t.registries.c.name)).mappings()
        return [_registry(r) for r in rows]

    def update_registry(self, registry_id: int, *, now: datetime, **fields: Any) -> None:
        self.conn.execute(update(t.registries).where(t.registries.c.id == registry_id).values(updated_at=now, **fields))

    def delete_registry(self, registry_id: int) -> None:
        """Delete the registry; its events stay (the log is append-only) but lose its id, so they
        are visible to org admins only and never to a registry that later takes the name or id."""
        self.conn.execute(update(t.events).where(t.events.c.registry_id == registry_id).values(registry_id=None))
        self.conn.execute(delete(t.registries).where(t.registries.c.id == registry_id))

    def count_collections(self, registry_id: int) -> int:
        return int(
            self.conn.execute(
                select(func.count()).select_from(t.collections).where(t.collections.c.registry_id == registry_id)
            ).scalar_one()
        )

    # -- collections ------------------------------------------------------------------------

    def find_collection_row(self, registry_id: int, name: str, *, for_update: bool = False) -> RowMapping | None:
        """The collection named exactly ``name`` (case-sensitive, as MLflow's registered models)."""
        q = select(t.collections).where(t.collections.c.registry_id == registry_id, t.collections.c.name == name)
        if for_update and self.dialect == "postgresql":
            q = q.with_for_update()
        return self.conn.execute(q).mappings().first()

    def collection_row_by_id(self, collection_id: int) -> RowMapping:
        return self.conn.execute(select(t.collections).where(t.collections.c.id == collection_id)).mappings().one()

    def insert_collection(
        self,
        *,
        registry_id: int,
        name: str,
        name_norm: str,
        artifact_type: str,
        description: str,
        created_by: str,
        now: datetime,
    ) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(t.collections).values(
                            **fresh_id(self.conn, self.dialect, t.collections),
                            registry_id=registry_id,
                            name=name,
                            name_norm=name_norm,
                            artifact_type=artifact_type,
                            description=description,
                            next_version=1,
                            latest_version=None,
                            created_by=created_by,
                            created_at=now,
                            updated_at=now,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"collection '{name}' already exists", collection=name) from exc

    def update_collection(self, collection_id: int, *, now: datetime, **fields: Any) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    update(t.collections).where(t.collections.c.id == collection_id).values(updated_at=now, **fields)
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a collection named '{fields.get('name', '')}' already exists", collection=fields.get("name")
            ) from exc

    def allocate_version_number(self, collection_id: int) -> int:
        """Take the collection's next number and advance it. The caller holds the row lock."""
        row = self.conn.execute(
            update(t.collections)
            .where(t.collections.c.id == collection_id)
            .values(next_version=t.collections.c.next_version + 1)
            .returning(t.collections.c.next_version)
        ).scalar_one()
        return int(row) - 1

    def delete_collection(self, collection_id: int) -> None:
        self.conn.execute(delete(t.collections).where(t.collections.c.id == collection_id))

    def collections_by_rows(self, rows: Sequence[RowMapping]) -> list[Collection]:
        """Build ``Collection`` objects for rows of ``collections`` (joined registry name in ``registry``)."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        for r in self.conn.execute(
            select(t.collection_tags.c.collection_id, t.collection_tags.c.key, t.collection_tags.c.value)
            .where(t.collection_tags.c.collection_id.in_(ids))
            .order_by(t.collection_tags.c.key)
        ):
            tags[r[0]][r[1]] = r[2]
        aliases: dict[int, dict[str, int]] = {i: {} for i in ids}
        for r in self.conn.execute(
            select(t.aliases.c.collection_id, t.aliases.c.name, t.versions.c.number)
            .join(t.versions, t.versions.c.id == t.aliases.c.version_id)
            .where(t.aliases.c.collection_id.in_(ids))
            .order_by(t.aliases.c.name)
        ):
            aliases[r[0]][r[1]] = r[2]
        return [
            Collection(
                id=r["id"],
                registry=r["registry"],
                name=r["name"],
                artifact_type=r["artifact_type"],
                description=r["description"],
                tags=tags[r["id"]],
                aliases=aliases[r["id"]],
                latest_version=r["latest_version"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                created_by=r["created_by"],
            )
            for r in rows
        ]

    def get_collection_by_id(self, collection_id: int) -> Collection:
        row = self.conn.execute(_collection_select().where(t.collections.c.id == collection_id)).mappings().one()
        return self.collections_by_rows([row])[0]

    def search_collections(self, query: CollectionQuery) -> list[Collection]:
        """One page of collections matching ``query`` (keyset pagination, ``limit + 1`` rows)."""
        c = t.collections.c
        q = _collection_select()
        if query.registry_ids is not None:
            q = q.where(c.registry_id.in_(query.registry_ids))
        if query.artifact_type:
            q = q.where(c.artifact_type == query.artifact_type)
        if query.name:
            norm = query.name_norm
            if query.name_mode == "exact":
                q = q.where(c.name_norm == norm)
            elif query.name_mode == "prefix":
                # A code-point range is a prefix match only in binary order: force it on PostgreSQL,
                # whose default collation may sort otherwise (SQLite compares binary already).
                name_col = c.name_norm.collate("C") if self.dialect == "postgresql" else c.name_norm
                q = q.where(name_col >= norm, name_col < norm + "\U0010ffff")
            else:
                escaped = norm.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                q = q.where(c.name_norm.like(f"%{escaped}%", escape="\\"))
        for key, value in query.tags:
            cond = [t.collection_tags.c.collection_id == c.id, t.collection_tags.c.key == key]
            if value is not None:
                cond.append(t.collection_tags.c.value == value)
            q = q.where(select(t.collection_tags.c.id).where(*cond).exists())
        if query.alias:
            q = q.where(
                select(t.aliases.c.id)
                .where(t.aliases.c.collection_id == c.id, t.aliases.c.name_norm == alias_key(query.alias))
                .exists()
            )
        col = {"name": c.name_norm, "created_at": c.created_at, "updated_at": c.updated_at}[query.order_by]
        if query.after is not None:
            after_value, after_id = query.after
            if query.descending:
                q = q.where(or_(col < after_value, and_(col == after_value, c.id < after_id)))
            else:
                q = q.where(or_(col > after_value, and_(col == after_value, c.id > after_id)))
        if query.descending:
            q = q.order_by(col.desc(), c.id.desc())
        else:
            q = q.order_by(col.asc(), c.id.asc())
        rows = list(self.conn.execute(q.limit(query.limit + 1)).mappings())
        return self.collections_by_rows(rows)

    # -- tags ---------------------------------------------------------------------------------

    def set_collection_tag(self, collection_id: int, key: str, value: str, now: datetime) -> str | None:
        return self._set_tag(t.collection_tags, "collection_id", collection_id, key, value, now)

    def unset_collection_tag(self, collection_id: int, key: str) -> str | None:
        return self._unset_tag(t.collection_tags, "collection_id", collection_id, key)

    def set_version_tag(self, version_id: int, key: str, value: str, now: datetime) -> str | None:
        return self._set_tag(t.version_tags, "version_id", version_id, key, value, now)

    def unset_version_tag(self, version_id: int, key: str) -> str | None:
        return self._unset_tag(t.version_tags, "version_id", version_id, key)

    def count_tags(self, owner: str, owner_id: int) -> int:
        """How many tags a ``collection`` or ``version`` holds."""
        table = t.collection_tags if owner == "collection" else t.version_tags
        column = table.c.collection_id if owner == "collection" else table.c.version_id
        return int(self.conn.execute(select(func.count()).select_from(table).where(column == owner_id)).scalar_one())

    def _set_tag(self, table: Any, owner: str, owner_id: int, key: str, value: str, now: datetime) -> str | None:
        return upsert(self.conn, table, {owner: owner_id, "key": key}, {"value": value}, now=now, old="value")  # type: ignore[no-any-return]

    def _unset_tag(self, table: Any, owner: str, owner_id: int, key: str) -> str | None:
        old = self.conn.execute(
            select(table.c.value).where(table.c[owner] == owner_id, table.c.key == key)
        ).scalar_one_or_none()
        if old is not None:
            self.conn.execute(delete(table).where(table.c[owner] == owner_id, table.c.key == key))
        return old  # type: ignore[no-any-return]

    # -- versions -------------------------------------------------------------------------------

    def insert_version(
        self,
        *,
        collection_id: int,
        number: int,
        artifact_type: str,
        metadata: VersionMetadata,
        files: Sequence[FileEntry],
        size: int,
        digest: str,
        created_by: str,
        now: datetime,
    ) -> int:
        try:
            with self.conn.begin_nested():
                vid = int(
                    self.conn.execute(
                        insert(t.versions).values(
                            collection_id=collection_id,
                            number=number,
                            artifact_type=artifact_type,
                            stage="None",
                            description=metadata.description,
                            run_id=metadata.run.id,
                            run_url=metadata.run.url,
                            params=metadata.params,
                            metrics=metadata.metrics,
                            datasets=metadata.datasets,
                            framework=metadata.framework,
                            flavor=metadata.flavor,
                            signature=metadata.signature,
                            source=metadata.source,
                            size=size,
                            file_count=len(files),
                            digest=digest,
                            created_by=created_by,
                            created_at=now,
                            updated_at=now,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:  # the unique (collection_id, number) backstop
            raise AlreadyExistsError(f"version {number} already exists", number=number) from exc
        if files:
            for start in range(0, len(files), 5000):
                self.conn.execute(
                    insert(t.version_files),
                    [
                        {"version_id": vid, "path": f.path, "digest": f.digest, "size": f.size}
                        for f in files[start : start + 5000]
                    ],
                )
        if metadata.tags:
            self.conn.execute(
                insert(t.version_tags),
                [
                    {"version_id": vid, "key": k, "value": v, "created_at": now, "updated_at": now}
                    for k, v in metadata.tags.items()
                ],
            )
        return vid

    def find_version_row(self, collection_id: int, number: int) -> RowMapping | None:
        return (
            self.conn.execute(
                select(t.versions).where(t.versions.c.collection_id == collection_id, t.versions.c.number == number)
            )
            .mappings()
            .first()
        )

    def find_version_row_by_id(self, version_id: int) -> RowMapping | None:
        return self.conn.execute(select(t.versions).where(t.versions.c.id == version_id)).mappings().first()

    def max_version_number(self, collection_id: int) -> int | None:
        return self.conn.execute(  # type: ignore[no-any-return]
            select(func.max(t.versions.c.number)).where(t.versions.c.collection_id == collection_id)
        ).scalar_one_or_none()

    def list_version_rows(
        self,
        collection_id: int,
        *,
        after_number: int | None,
        limit: int,
        descending: bool = True,
        stage: str | None = None,
        sort: str = "number",
        after_key: Any = None,
        stage_rank: Sequence[str] = (),
    ) -> list[RowMapping]:
        """One keyset page of a collection's versions, ordered by ``sort`` then number: ``number``,
        ``created`` (created_at), ``stage`` (by position in ``stage_rank``) or ``aliases`` (versions
        with an alias before those without). The page after ``(after_key, after_number)``."""
        v = t.versions
        q = select(v).where(v.c.collection_id == collection_id)
        if stage is not None:
            q = q.where(v.c.stage == stage)
        key: Any = None
        if sort == "created":
            key = v.c.created_at
        elif sort == "stage":
            key = case({name: rank for rank, name in enumerate(stage_rank)}, value=v.c.stage, else_=-1)
        elif sort == "aliases":
            aliased = select(t.aliases.c.version_id).where(t.aliases.c.version_id == v.c.id).exists()
            key = case((aliased, 1), else_=0)
        if key is not None:
            q = q.add_columns(key.label("sort_key"))
        if after_number is not None:
            after = v.c.number < after_number if descending else v.c.number > after_number
            if key is not None:
                beyond = key < after_key if descending else key > after_key
                after = or_(beyond, and_(key == after_key, after))
            q = q.where(after)
        order = [v.c.number.desc() if descending else v.c.number.asc()]
        if key is not None:
            order.insert(0, key.desc() if descending else key.asc())
        q = q.order_by(*order).limit(limit + 1)
        return list(self.conn.execute(q).mappings())

    def versions_by_rows(
        self, rows: Sequence[RowMapping], *, registry: str, collection: str, with_files: bool = True
    ) -> list[Version]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        for r in self.conn.execute(
            select(t.version_tags.c.version_id, t.version_tags.c.key, t.version_tags.c.value)
            .where(t.version_tags.c.version_id.in_(ids))
            .order_by(t.version_tags.c.key)
        ):
            tags[r[0]][r[1]] = r[2]
        aliases: dict[int, list[str]] = {i: [] for i in ids}
        for r in self.conn.execute(
            select(t.aliases.c.version_id, t.aliases.c.name)
            .where(t.aliases.c.version_id.in_(ids))
            .order_by(t.aliases.c.name)
        ):
            aliases[r[0]].append(r[1])
        files: dict[int, list[FileEntry]] = {i: [] for i in ids}
        if with_files:
            for r in self.conn.execute(
                select(
                    t.version_files.c.version_id,
                    t.version_files.c.path,
                    t.version_files.c.digest,
                    t.version_files.c.size,
                )
                .where(t.version_files.c.version_id.in_(ids))
                .order_by(t.version_files.c.path)
            ):
                files[r[0]].append(FileEntry(r[1], r[2], r[3]))
        out = []
        for r in rows:
            md = VersionMetadata(
                description=r["description"],
                tags=tags[r["id"]],
                run=RunRef(r["run_id"], r["run_url"]),
                params=r["params"] or {},
                metrics=r["metrics"] or {},
                datasets=r["datasets"] or [],
                framework=r["framework"],
                flavor=r["flavor"],
                signature=r["signature"],
                source=r["source"],
            )
            out.append(
                Version(
                    id=r["id"],
                    registry=registry,
                    collection=collection,
                    number=r["number"],
                    artifact_type=r["artifact_type"],
                    files=tuple(files[r["id"]]),
                    metadata=md,
                    aliases=tuple(aliases[r["id"]]),
                    stage=r["stage"],
                    size=r["size"],
                    file_count=r["file_count"],
                    digest=r["digest"],
                    created_at=r["created_at"],
                    updated_at=r["updated_at"],
                    created_by=r["created_by"],
                )
            )
        return out

    def find_file(self, version_id: int, path: str) -> FileEntry | None:
        r = self.conn.execute(
            select(t.version_files.c.path, t.version_files.c.digest, t.version_files.c.size).where(
                t.version_files.c.version_id == version_id, t.version_files.c.path == path
            )
        ).first()
        return FileEntry(r[0], r[1], r[2]) if r else None

    def update_version(self, version_id: int, *, now: datetime, **fields: Any) -> None:
        self.conn.execute(update(t.versions).where(t.versions.c.id == version_id).values(updated_at=now, **fields))

    def delete_version(self, version_id: int) -> None:
        self.conn.execute(delete(t.aliases).where(t.aliases.c.version_id == version_id))
        self.conn.execute(delete(t.versions).where(t.versions.c.id == version_id))

    # -- aliases --------------------------------------------------------------------------------

    def find_alias(self, collection_id: int, name_norm: str) -> tuple[str, int, int] | None:
        """(alias name, version id, version number) or None."""
        r = self.conn.execute(
            select(t.aliases.c.name, t.aliases.c.version_id, t.versions.c.number)
            .join(t.versions, t.versions.c.id == t.aliases.c.version_id)
            .where(t.aliases.c.collection_id == collection_id, t.aliases.c.name_norm == name_norm)
        ).first()
        return (r[0], r[1], r[2]) if r else None

    def set_alias(self, collection_id: int, name: str, version_id: int, *, actor: str, now: datetime) -> None:
        upsert(
            self.conn,
            t.aliases,
            {"collection_id": collection_id, "name_norm": alias_key(name)},
            {"name": name, "version_id": version_id, "created_by": actor},
            now=now,
            old="id",
        )

    def delete_alias(self, collection_id: int, name_norm: str) -> None:
        self.conn.execute(
            delete(t.aliases).where(t.aliases.c.collection_id == collection_id, t.aliases.c.name_norm == name_norm)
        )

    def aliases_of_version(self, version_id: int) -> list[str]:
        return list(
            self.conn.execute(
                select(t.aliases.c.name).where(t.aliases.c.version_id == version_id).order_by(t.aliases.c.name)
            ).scalars()
        )

    # -- upload sessions --------------------------------------------------------------------------

    def insert_upload(self, session: UploadSession, *, created_by: str) -> None:
        self.conn.execute(
            insert(t.upload_sessions).values(
                id=session.id,
                registry=session.registry,
                digest=session.digest,
                size=session.size,
                created_by=created_by,
                expires_at=session.expires_at,
                created_at=session.created_at,
                updated_at=session.created_at,
            )
        )

    def find_upload(self, upload_id: str) -> UploadSession | None:
        r = self.conn.execute(select(t.upload_sessions).where(t.upload_sessions.c.id == upload_id)).mappings().first()
        if r is None:
            return None
        return UploadSession(r["id"], r["digest"], r["size"], 0, r["registry"], r["created_at"], r["expires_at"])

    def delete_upload(self, upload_id: str) -> None:
        self.conn.execute(delete(t.upload_sessions).where(t.upload_sessions.c.id == upload_id))

    def list_uploads(self, *, created_by: str, now: datetime, registry: str | None = None) -> list[UploadSession]:
        """The open (unexpired) upload sessions one principal started, oldest first."""
        u = t.upload_sessions
        q = select(u).where(u.c.created_by == created_by, u.c.expires_at >= now)
        if registry is not None:
            q = q.where(u.c.registry == registry)
        return [
            UploadSession(r["id"], r["digest"], r["size"], 0, r["registry"], r["created_at"], r["expires_at"])
            for r in self.conn.execute(q.order_by(u.c.created_at, u.c.id)).mappings()
        ]

    def expired_uploads(self, now: datetime) -> list[str]:
        return list(
            self.conn.execute(select(t.upload_sessions.c.id).where(t.upload_sessions.c.expires_at < now)).scalars()
        )

    # -- MLflow multipart uploads (purged with the upload sessions) ------------------------------

    def idle_multipart_uploads(self, before: datetime) -> list[str]:
        """MLflow multipart uploads with no activity (creation or a part) since ``before``."""
        mu = tt.mlflow_multipart_uploads
        last = func.coalesce(mu.c.last_activity_at, mu.c.updated_at)
        return list(self.conn.execute(select(mu.c.id).where(last < before).order_by(mu.c.id)).scalars())

    def delete_multipart_upload(self, upload_id: str) -> None:
        mu = tt.mlflow_multipart_uploads
        self.conn.execute(delete(tt.mlflow_multipart_parts).where(tt.mlflow_multipart_parts.c.upload_id == upload_id))
        self.conn.execute(delete(mu).where(mu.c.id == upload_id))

    # -- garbage collection ---------------------------------------------------------------------

    def referenced_digests(self) -> set[str]:
        """Every digest anything references (the GC mark set): live versions, open upload
        sessions, and files stored through the MLflow artifact proxy (whole or in parts)."""
        marked: set[str] = set()
        for column in (
            t.version_files.c.digest,
            t.upload_sessions.c.digest,
            tt.mlflow_artifacts.c.digest,
            tt.mlflow_multipart_parts.c.digest,
        ):
            marked.update(self.conn.execute(select(column).distinct()).scalars())
        return marked

    def versions_of_run(
        self, run_id: str, *, registry_ids: Sequence[int] | None, limit: int
    ) -> list[tuple[str, str, int]]:
        """(registry, collection, number) of the versions registered from run ``run_id`` in
        ``registry_ids`` (None: any registry), oldest first (``versions.run_id`` is indexed)."""
        v, c, r = t.versions, t.collections, t.registries
        q = (
            select(r.c.name, c.c.name, v.c.number)
            .join_from(v, c, c.c.id == v.c.collection_id)
            .join(r, r.c.id == c.c.registry_id)
            .where(v.c.run_id == run_id)
        )
        if registry_ids is not None:
            q = q.where(c.c.registry_id.in_(list(registry_ids)))
        return [(a, b, int(n)) for a, b, n in self.conn.execute(q.order_by(v.c.id).limit(limit))]

    # -- blob access (dedup within permission boundaries) ---------------------------------------

    def usable_digests(
        self, digests: Sequence[str], *, registry_ids: Sequence[int] | None, principal_id: int | None
    ) -> set[str]:
        """Which of ``digests`` a principal may reuse without uploading: referenced by a version in
        one of ``registry_ids`` (None: any registry), or uploaded by ``principal_id`` itself (a receipt:
        its own upload, or a source it was authorized to read, such as a run's artifacts)."""
        found: set[str] = set()
        wanted = sorted(set(digests))
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            in_versions = select(t.version_files.c.digest).where(t.version_files.c.digest.in_(batch))
            if registry_ids is not None:
                in_versions = (
                    in_versions.join_from(t.version_files, t.versions, t.versions.c.id == t.version_files.c.version_id)
                    .join(t.collections, t.collections.c.id == t.versions.c.collection_id)
                    .where(t.collections.c.registry_id.in_(list(registry_ids)))
                )
            queries = [in_versions]
            if principal_id is not None:
                queries.append(
                    select(gt.blob_receipts.c.digest).where(
                        gt.blob_receipts.c.principal_id == principal_id, gt.blob_receipts.c.digest.in_(batch)
                    )
                )
            for q in queries:
                found.update(self.conn.execute(q.distinct()).scalars())
        return found

    def record_blob_receipt(self, principal_id: int, digest: str, *, now: datetime) -> None:
        """Record that ``principal_id`` uploaded ``digest``'s bytes (idempotent)."""
        table = gt.blob_receipts
        key = (table.c.principal_id == principal_id, table.c.digest == digest)
        if self.conn.execute(select(table.c.id).where(*key)).first() is not None:
            return
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(table).values(principal_id=principal_id, digest=digest, created_at=now, updated_at=now)
                )
        except IntegrityError:
            pass  # a concurrent commit of the same bytes by the same principal recorded it first

    def delete_blob_receipts(self, digests: Sequence[str]) -> int:
        """Drop every receipt for ``digests`` (gc calls this for the blobs it swept)."""
        removed = 0
        wanted = sorted(set(digests))
        for i in range(0, len(wanted), 500):
            removed += self.conn.execute(
                delete(gt.blob_receipts).where(gt.blob_receipts.c.digest.in_(wanted[i : i + 500]))
            ).rowcount
        return removed

    def iter_file_refs(self, batch: int = 1000) -> Iterator[FileRef]:
        """Every stored reference to a blob (version files, then MLflow proxy files), in constant memory."""
        f, v, c, r = t.version_files, t.versions, t.collections, t.registries
        q = (
            select(
                f.c.id,
                f.c.path,
                f.c.digest,
                f.c.size,
                v.c.number,
                c.c.name.label("collection"),
                r.c.name.label("registry"),
            )
            .join(v, v.c.id == f.c.version_id)
            .join(c, c.c.id == v.c.collection_id)
            .join(r, r.c.id == c.c.registry_id)
        )
        last = 0
        while rows := list(self.conn.execute(q.where(f.c.id > last).order_by(f.c.id).limit(batch)).mappings()):
            for row in rows:
                owner = f"{row['registry']}/{row['collection']}:{row['number']}"
                yield FileRef(owner, row["path"], row["digest"], int(row["size"]))
            last = rows[-1]["id"]
        a = tt.mlflow_artifacts
        last = 0
        while rows := list(self.conn.execute(select(a).where(a.c.id > last).order_by(a.c.id).limit(batch)).mappings()):
            for row in rows:
                yield FileRef("mlflow-artifacts", row["path"], row["digest"], int(row["size"]))
            last = rows[-1]["id"]

    def list_alias_refs(self) -> list[AliasRef]:
        """Every alias row, with the collection and number of the version it names (None if that row is gone)."""
        a, v, c, r = t.aliases, t.versions, t.collections, t.registries
        q = (
            select(
                a.c.name,
                a.c.collection_id,
                a.c.version_id,
                v.c.collection_id.label("vc"),
                v.c.number,
                c.c.name.label("cn"),
                r.c.name.label("rn"),
            )
            .join(c, c.c.id == a.c.collection_id)
            .join(r, r.c.id == c.c.registry_id)
            .outerjoin(v, v.c.id == a.c.version_id)
            .order_by(a.c.id)
        )
        return [
            AliasRef(
                f"{row['rn']}/{row['cn']}@{row['name']}",
                row["collection_id"],
                row["version_id"],
                row["vc"],
                row["number"],
            )
            for row in self.conn.execute(q).mappings()
        ]

    # -- events -----------------------------------------------------------------------------------

    def append_event(
        self,
        *,
        now: datetime,
        actor: str,
        actor_kind: str,
        token_name: str,
        action: str,
        target: str,
        registry: str | None,
        collection_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        request_id: str,
        client_address: str,
    ) -> int:
        """Append one event, chained to the previous one's hash.

        The chain head row is locked (``FOR UPDATE``; SQLite writers are already serialized),
        so ids are consecutive and every event links to the one before it.
        """
        head_q = select(gt.event_chain_head.c.last_id, gt.event_chain_head.c.last_hash).where(
            gt.event_chain_head.c.id == 1
        )
        if self.dialect == "postgresql":
            head_q = head_q.with_for_update()
        head = self.conn.execute(head_q).first()
        last_id, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
        row: dict[str, Any] = {
            "id": last_id + 1,
            "created_at": now,
            "actor": actor,
            "actor_kind": actor_kind,
            "token_name": token_name,
            "action": action,
            "target": target,
            "registry": registry,
            "collection_id": collection_id,
            "before": _jsonable(before),
            "after": _jsonable(after),
            "request_id": request_id,
            "client_address": client_address,
        }
        row["prev_hash"] = prev_hash
        row["hash"] = event_hash(prev_hash, row)
        # Access follows the registry's identity: the one that holds the name in this transaction
        # (none once it is deleted: a ``registry.deleted`` event is for org admins only).
        row["registry_id"] = (
            None
            if registry is None
            else self.conn.execute(select(t.registries.c.id).where(t.registries.c.name == registry)).scalar()
        )
        if head is None:
            self.conn.execute(insert(gt.event_chain_head).values(id=1, last_id=row["id"], last_hash=row["hash"]))
        else:
            self.conn.execute(
                update(gt.event_chain_head)
                .where(gt.event_chain_head.c.id == 1)
                .values(last_id=row["id"], last_hash=row["hash"])
            )
        self.conn.execute(insert(t.events).values(**row))
        return int(row["id"])

    def list_events(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        target_prefix: str | None = None,
        registry: str | None = None,
        registry_id: int | None = None,
        registry_ids: list[int] | None = None,
        collection_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int | None = None,
        descending: bool = False,
        limit: int = 100,
    ) -> list[Event]:
        """Events matching every filter given. ``registry`` matches the recorded name (history of
        a name, deleted registries included); ``registry_id`` and ``registry_ids`` the identity
        (events of a deleted registry have none, so ``registry_ids`` never returns them)."""
        e = t.events
        q = select(e)
        if actor:
            q = q.where(e.c.actor == actor)
        if action:
            q = q.where(e.c.action.like(action.replace("*", "%")) if "*" in action else e.c.action == action)
        if target:
            q = q.where(e.c.target == target)
        if target_prefix:
            q = q.where(e.c.target.startswith(target_prefix, autoescape=True))
        if registry:
            q = q.where(e.c.registry == registry)
        if registry_id is not None:
            q = q.where(e.c.registry_id == registry_id)
        if registry_ids is not None:
            q = q.where(e.c.registry_id.in_(registry_ids))
        if collection_id is not None:
            q = q.where(e.c.collection_id == collection_id)
        if since:
            q = q.where(e.c.created_at >= since)
        if until:
            q = q.where(e.c.created_at < until)
        if after_id is not None:
            q = q.where(e.c.id < after_id if descending else e.c.id > after_id)
        q = q.order_by(e.c.id.desc() if descending else e.c.id.asc()).limit(limit + 1)
        return [_event(r) for r in self.conn.execute(q).mappings()]

    def iter_event_rows(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every event row in id order, for chain verification, in constant memory."""
        last = 0
        while True:
            rows = list(
                self.conn.execute(
                    select(t.events).where(t.events.c.id > last).order_by(t.events.c.id).limit(batch)
                ).mappings()
            )
            if not rows:
                return
            for r in rows:
                yield dict(r)
            last = rows[-1]["id"]

    def chain_head(self) -> tuple[int, str]:
        head = self.conn.execute(select(gt.event_chain_head.c.last_id, gt.event_chain_head.c.last_hash)).first()
        return (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)

    def alias_history(
        self, collection_id: int, target: str, *, limit: int, at: datetime | None = None
    ) -> list[AliasChange]:
        """Moves of one alias, newest first; with ``at``, only those at or before that time.

        Matched on the collection id and the exact alias name (aliases are case-sensitive), not on
        the whole target: the history survives a rename of the collection.
        """
        e = t.events
        alias_suffix = "@" + target.rsplit("@", 1)[-1]
        # SQLite's LIKE ignores ASCII case, so compare the tail exactly there.
        same_alias = (
            e.c.target.endswith(alias_suffix, autoescape=True)
            if self.dialect == "postgresql"
            else func.substr(e.c.target, -len(alias_suffix)) == alias_suffix
        )
        q = select(e).where(
            e.c.collection_id == collection_id,
            same_alias,
            e.c.action.in_(["alias.set", "alias.unset"]),
        )
        if at is not None:
            q = q.where(e.c.created_at <= at)
        rows = self.conn.execute(q.order_by(e.c.id.desc()).limit(limit)).mappings()
        out = []
        for r in rows:
            after = r["after"] or {}
            before = r["before"] or {}
            out.append(
                AliasChange(
                    alias=target.rsplit("@", 1)[-1],
                    version=after.get("version"),
                    previous_version=before.get("version"),
                    actor=r["actor"],
                    at=r["created_at"],
                    event_id=r["id"],
                )
            )
        return out


def _collection_select() -> Any:
    return select(*t.collections.c, t.registries.c.name.label("registry")).join(
        t.registries, t.registries.c.id == t.collections.c.registry_id
    )


def _registry(r: RowMapping) -> Registry:
    return Registry(
        r["id"],
        r["name"],
        r["description"],
        tuple(r["artifact_types"]),
        r["visibility"],
        r["created_at"],
        r["updated_at"],
    )


def _event(r: RowMapping) -> Event:
    return Event(
        id=r["id"],
        at=r["created_at"],
        actor=r["actor"],
        action=r["action"],
        target=r["target"],
        registry=r["registry"],
        before=r["before"],
        after=r["after"],
        request_id=r["request_id"],
        client_address=r["client_address"],
        token_name=r["token_name"],
    )


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))
