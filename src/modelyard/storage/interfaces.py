"""Storage interfaces (Protocols only). Services depend on these, never on an adapter.

``BlobStore`` semantics, which every implementation must keep (tests/contract checks):

- Blobs are named by their sha256 digest and immutable; ``stat`` returns None when absent.
- ``begin_upload`` creates an empty session; ``write_chunk`` appends bytes at exactly the
  session's current offset (else ``ConflictError``) and returns the new offset.
- ``commit`` hashes what was received, raises ``SizeMismatchError``/``DigestMismatchError``
  (discarding the session) if it differs from what was promised, else makes the blob
  visible atomically; committing content that already exists is a no-op.
- ``open`` streams a blob from ``offset`` for ``length`` bytes in bounded chunks.
- ``delete`` removes a blob (only garbage collection calls it); ``iter_blobs`` lists all.
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
