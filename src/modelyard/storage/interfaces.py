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

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from modelyard.domain.digest import Digest
from modelyard.domain.models import (
    AliasChange,
    Collection,
    Event,
    FileEntry,
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

    def iter_uploads(self) -> Iterator[tuple[str, datetime]]: ...


class MetadataStore(Protocol):
    """Reads and writes of metadata inside one transaction. Never commits.

    Rows returned as ``Any`` are read-only mappings keyed by column name.
    """

    def insert_registry(self, *, name: str, description: str, artifact_types: list[str], visibility: str, now: datetime) -> Registry:
        ...

    def find_registry(self, name: str) -> Registry | None:
        ...

    def list_registries(self) -> list[Registry]:
        ...

    def update_registry(self, registry_id: int, *, now: datetime, **fields: Any) -> None:
        ...

    def delete_registry(self, registry_id: int) -> None:
        ...

    def count_collections(self, registry_id: int) -> int:
        ...

    def find_collection_row(self, registry_id: int, name_norm: str, *, for_update: bool=False) -> Any | None:
        ...

    def insert_collection(self, *, registry_id: int, name: str, name_norm: str, artifact_type: str, description: str, created_by: str, now: datetime) -> int:
        ...

    def update_collection(self, collection_id: int, *, now: datetime, **fields: Any) -> None:
        ...

    def allocate_version_number(self, collection_id: int) -> int:
        """Take the collection's next number and advance it. The caller holds the row lock."""
        ...

    def delete_collection(self, collection_id: int) -> None:
        ...

    def collections_by_rows(self, rows: Sequence[Any]) -> list[Collection]:
        """Build ``Collection`` objects for rows of ``collections`` (joined registry name in ``registry``)."""
        ...

    def get_collection_by_id(self, collection_id: int) -> Collection:
        ...

    def search_collections(self, query: CollectionQuery) -> list[Collection]:
        """One page of collections matching ``query`` (keyset pagination, ``limit + 1`` rows)."""
        ...

    def count_tags(self, owner: str, owner_id: int) -> int:
        """How many tags a ``collection`` or ``version`` holds."""
        ...

    def set_collection_tag(self, collection_id: int, key: str, value: str, now: datetime) -> str | None:
        ...

    def unset_collection_tag(self, collection_id: int, key: str) -> str | None:
        ...

    def set_version_tag(self, version_id: int, key: str, value: str, now: datetime) -> str | None:
        ...

    def unset_version_tag(self, version_id: int, key: str) -> str | None:
        ...

    def insert_version(self, *, collection_id: int, number: int, artifact_type: str, metadata: VersionMetadata, files: Sequence[FileEntry], size: int, digest: str, created_by: str, now: datetime) -> int:
        ...

    def find_version_row(self, collection_id: int, number: int) -> Any | None:
        ...

    def find_version_row_by_id(self, version_id: int) -> Any | None:
        ...

    def max_version_number(self, collection_id: int) -> int | None:
        ...

    def list_version_rows(self, collection_id: int, *, after_number: int | None, limit: int, descending: bool=True, stage: str | None=None) -> list[Any]:
        ...

    def versions_by_rows(self, rows: Sequence[Any], *, registry: str, collection: str, with_files: bool=True) -> list[Version]:
        ...

    def find_file(self, version_id: int, path: str) -> FileEntry | None:
        ...

    def update_version(self, version_id: int, *, now: datetime, **fields: Any) -> None:
        ...

    def delete_version(self, version_id: int) -> None:
        ...

    def find_alias(self, collection_id: int, name_norm: str) -> tuple[str, int, int] | None:
        """(alias name, version id, version number) or None."""
        ...

    def set_alias(self, collection_id: int, name: str, version_id: int, *, actor: str, now: datetime) -> None:
        ...

    def delete_alias(self, collection_id: int, name_norm: str) -> None:
        ...

    def aliases_of_version(self, version_id: int) -> list[str]:
        ...

    def insert_upload(self, session: UploadSession, *, created_by: str) -> None:
        ...

    def find_upload(self, upload_id: str) -> UploadSession | None:
        ...

    def delete_upload(self, upload_id: str) -> None:
        ...

    def expired_uploads(self, now: datetime) -> list[str]:
        ...

    def referenced_digests(self) -> set[str]:
        """Every digest a live version or an open upload session references (the GC mark set)."""
        ...

    def append_event(self, *, now: datetime, actor: str, actor_kind: str, token_name: str, action: str, target: str, registry: str | None, collection_id: int | None, before: dict[str, Any] | None, after: dict[str, Any] | None, request_id: str, client_address: str) -> int:
        """Append one event, chained to the previous one's hash. Serialized across writers."""
        ...

    def list_events(self, *, actor: str | None=None, action: str | None=None, target: str | None=None, target_prefix: str | None=None, registry: str | None=None, collection_id: int | None=None, since: datetime | None=None, until: datetime | None=None, after_id: int | None=None, descending: bool=False, limit: int=100) -> list[Event]:
        ...

    def iter_event_rows(self, batch: int=1000) -> Iterator[dict[str, Any]]:
        """Every event row in id order, for chain verification, in constant memory."""
        ...

    def alias_history(self, collection_id: int, target: str, *, limit: int) -> list[AliasChange]:
        ...


class Database(Protocol):
    """Hands out units of work: ``with db.unit_of_work(write=True) as store: ...`` commits once."""

    dialect: str

    def unit_of_work(self, *, write: bool) -> AbstractContextManager[MetadataStore]: ...


# --- MLflow adapter (tracking) --- ------------------------------------------------------------------

# An MLflow search-filter clause: (kind, key, op, value). ``kind`` is ``attribute``, ``tag``
# or ``param``; ``op`` is one of = != LIKE ILIKE IN NOT IN > >= < <=.
Clause = tuple[str, str, str, Any]


class TrackingStore(Protocol):
    """Reads and writes of the MLflow tracking adapter's tables, plus MLflow-shaped searches over
    collections and versions, inside one transaction. Never commits. Rows are plain dicts.
    """

    def insert_experiment(self, *, name: str, artifact_location: str | None, now: datetime) -> int:
        ...

    def find_experiment(self, experiment_id: int) -> dict[str, Any] | None:
        ...

    def find_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        ...

    def update_experiment(self, experiment_id: int, *, now: datetime, **fields: Any) -> None:
        ...

    def search_experiments(self, *, lifecycle_stages: Sequence[str], clauses: Sequence[Clause], order_by: Sequence[tuple[str, bool]], offset: int, limit: int) -> list[dict[str, Any]]:
        ...

    def experiment_tags(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        ...

    def set_experiment_tag(self, experiment_id: int, key: str, value: str) -> None:
        ...

    def delete_experiment_tag(self, experiment_id: int, key: str) -> None:
        ...

    def insert_run(self, *, run_uuid: str, experiment_id: int, name: str, user_id: str, start_time: datetime | None, artifact_uri: str, now: datetime) -> int:
        ...

    def find_run(self, run_uuid: str) -> dict[str, Any] | None:
        ...

    def update_run(self, run_pk: int, *, now: datetime, **fields: Any) -> None:
        ...

    def search_runs(self, *, experiment_ids: Sequence[int], lifecycle_stages: Sequence[str], offset: int, limit: int) -> list[dict[str, Any]]:
        ...

    def run_params(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        ...

    def run_tags(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        ...

    def find_run_param(self, run_pk: int, key: str) -> str | None:
        ...

    def insert_run_params(self, run_pk: int, params: Sequence[tuple[str, str]]) -> None:
        ...

    def set_run_tag(self, run_pk: int, key: str, value: str) -> None:
        ...

    def delete_run_tag(self, run_pk: int, key: str) -> bool:
        ...

    def insert_run_metrics(self, run_pk: int, metrics: Sequence[dict[str, Any]]) -> None:
        ...

    def run_metrics(self, run_pks: Sequence[int], *, key: str | None = None) -> list[dict[str, Any]]:
        """Every metric point of the runs (optionally one key), in logging order."""
        ...

    def metrics_of_logged_model(self, model_id: str) -> list[dict[str, Any]]:
        ...

    def insert_run_io(self, run_pk: int, *, direction: str, kind: str, payload: dict[str, Any]) -> None:
        ...

    def run_io(self, run_pks: Sequence[int]) -> list[dict[str, Any]]:
        ...

    def insert_logged_model(self, **values: Any) -> int:
        ...

    def find_logged_model(self, model_id: str) -> dict[str, Any] | None:
        ...

    def update_logged_model(self, model_pk: int, *, now: datetime, **fields: Any) -> None:
        ...

    def search_logged_models(self, *, experiment_ids: Sequence[int], clauses: Sequence[Clause], offset: int, limit: int ) -> list[dict[str, Any]]:
        ...

    def logged_model_params(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        ...

    def logged_model_tags(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        ...

    def set_logged_model_param(self, model_pk: int, key: str, value: str) -> None:
        ...

    def set_logged_model_tag(self, model_pk: int, key: str, value: str) -> None:
        ...

    def delete_logged_model_tag(self, model_pk: int, key: str) -> bool:
        ...

    def link_version(self, version_id: int, model_id: str) -> None:
        ...

    def model_ids_of_versions(self, version_ids: Sequence[int]) -> dict[int, str]:
        ...

    def put_artifact(self, path: str, *, digest: str, size: int, now: datetime) -> None:
        ...

    def find_artifact(self, path: str) -> dict[str, Any] | None:
        ...

    def artifacts_under(self, prefix: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every artifact whose path starts with ``prefix/`` (all of them for an empty prefix)."""
        ...

    def delete_artifacts(self, path: str) -> int:
        ...

    def insert_multipart(self, upload_id: str, *, path: str, num_parts: int, now: datetime) -> None:
        ...

    def find_multipart(self, upload_id: str) -> dict[str, Any] | None:
        ...

    def put_multipart_part(self, upload_id: str, part_number: int, *, digest: str, size: int) -> None:
        ...

    def multipart_parts(self, upload_id: str) -> list[dict[str, Any]]:
        ...

    def delete_multipart(self, upload_id: str) -> None:
        ...

    def search_collections(self, registry_id: int, *, clauses: Sequence[Clause], order_by: Sequence[tuple[str, bool]], offset: int, limit: int) -> list[Collection]:
        """Collections of one registry matching MLflow filter clauses; ``limit + 1`` rows from ``offset``."""
        ...

    def search_versions(self, registry_id: int, *, clauses: Sequence[Clause], order_by: Sequence[tuple[str, bool]], offset: int, limit: int) -> list[Version]:
        """Versions of one registry matching MLflow filter clauses; ``limit + 1`` from ``offset``."""
        ...

    def latest_versions_by_stage(self, collection_ids: Sequence[int]) -> dict[int, list[Version]]:
        """For each collection, its highest-numbered version in every stage that has one."""
        ...


class TrackingDatabase(Protocol):
    """Hands out tracking units of work: ``with db.unit_of_work(write=True) as store: ...``."""

    dialect: str

    def unit_of_work(self, *, write: bool) -> AbstractContextManager[TrackingStore]: ...
