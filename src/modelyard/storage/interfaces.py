"""Storage interfaces (Protocols only). Services depend on these, never on an adapter.

``BlobStore`` semantics, which every implementation must keep (tests/contract checks):

- Blobs are named by their sha256 digest and immutable; ``stat`` returns None when absent.
- ``begin_upload`` creates an empty session; ``write_chunk`` appends bytes at exactly the
  session's current offset (else ``ConflictError``) and returns the new offset.
- ``commit`` hashes what was received, raises ``SizeMismatchError``/``DigestMismatchError``
  (discarding the session) if it differs from what was promised, else makes the blob
  visible atomically; committing content that already exists is a no-op.
- ``open`` streams a blob from ``offset`` for ``length`` bytes in bounded chunks.
- ``touch`` restarts a blob's grace period (a push is about to reference it); ``delete``
  removes a blob (only garbage collection calls it); ``iter_blobs`` lists all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from modelyard.domain.digest import Digest
from modelyard.domain.identity import AliasPolicy, Grant, PrincipalInfo, Team, TokenInfo
from modelyard.domain.models import (
    AliasChange,
    AliasRef,
    Collection,
    Event,
    FileEntry,
    FileRef,
    Registry,
    UploadSession,
    Version,
    VersionMetadata,
)
from modelyard.domain.search import CollectionQuery


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: Digest
    size: int
    modified_at: datetime


class BlobStore(Protocol):
    def stat(self, digest: Digest) -> BlobInfo | None: ...

    def open(self, digest: Digest, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]: ...

    def begin_upload(self, session_id: str) -> None: ...

    def upload_offset(self, session_id: str) -> int: ...

    def write_chunk(self, session_id: str, offset: int, chunks: Iterable[bytes]) -> int: ...

    def commit(self, session_id: str, *, expected_digest: Digest, expected_size: int) -> BlobInfo: ...

    def abort(self, session_id: str) -> None: ...

    def touch(self, digest: Digest) -> bool:
        """Mark a blob as just used (resets its GC grace period); False if it does not exist."""
        ...

    def delete(self, digest: Digest) -> None: ...

    def iter_blobs(self) -> Iterator[BlobInfo]: ...

    def iter_uploads(self) -> Iterator[tuple[str, datetime]]:
        """Every in-progress upload: (session id, time of its last activity: creation or a write)."""
        ...


class MetadataStore(Protocol):
    """Reads and writes of metadata inside one transaction. Never commits.

    Generated from ``SqlMetadataStore`` and its mixins by ``scripts/gen_store_protocol.py``.
    Rows returned as ``Any`` are read-only mappings keyed by column name.
    """

    def insert_registry(
        self, *, name: str, description: str, artifact_types: list[str], visibility: str, now: datetime
    ) -> Registry: ...

    def find_registry(self, name: str) -> Registry | None: ...

    def list_registries(self) -> list[Registry]: ...

    def update_registry(self, registry_id: int, *, now: datetime, **fields: Any) -> None: ...

    def delete_registry(self, registry_id: int) -> None:
        """Delete the registry; its events stay (the log is append-only) but lose its id, so they
        are visible to org admins only and never to a registry that later takes the name or id."""
        ...

    def count_collections(self, registry_id: int) -> int: ...

    def find_collection_row(self, registry_id: int, name: str, *, for_update: bool = False) -> Any | None:
        """The collection named exactly ``name`` (case-sensitive, as MLflow's registered models)."""
        ...

    def collection_row_by_id(self, collection_id: int) -> Any: ...

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
    ) -> int: ...

    def update_collection(self, collection_id: int, *, now: datetime, **fields: Any) -> None: ...

    def allocate_version_number(self, collection_id: int) -> int:
        """Take the collection's next number and advance it. The caller holds the row lock."""
        ...

    def delete_collection(self, collection_id: int) -> None: ...

    def collections_by_rows(self, rows: Sequence[Any]) -> list[Collection]:
        """Build ``Collection`` objects for rows of ``collections`` (joined registry name in ``registry``)."""
        ...

    def get_collection_by_id(self, collection_id: int) -> Collection: ...

    def search_collections(self, query: CollectionQuery) -> list[Collection]:
        """One page of collections matching ``query`` (keyset pagination, ``limit + 1`` rows)."""
        ...

    def set_collection_tag(self, collection_id: int, key: str, value: str, now: datetime) -> str | None: ...

    def unset_collection_tag(self, collection_id: int, key: str) -> str | None: ...

    def set_version_tag(self, version_id: int, key: str, value: str, now: datetime) -> str | None: ...

    def unset_version_tag(self, version_id: int, key: str) -> str | None: ...

    def count_tags(self, owner: str, owner_id: int) -> int:
        """How many tags a ``collection`` or ``version`` holds."""
        ...

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
    ) -> int: ...

    def find_version_row(self, collection_id: int, number: int) -> Any | None: ...

    def find_version_row_by_id(self, version_id: int) -> Any | None: ...

    def max_version_number(self, collection_id: int) -> int | None: ...

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
    ) -> list[Any]:
        """One keyset page of a collection's versions, ordered by ``sort`` then number: ``number``,
        ``created`` (created_at), ``stage`` (by position in ``stage_rank``) or ``aliases`` (versions
        with an alias before those without). The page after ``(after_key, after_number)``."""
        ...

    def versions_by_rows(
        self, rows: Sequence[Any], *, registry: str, collection: str, with_files: bool = True
    ) -> list[Version]: ...

    def find_file(self, version_id: int, path: str) -> FileEntry | None: ...

    def update_version(self, version_id: int, *, now: datetime, **fields: Any) -> None: ...

    def delete_version(self, version_id: int) -> None: ...

    def find_alias(self, collection_id: int, name_norm: str) -> tuple[str, int, int] | None:
        """(alias name, version id, version number) or None."""
        ...

    def set_alias(self, collection_id: int, name: str, version_id: int, *, actor: str, now: datetime) -> None: ...

    def delete_alias(self, collection_id: int, name_norm: str) -> None: ...

    def aliases_of_version(self, version_id: int) -> list[str]: ...

    def insert_upload(self, session: UploadSession, *, created_by: str) -> None: ...

    def find_upload(self, upload_id: str) -> UploadSession | None: ...

    def delete_upload(self, upload_id: str) -> None: ...

    def list_uploads(self, *, created_by: str, now: datetime, registry: str | None = None) -> list[UploadSession]:
        """The open (unexpired) upload sessions one principal started, oldest first."""
        ...

    def expired_uploads(self, now: datetime) -> list[str]: ...

    def idle_multipart_uploads(self, before: datetime) -> list[str]:
        """MLflow multipart uploads with no activity (creation or a part) since ``before``."""
        ...

    def delete_multipart_upload(self, upload_id: str) -> None: ...

    def referenced_digests(self) -> set[str]:
        """Every digest anything references (the GC mark set): live versions, open upload
        sessions, and files stored through the MLflow artifact proxy (whole or in parts)."""
        ...

    def versions_of_run(
        self, run_id: str, *, registry_ids: Sequence[int] | None, limit: int
    ) -> list[tuple[str, str, int]]:
        """(registry, collection, number) of the versions registered from run ``run_id`` in
        ``registry_ids`` (None: any registry), oldest first (``versions.run_id`` is indexed)."""
        ...

    def usable_digests(
        self, digests: Sequence[str], *, registry_ids: Sequence[int] | None, principal_id: int | None
    ) -> set[str]:
        """Which of ``digests`` a principal may reuse without uploading: referenced by a version in
        one of ``registry_ids`` (None: any registry), or uploaded by ``principal_id`` itself (a receipt:
        its own upload, or a source it was authorized to read, such as a run's artifacts)."""
        ...

    def record_blob_receipt(self, principal_id: int, digest: str, *, now: datetime) -> None:
        """Record that ``principal_id`` uploaded ``digest``'s bytes (idempotent)."""
        ...

    def delete_blob_receipts(self, digests: Sequence[str]) -> int:
        """Drop every receipt for ``digests`` (gc calls this for the blobs it swept)."""
        ...

    def iter_file_refs(self, batch: int = 1000) -> Iterator[FileRef]:
        """Every stored reference to a blob (version files, then MLflow proxy files), in constant memory."""
        ...

    def list_alias_refs(self) -> list[AliasRef]:
        """Every alias row, with the collection and number of the version it names (None if that row is gone)."""
        ...

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
        """Append one event, chained to the previous one's hash."""
        ...

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
        ...

    def iter_event_rows(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every event row in id order, for chain verification, in constant memory."""
        ...

    def chain_head(self) -> tuple[int, str]: ...

    def alias_history(
        self, collection_id: int, target: str, *, limit: int, at: datetime | None = None
    ) -> list[AliasChange]:
        """Moves of one alias, newest first; with ``at``, only those at or before that time."""
        ...

    def insert_principal(
        self, *, kind: str, name: str, display_name: str, email: str, org_admin: bool, now: datetime
    ) -> int: ...

    def find_principal(self, name: str) -> PrincipalInfo | None: ...

    def find_principal_by_id(self, principal_id: int) -> PrincipalInfo | None: ...

    def list_principals(self, kind: str | None = None) -> list[PrincipalInfo]: ...

    def update_principal(self, principal_id: int, *, now: datetime, **fields: Any) -> None: ...

    def lock_org_admins(self) -> None:
        """Lock the active org admins' rows until the unit of work ends (PostgreSQL ``FOR UPDATE``;
        SQLite's ``BEGIN IMMEDIATE`` already serializes writers), so two concurrent demotions
        cannot each see the other admin and both succeed."""
        ...

    def org_admins_holding_tokens(self, *, live_at: datetime | None = None) -> list[str]:
        """Names of active org admins that hold an unrevoked token; with ``live_at``, one that
        has not expired at that time either. Sorted."""
        ...

    def any_active_token(self) -> bool:
        """Whether any active (not disabled) principal holds an unrevoked token, expired or not."""
        ...

    def team_ids_of(self, principal_id: int) -> tuple[int, ...]: ...

    def insert_team(self, *, name: str, description: str, now: datetime) -> int: ...

    def find_team(self, name: str) -> Team | None: ...

    def list_teams(self) -> list[Team]: ...

    def add_team_member(self, team_id: int, principal_id: int, now: datetime) -> bool: ...

    def remove_team_member(self, team_id: int, principal_id: int) -> bool: ...

    def delete_team(self, team_id: int) -> None: ...

    def insert_token(
        self, *, principal_id: int, name: str, prefix: str, token_hash: str, expires_at: datetime | None, now: datetime
    ) -> int: ...

    def find_token_by_hash(self, token_hash: str) -> tuple[TokenInfo, int] | None: ...

    def find_token(self, token_id: int) -> TokenInfo | None: ...

    def list_tokens(self, principal_id: int | None = None) -> list[TokenInfo]: ...

    def revoke_token(self, token_id: int, now: datetime) -> None: ...

    def touch_token(self, token_id: int, now: datetime) -> None: ...

    def set_grant(
        self, registry_id: int, *, principal_id: int | None, team_id: int | None, role: str, now: datetime
    ) -> str | None: ...

    def delete_grant(self, registry_id: int, *, principal_id: int | None, team_id: int | None) -> str | None: ...

    def list_grants(self, registry_id: int, registry_name: str) -> list[Grant]: ...

    def granted_roles(
        self, registry_id: int, principal_id: int | None, team_ids: tuple[int, ...]
    ) -> tuple[str, ...]: ...

    def registries_with_grants(self, principal_id: int | None, team_ids: tuple[int, ...]) -> dict[int, list[str]]: ...

    def set_alias_policy(
        self,
        registry_id: int,
        collection_id: int | None,
        alias: str,
        *,
        protected: bool,
        requirements: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> bool:
        """Create or replace; returns True if it replaced an existing policy."""
        ...

    def delete_alias_policy(self, registry_id: int, collection_id: int | None, alias_norm: str) -> bool: ...

    def list_alias_policies(self, registry_id: int, registry_name: str) -> list[AliasPolicy]: ...

    def effective_alias_policy(
        self, registry_id: int, collection_id: int, alias_norm: str, registry_name: str
    ) -> AliasPolicy | None:
        """The collection's override if there is one, else the registry-wide policy."""
        ...

    def protected_aliases_on(self, registry_id: int, collection_id: int) -> list[str]:
        """What an effective policy protects on the collection now: the protected aliases set on it,
        and (as ``stage:<Stage>``) the protected stages one of its versions is in. Renaming or
        deleting the collection takes all of these from the name consumers resolve
        (``name@production``, ``models:/name/Production``). ``None`` is no stage: not counted."""
        ...

    def set_check(
        self,
        version_id: int,
        name: str,
        *,
        status: str,
        summary: str,
        details_url: str,
        reported_by: str,
        now: datetime,
    ) -> str | None:
        """Record a check's latest status; returns the previous status (None if first report)."""
        ...

    def list_checks(self, version_id: int) -> list[Any]: ...

    def insert_request(self, **values: Any) -> int: ...

    def find_request(self, request_id: int, *, for_update: bool = False) -> Any | None: ...

    def list_open_requests(self, registry_ids: list[int] | None, *, limit: int) -> list[Any]:
        """Open requests, newest first, in these registries (None: all), with ``registry_id``."""
        ...

    def update_request(self, request_id: int, **values: Any) -> None: ...

    def list_requests(self, collection_id: int, *, status: str | None, limit: int) -> list[Any]: ...

    def insert_review(
        self, request_id: int, *, reviewer: str, reviewer_role: str, decision: str, comment: str, now: datetime
    ) -> None: ...

    def list_reviews(self, request_id: int) -> list[Any]: ...

    def insert_webhook(self, *, now: datetime, **values: Any) -> int: ...

    def find_webhook(self, registry_id: int, name: str) -> dict[str, Any] | None: ...

    def find_webhook_by_id(self, webhook_id: int) -> dict[str, Any] | None: ...

    def list_webhooks(self, registry_id: int) -> list[dict[str, Any]]: ...

    def update_webhook(self, webhook_id: int, *, now: datetime, **fields: Any) -> None: ...

    def set_webhook_cursor(self, webhook_id: int, cursor: int) -> None: ...

    def bump_webhook_failures(self, webhook_id: int) -> int:
        """Count one more failed delivery; returns the new number of consecutive failures."""
        ...

    def reset_webhook_failures(self, webhook_id: int) -> None: ...

    def delete_webhook(self, webhook_id: int) -> None: ...

    def event_head_id(self) -> int:
        """The id of the newest event (0 for an empty log)."""
        ...

    def webhooks_behind(self, head: int) -> list[int]:
        """Ids of active webhooks whose cursor is before ``head``."""
        ...

    def lock_webhook(self, webhook_id: int) -> dict[str, Any] | None:
        """The webhook row, locked for this transaction (None if another process holds it or it is gone)."""
        ...

    def scoped_events(
        self, *, registry_id: int, collection_id: int | None, after_id: int, upto_id: int, limit: int
    ) -> list[dict[str, Any]]:
        """Events of a registry (or one collection of it) with ``after_id < id <= upto_id``, oldest
        first. Matched on ids, never names: a re-used name never reaches another registry's events."""
        ...

    def events_by_ids(self, ids: list[int]) -> dict[int, dict[str, Any]]: ...

    def find_event_row(self, event_id: int) -> dict[str, Any] | None: ...

    def insert_deliveries(self, rows: list[dict[str, Any]]) -> None: ...

    def has_due_work(self, now: datetime) -> bool: ...

    def claim_due_deliveries(self, now: datetime, *, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
        """Take up to ``limit`` due deliveries, each the oldest pending one of its order key."""
        ...

    def update_delivery(self, delivery_pk: int, *, now: datetime, **fields: Any) -> None: ...

    def find_delivery(self, webhook_id: int, delivery_id: str) -> dict[str, Any] | None: ...

    def list_deliveries(
        self, webhook_id: int, *, before_id: int | None, limit: int, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Deliveries of a webhook, newest first (``limit + 1`` rows, keyset by id)."""
        ...

    def delivery_counts(self, webhook_id: int) -> dict[str, int]: ...

    def pending_deliveries_exist(self, webhook_id: int) -> bool: ...


class Database(Protocol):
    """Hands out units of work: ``with db.unit_of_work(write=True) as store: ...`` commits once."""

    dialect: str

    def unit_of_work(self, *, write: bool) -> AbstractContextManager[MetadataStore]: ...

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every write unit of work this process commits."""
        ...


# --- MLflow adapter (tracking) --- ------------------------------------------------------------------

# An MLflow search-filter clause: (kind, key, op, value). ``kind`` is ``attribute``, ``tag``,
# ``param`` or ``not_tag`` (registry searches: the collection has no tag key=value);
# ``op`` is one of = != LIKE ILIKE IN NOT IN > >= < <=.
Clause = tuple[str, str, str, Any]


class TrackingStore(Protocol):
    """Reads and writes of the MLflow tracking adapter's tables, plus MLflow-shaped searches over
    collections and versions, inside one transaction. Never commits. Rows are plain dicts.
    """

    def insert_experiment(self, *, name: str, artifact_location: str | None, now: datetime) -> int: ...

    def find_experiment(self, experiment_id: int) -> dict[str, Any] | None: ...

    def find_experiment_by_name(self, name: str) -> dict[str, Any] | None: ...

    def update_experiment(self, experiment_id: int, *, now: datetime, **fields: Any) -> None: ...

    def search_experiments(
        self,
        *,
        lifecycle_stages: Sequence[str],
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
        visible_ids: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]: ...

    def experiment_tags(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def set_experiment_tag(self, experiment_id: int, key: str, value: str) -> None: ...

    def delete_experiment_tag(self, experiment_id: int, key: str) -> None: ...

    def insert_run(
        self,
        *,
        run_uuid: str,
        experiment_id: int,
        name: str,
        user_id: str,
        start_time: datetime | None,
        artifact_uri: str,
        now: datetime,
    ) -> int: ...

    def find_run(self, run_uuid: str) -> dict[str, Any] | None: ...

    def update_run(self, run_pk: int, *, now: datetime, **fields: Any) -> None: ...

    def search_runs(
        self, *, experiment_ids: Sequence[int], lifecycle_stages: Sequence[str], offset: int, limit: int
    ) -> list[dict[str, Any]]: ...

    def run_params(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def run_tags(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def find_run_param(self, run_pk: int, key: str) -> str | None: ...

    def insert_run_params(self, run_pk: int, params: Sequence[tuple[str, str]]) -> None: ...

    def set_run_tag(self, run_pk: int, key: str, value: str) -> None: ...

    def delete_run_tag(self, run_pk: int, key: str) -> bool: ...

    def insert_run_metrics(self, run_pk: int, metrics: Sequence[dict[str, Any]]) -> None: ...

    def run_metrics(self, run_pks: Sequence[int], *, key: str | None = None) -> list[dict[str, Any]]:
        """Every metric point of the runs (optionally one key), in logging order."""
        ...

    def metrics_of_logged_model(self, model_id: str) -> list[dict[str, Any]]: ...

    def insert_run_io(self, run_pk: int, *, direction: str, kind: str, payload: dict[str, Any]) -> None: ...

    def run_io(self, run_pks: Sequence[int]) -> list[dict[str, Any]]: ...

    def insert_logged_model(self, **values: Any) -> int: ...

    def find_logged_model(self, model_id: str) -> dict[str, Any] | None: ...

    def update_logged_model(self, model_pk: int, *, now: datetime, **fields: Any) -> None: ...

    def search_logged_models(
        self, *, experiment_ids: Sequence[int], clauses: Sequence[Clause], offset: int, limit: int
    ) -> list[dict[str, Any]]: ...

    def logged_model_params(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def logged_model_tags(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def set_logged_model_param(self, model_pk: int, key: str, value: str) -> None: ...

    def set_logged_model_tag(self, model_pk: int, key: str, value: str) -> None: ...

    def delete_logged_model_tag(self, model_pk: int, key: str) -> bool: ...

    def link_version(self, version_id: int, model_id: str) -> None: ...

    def model_ids_of_versions(self, version_ids: Sequence[int]) -> dict[int, str]: ...

    def put_artifact(self, path: str, *, digest: str, size: int, now: datetime) -> None: ...

    def find_artifact(self, path: str) -> dict[str, Any] | None: ...

    def artifacts_under(self, prefix: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every artifact whose path starts with ``prefix/`` (all of them for an empty prefix)."""
        ...

    def delete_artifacts(self, path: str) -> int: ...

    def insert_multipart(
        self,
        upload_id: str,
        *,
        path: str,
        num_parts: int,
        created_by: str,
        created_by_id: int | None,
        now: datetime,
    ) -> None: ...

    def touch_multipart(self, upload_id: str, *, now: datetime) -> None: ...

    def find_multipart(self, upload_id: str) -> dict[str, Any] | None: ...

    def put_multipart_part(self, upload_id: str, part_number: int, *, digest: str, size: int) -> None: ...

    def multipart_parts(self, upload_id: str) -> list[dict[str, Any]]: ...

    def delete_multipart(self, upload_id: str) -> None: ...

    def set_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None, permission: str, now: datetime
    ) -> str | None: ...

    def find_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None
    ) -> str | None: ...

    def delete_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None
    ) -> bool: ...

    def experiment_permissions_held(
        self, principal_id: int | None, team_ids: tuple[int, ...], experiment_ids: Sequence[int] | None = None
    ) -> dict[int, list[str]]: ...

    def find_principal_id(self, name: str) -> int | None: ...

    def find_team_id(self, name: str) -> int | None: ...

    def experiments_at_locations(self, locations: Sequence[str]) -> list[dict[str, Any]]: ...

    def experiment_artifact_locations(self) -> list[str]: ...

    def search_collections(
        self,
        registry_id: int,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> list[Collection]:
        """Collections of one registry matching MLflow filter clauses; ``limit + 1`` rows from ``offset``."""
        ...

    def search_versions(
        self,
        registry_id: int,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> list[Version]:
        """Versions of one registry matching MLflow filter clauses; ``limit + 1`` from ``offset``."""
        ...

    def latest_versions_by_stage(self, collection_ids: Sequence[int]) -> dict[int, list[Version]]:
        """For each collection, its highest-numbered version in every stage that has one."""
        ...


class TrackingDatabase(Protocol):
    """Hands out tracking units of work: ``with db.unit_of_work(write=True) as store: ...``."""

    dialect: str

    def unit_of_work(self, *, write: bool) -> AbstractContextManager[TrackingStore]: ...
