"""Use cases of the MLflow artifact proxy (``mlflow-artifacts:``): upload, download, list, delete
and multipart uploads of run and logged-model artifacts, plus read-only access to the files of
registered versions under the reserved ``_modelyard/<registry>/<collection>/<version>`` prefix.

Bytes live in the content-addressed ``BlobStore`` (stored once per digest); the path -> digest
index lives in the tracking tables. Registered versions are served from their own immutable
manifests, never from the mutable run-artifact index. Imports ``storage.interfaces`` only.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from modelyard.domain.actor import Actor
from modelyard.domain.digest import Digest
from modelyard.domain.experiment_permissions import ExperimentAction
from modelyard.domain.models import FileEntry
from modelyard.domain.names import validate_file_path
from modelyard.domain.paths import VersionRef
from modelyard.domain.permissions import Action
from modelyard.errors import (
    ArtifactNotFoundError,
    ConflictError,
    InvalidArgumentError,
    PermissionDeniedError,
    UploadUnknownError,
)
from modelyard.storage.interfaces import BlobStore, TrackingDatabase, TrackingStore

from .experiment_access import ExperimentAccess
from .registry import RegistryService, utcnow

VERSIONS_PREFIX = "_modelyard"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
MAX_PARTS = 10_000


T = TypeVar("T")


class BlobWriter(Generic[T]):
    """Bytes into a fresh blob-store session, hashed on the way, in any number of ``write`` calls.

    ``finish`` commits the blob (verified against the hash) and hands ``(digest, size)`` to
    ``on_stored``; ``abort`` (or any failure) removes the session, leaving nothing behind.
    """

    def __init__(self, blobs: BlobStore, on_stored: Callable[[str, int], T]) -> None:
        self._blobs, self._on_stored = blobs, on_stored
        self._session = "mlflow-" + secrets.token_urlsafe(18)
        self._hasher = hashlib.sha256()
        self.size = 0
        blobs.begin_upload(self._session)

    def write(self, data: bytes) -> None:
        try:
            self.size = self._blobs.write_chunk(self._session, self.size, (data,))
        except BaseException:
            self.abort()
            raise
        self._hasher.update(data)

    def finish(self) -> T:
        digest = Digest(self._hasher.hexdigest())
        try:
            self._blobs.commit(self._session, expected_digest=digest, expected_size=self.size)
        except BaseException:
            self.abort()
            raise
        return self._on_stored(str(digest), self.size)

    def abort(self) -> None:
        try:
            self._blobs.abort(self._session)
        except UploadUnknownError:
            pass


def _drain(writer: BlobWriter[T], chunks: Iterable[bytes]) -> T:
    """Write every chunk, then finish; abort on any failure (what ``store_blob`` always did)."""
    try:
        for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """One entry of a directory listing: a file (with its size) or a directory."""

    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True, slots=True)
class ArtifactDownload:
    path: str
    size: int
    digest: str
    chunks: Iterator[bytes]


def clean_path(path: str, *, allow_root: bool = False) -> str:
    """A relative artifact path with no ``..``, ``.`` or empty segments ('' is the root)."""
    path = (path or "").strip("/")
    if not path:
        if allow_root:
            return ""
        raise InvalidArgumentError("an artifact path is required", field="path")
    validate_file_path(path)
    return path


def version_prefix(registry: str, collection: str, number: int) -> str:
    """The artifact path under which a registered version's files are served.

    A collection name of letters, digits, ``.``, ``_`` and ``-`` (starting with a letter or digit)
    is written as is; any other name as ``~`` + the hex of its UTF-8 bytes, because the MLflow
    client sends this path unquoted in a URL path and quoted in a query string, so ``%``, ``#``,
    ``?`` or spaces could not survive both.
    """
    segment = collection if _PLAIN_NAME.match(collection) else "~" + collection.encode().hex()
    return f"{VERSIONS_PREFIX}/{registry}/{segment}/{number}"


def _collection_from_path(segment: str) -> str:
    if not segment.startswith("~"):
        return segment
    try:
        return bytes.fromhex(segment[1:]).decode()
    except ValueError as exc:
        raise ArtifactNotFoundError(
            f"no registered model is stored under '{segment[:80]}'", path=segment[:200]
        ) from exc


class MlflowArtifactService:
    def __init__(
        self,
        db: TrackingDatabase,
        blobs: BlobStore,
        registry: RegistryService,
        *,
        access: ExperimentAccess | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._registry = registry
        self._access = access or ExperimentAccess()
        self._clock = clock

    # -- bytes -------------------------------------------------------------------------------------

    def store_blob(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Stream bytes into the blob store, hashing on the way; returns (digest, size)."""
        return _drain(self.open_blob_writer(lambda digest, size: (digest, size)), chunks)

    def open_blob_writer(self, on_stored: Callable[[str, int], T]) -> BlobWriter[T]:
        """An incremental ``store_blob``: ``write`` batches, then ``finish`` (calls ``on_stored``) or ``abort``."""
        return BlobWriter(self._blobs, on_stored)

    # -- who may touch a path ------------------------------------------------------------------------

    def _authorize(self, store: TrackingStore, actor: Actor | None, path: str, action: ExperimentAction) -> None:
        """Run artifacts are the owning experiment's data: ``action`` on the experiment whose artifact
        location holds ``path``. A path outside every experiment is org admins' only (it is hidden from
        the others as if empty or missing, and refused for writes)."""
        if self._access.trusted(actor):
            return
        missing = ArtifactNotFoundError(f"artifact '{path}' does not exist", path=path[:200])
        owner = self._access.owner_of_path(store, path)
        if owner is None:
            if action is ExperimentAction.READ:
                raise missing
            raise PermissionDeniedError(
                "only organization admins may write artifacts outside an experiment's artifact location",
                path=path[:200],
                action=action.value,
            )
        self._access.require(store, actor, int(owner["id"]), action, hidden=missing)

    # -- proxy -------------------------------------------------------------------------------------

    def _writable(self, actor: Actor | None, path: str) -> str:
        path = clean_path(path)
        if path == VERSIONS_PREFIX or path.startswith(VERSIONS_PREFIX + "/"):
            raise ConflictError(f"'{VERSIONS_PREFIX}/' holds registered versions, which are immutable", path=path[:200])
        with self._db.unit_of_work(write=False) as store:
            self._authorize(store, actor, path, ExperimentAction.EDIT)
        return path

    def upload(self, actor: Actor, path: str, chunks: Iterable[bytes]) -> None:
        _drain(self.open_upload(actor, path), chunks)

    def open_upload(self, actor: Actor, path: str) -> BlobWriter[None]:
        """A writer for the artifact at ``path`` (checked now); ``finish`` publishes it."""
        path = self._writable(actor, path)

        def publish(digest: str, size: int) -> None:
            with self._db.unit_of_work(write=True) as store:
                store.put_artifact(path, digest=digest, size=size, now=self._clock())

        return self.open_blob_writer(publish)

    def download(self, actor: Actor, path: str) -> ArtifactDownload:
        path = clean_path(path)
        if path.startswith(VERSIONS_PREFIX + "/"):
            version_files, inner = self._version_files(actor, path, Action.DOWNLOAD)
            entry = next((f for f in version_files if f.path == inner), None)
            if entry is None:
                raise ArtifactNotFoundError(f"artifact '{path}' does not exist", path=path[:200])
        else:
            with self._db.unit_of_work(write=False) as store:
                self._authorize(store, actor, path, ExperimentAction.READ)
                row = store.find_artifact(path)
            if row is None:
                raise ArtifactNotFoundError(f"artifact '{path}' does not exist", path=path[:200])
            entry = FileEntry(path, row["digest"], row["size"])
        return ArtifactDownload(path, entry.size, entry.digest, self._blobs.open(Digest.parse(entry.digest)))

    def list(self, actor: Actor, path: str) -> list[ArtifactEntry]:
        """Direct children of ``path`` (a file lists as itself; an unknown path lists as empty)."""
        path = clean_path(path, allow_root=True)
        if path == VERSIONS_PREFIX or path.startswith(VERSIONS_PREFIX + "/"):
            if path.count("/") < 3:
                return []
            version_files, inner = self._version_files(actor, path)
            files = [(f.path, f.size) for f in version_files]
        else:
            with self._db.unit_of_work(write=False) as store:
                try:
                    self._authorize(store, actor, path, ExperimentAction.READ)
                except ArtifactNotFoundError:
                    return []  # as an unknown path lists
                exact = store.find_artifact(path) if path else None
                if exact is not None:
                    return [ArtifactEntry(posixpath.basename(path), False, exact["size"])]
                files = [
                    (r["path"][len(path) + 1 :] if path else r["path"], r["size"]) for r in store.artifacts_under(path)
                ]
            inner = ""
        if inner:
            matching = [(p, s) for p, s in files if p == inner]
            if matching:
                return [ArtifactEntry(posixpath.basename(inner), False, matching[0][1])]
            files = [(p[len(inner) + 1 :], s) for p, s in files if p.startswith(inner + "/")]
        seen: dict[str, ArtifactEntry] = {}
        for rel, size in files:
            head, sep, _ = rel.partition("/")
            if sep:
                seen.setdefault(head, ArtifactEntry(head, True, None))
            else:
                seen[head] = ArtifactEntry(head, False, size)
        return [seen[k] for k in sorted(seen)]

    def delete(self, actor: Actor, path: str) -> None:
        path = self._writable(actor, path)
        with self._db.unit_of_work(write=True) as store:
            store.delete_artifacts(path)

    def _version_files(self, actor: Actor, path: str, action: Action = Action.READ) -> tuple[list[FileEntry], str]:
        """A registered version's manifest, for ``action``: READ lists names, DOWNLOAD serves or copies bytes
        (the rule every byte-serving route shares: ``can(principal, download, version)``)."""
        parts = path.split("/", 4)
        if len(parts) < 4 or not parts[3].isdigit():
            raise ArtifactNotFoundError(f"artifact '{path}' does not exist", path=path[:200])
        _, registry, segment, number = parts[:4]
        version = self._registry.get_version(
            registry, _collection_from_path(segment), VersionRef(number=int(number)), actor=actor, action=action
        )
        return list(version.files), (parts[4] if len(parts) > 4 else "")

    def files_under(self, actor: Actor, path: str) -> list[FileEntry]:
        """Every file at or under a proxy path, relative to it (a single file keeps its basename)."""
        path = clean_path(path, allow_root=True)
        if path.startswith(VERSIONS_PREFIX + "/"):
            version_files, inner = self._version_files(actor, path, Action.DOWNLOAD)
            if not inner:
                return version_files
            exact = [FileEntry(posixpath.basename(f.path), f.digest, f.size) for f in version_files if f.path == inner]
            return exact or [
                FileEntry(f.path[len(inner) + 1 :], f.digest, f.size)
                for f in version_files
                if f.path.startswith(inner + "/")
            ]
        with self._db.unit_of_work(write=False) as store:
            self._authorize(store, actor, path, ExperimentAction.READ)
            exact_row = store.find_artifact(path) if path else None
            if exact_row is not None:
                return [FileEntry(posixpath.basename(path), exact_row["digest"], exact_row["size"])]
            return [
                FileEntry(r["path"][len(path) + 1 :] if path else r["path"], r["digest"], r["size"])
                for r in store.artifacts_under(path)
            ]

    # -- multipart -------------------------------------------------------------------------------

    def create_multipart(self, actor: Actor, path: str, *, num_parts: int) -> str:
        path = self._writable(actor, path)
        if isinstance(num_parts, bool) or not isinstance(num_parts, int) or not 1 <= num_parts <= MAX_PARTS:
            raise InvalidArgumentError(f"num_parts must be between 1 and {MAX_PARTS}", field="num_parts")
        upload_id = secrets.token_urlsafe(24)
        with self._db.unit_of_work(write=True) as store:
            store.insert_multipart(
                upload_id,
                path=path,
                num_parts=num_parts,
                created_by=_holder_name(actor),
                created_by_id=actor.id,
                now=self._clock(),
            )
        return upload_id

    def _multipart(self, actor: Actor, upload_id: str) -> dict[str, object]:
        """The upload, if ``actor`` created it and may still write its path. Anyone else is told it
        does not exist: the id in a part URL is not a credential."""
        with self._db.unit_of_work(write=False) as store:
            row = store.find_multipart(upload_id)
            if row is None or row["created_by"] != _holder_name(actor) or row["created_by_id"] != actor.id:
                raise UploadUnknownError(upload_id=upload_id[:80])
            self._authorize(store, actor, str(row["path"]), ExperimentAction.EDIT)
        return row

    def upload_part(self, actor: Actor, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
        """Store one part (any order, retries replace); returns its ETag (the part's digest)."""
        return _drain(self.open_part(actor, upload_id, part_number), chunks)

    def open_part(self, actor: Actor, upload_id: str, part_number: int) -> BlobWriter[str]:
        """A writer for one part (checked now); ``finish`` records it and returns its ETag.

        Only the principal that created the upload may send parts; each part (as it starts and
        when it lands) refreshes the upload's last activity, which ``uploads purge`` ages it by."""
        row = self._multipart(actor, upload_id)
        if not 1 <= part_number <= int(row["num_parts"]):  # type: ignore[call-overload]
            raise InvalidArgumentError(f"part_number must be between 1 and {row['num_parts']}", field="part_number")
        with self._db.unit_of_work(write=True) as store:
            store.touch_multipart(upload_id, now=self._clock())

        def record(digest: str, size: int) -> str:
            with self._db.unit_of_work(write=True) as store:
                if store.find_multipart(upload_id) is None:  # aborted or purged while the part streamed
                    raise UploadUnknownError(upload_id=upload_id[:80])
                store.put_multipart_part(upload_id, part_number, digest=digest, size=size)
                store.touch_multipart(upload_id, now=self._clock())
            return digest

        return self.open_blob_writer(record)

    def complete_multipart(self, actor: Actor, path: str, upload_id: str, *, parts: list[tuple[int, str]]) -> None:
        """Concatenate the parts in order into one blob and publish it at ``path``."""
        path = self._writable(actor, path)
        row = self._multipart(actor, upload_id)
        if row["path"] != path:
            raise InvalidArgumentError("upload_id belongs to a different path", field="upload_id")
        with self._db.unit_of_work(write=False) as store:
            stored = {p["part_number"]: p for p in store.multipart_parts(upload_id)}
        wanted = sorted(parts)
        if not wanted or [n for n, _ in wanted] != list(range(1, len(wanted) + 1)):
            raise InvalidArgumentError("parts must be numbered 1..N without gaps", field="parts")
        for number, etag in wanted:
            got = stored.get(number)
            if got is None or (etag and etag.strip('"') != got["digest"]):
                raise InvalidArgumentError(f"part {number} was not uploaded (or its ETag differs)", field="parts")

        def joined() -> Iterator[bytes]:
            for number, _ in wanted:
                yield from self._blobs.open(Digest.parse(stored[number]["digest"]))

        digest, size = self.store_blob(joined())
        with self._db.unit_of_work(write=True) as store:
            store.put_artifact(path, digest=digest, size=size, now=self._clock())
            store.delete_multipart(upload_id)

    def abort_multipart(self, actor: Actor, upload_id: str) -> None:
        self._multipart(actor, upload_id)
        with self._db.unit_of_work(write=True) as store:
            store.delete_multipart(upload_id)


def _holder_name(actor: Actor) -> str:
    """How a multipart upload records its creator: kind and name (ids can be absent: 'local')."""
    return f"{actor.kind}:{actor.name}"[:255]
