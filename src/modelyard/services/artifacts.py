"""Use cases for bytes: negotiate which blobs are missing, upload sessions, file downloads.

Write order is blob first (idempotent, content-addressed), metadata second: a version is
committed by ``RegistryService.create_version`` only after every blob it names exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from modelyard.domain.actor import Actor
from modelyard.domain.digest import Digest
from modelyard.domain.models import FileEntry, UploadSession
from modelyard.domain.names import validate_file_path
from modelyard.domain.paths import VersionRef
from modelyard.domain.permissions import Action
from modelyard.errors import (
    FileNotFoundInVersionError,
    InvalidArgumentError,
    LimitExceededError,
    RangeNotSatisfiableError,
    UploadUnknownError,
)
from modelyard.storage.interfaces import BlobInfo, BlobStore, Database

from . import authz
from .registry import RegistryService, utcnow

MAX_NEGOTIATE_DIGESTS = 10_000
MAX_BLOB_SIZE = 5 * 1024**4  # 5 TiB, the S3 object limit


@dataclass(frozen=True, slots=True)
class FileDownload:
    file: FileEntry
    start: int
    end: int  # inclusive; end < start for an empty file
    chunks: Iterator[bytes]

    @property
    def length(self) -> int:
        return max(0, self.end - self.start + 1)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One HTTP byte range (``bytes=a-b``, ``a-``, ``-n``) -> inclusive (start, end), or None for all.

    Raises ``RangeNotSatisfiableError`` for ranges outside the file, ``InvalidArgumentError``
    for malformed or multi-range headers.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        raise InvalidArgumentError("Range must be a single 'bytes=start-end' range", field="range")
    first, sep, last = spec.strip().partition("-")
    if not sep or (not first and not last) or not _is_ascii_digits(first or "0") or not _is_ascii_digits(last or "0"):
        raise InvalidArgumentError("Range must be a single 'bytes=start-end' range", field="range")
    if not first:
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiableError(f"range '{header}' is not satisfiable for {size} bytes", size=size)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiableError(f"range '{header}' is not satisfiable for {size} bytes", size=size)
    return start, min(end, size - 1)


def _is_ascii_digits(text: str) -> bool:
    """RFC 9110 DIGIT: 0-9 only (``str.isdigit`` also accepts '²' and '١', which ``int`` then rejects or misreads)."""
    return text.isascii() and text.isdigit()


class UploadWriter:
    """Appends batches to one upload session, in any number of ``write`` calls (session, rights and
    offset were checked when it was opened); refuses to grow past the promised size. ``abort`` keeps
    what was written: the session stays resumable from its offset."""

    def __init__(
        self,
        blobs: BlobStore,
        session: UploadSession,
        offset: int,
        *,
        current: Callable[[UploadSession], UploadSession],
        on_failure: Callable[[str], None],
    ) -> None:
        self._blobs, self._session, self.offset = blobs, session, offset
        self._current, self._on_failure = current, on_failure

    def write(self, data: bytes) -> None:
        if self.offset + len(data) > self._session.size:
            raise InvalidArgumentError(
                f"upload '{self._session.id}' promised {self._session.size} bytes; received more",
                upload_id=self._session.id,
            )
        try:
            self.offset = self._blobs.write_chunk(self._session.id, self.offset, (data,))
        except BaseException:
            self._on_failure(self._session.id)  # e.g. a full volume: the blob store dropped the data
            raise

    def finish(self) -> UploadSession:
        return self._current(self._session)

    def abort(self) -> None:
        """Nothing to undo: the client resumes from the session's offset."""


class ArtifactService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        registry: RegistryService,
        *,
        upload_ttl: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._registry = registry
        self._ttl = upload_ttl
        self._clock = clock

    def missing_blobs(self, registry: str, digests: Sequence[str], *, actor: Actor | None = None) -> list[str]:
        """Which of ``digests`` the server does not hold (the client then uploads only those)."""
        if len(digests) > MAX_NEGOTIATE_DIGESTS:
            raise LimitExceededError(f"ask about at most {MAX_NEGOTIATE_DIGESTS} digests at once", field="digests")
        parsed = [Digest.parse(d) for d in digests]
        self._registry.check_access(actor, registry, Action.WRITE)
        with self._db.unit_of_work(write=False) as store:
            usable = authz.usable_digests(store, actor, [str(d) for d in parsed])
        seen: set[Digest] = set()
        missing = []
        for d in parsed:
            if d in seen:
                continue
            seen.add(d)
            # A digest the caller may not use is "missing" for it, exactly like an absent one
            # (no existence oracle): the client uploads the bytes and so proves it holds them.
            # A blob the client will reuse gets a fresh grace period, so gc cannot take it
            # between this answer and the version commit that will reference it.
            if str(d) not in usable or not self._blobs.touch(d):
                missing.append(str(d))
        return missing

    def begin_upload(self, actor: Actor, registry: str, *, digest: str, size: int) -> UploadSession:
        d = Digest.parse(digest)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size > MAX_BLOB_SIZE:
            raise InvalidArgumentError(f"size must be an integer between 0 and {MAX_BLOB_SIZE}", field="size")
        self._registry.check_access(actor, registry, Action.WRITE)
        now = self._clock()
        session = UploadSession(
            id=secrets.token_urlsafe(24),
            digest=str(d),
            size=size,
            offset=0,
            registry=registry,
            created_at=now,
            expires_at=now + self._ttl,
        )
        with self._db.unit_of_work(write=True) as store:
            store.insert_upload(session, created_by=actor.name)
        try:
            self._blobs.begin_upload(session.id)
        except BaseException:
            self._forget_if_gone(session.id)
            raise
        return session

    def list_uploads(self, actor: Actor, *, registry: str | None = None) -> list[UploadSession]:
        """The caller's own open upload sessions (with the offset each would resume from).

        An interrupted push leaves its session here until it expires; pushing the same file again
        resumes it, ``abort_upload`` removes it. Only the caller's own sessions are listed: a
        session names a digest, and digests never cross a permission boundary (DESIGN 8).
        """
        with self._db.unit_of_work(write=False) as store:
            sessions = store.list_uploads(created_by=actor.name, now=self._clock(), registry=registry)
        out = []
        for session in sessions:
            try:
                offset = self._blobs.upload_offset(session.id)
            except UploadUnknownError:
                continue  # committed or aborted a moment ago
            out.append(replace(session, offset=offset))
        return out

    def _session(self, upload_id: str, actor: Actor | None) -> UploadSession:
        with self._db.unit_of_work(write=False) as store:
            session = store.find_upload(upload_id)
        if session is None or session.expires_at < self._clock():
            raise UploadUnknownError(upload_id=upload_id[:80])
        self._registry.check_access(actor, session.registry, Action.WRITE)
        return session

    def get_upload(self, upload_id: str, *, actor: Actor | None = None) -> UploadSession:
        return self.session_with_offset(self._session(upload_id, actor))

    def session_with_offset(self, session: UploadSession) -> UploadSession:
        """``session`` with the offset to resume from (the bytes received so far)."""
        offset = self._blobs.upload_offset(session.id)
        return UploadSession(
            session.id, session.digest, session.size, offset, session.registry, session.created_at, session.expires_at
        )

    def write_upload(self, upload_id: str, *, offset: int, chunks: Iterable[bytes], actor: Actor | None = None) -> int:
        """Append bytes at ``offset``; refuses to grow past the promised size. Returns the new offset."""
        writer = self.open_upload_writer(upload_id, offset=offset, actor=actor)
        for chunk in chunks:
            writer.write(chunk)
        return writer.offset

    def open_upload_writer(self, upload_id: str, *, offset: int, actor: Actor | None = None) -> UploadWriter:
        """A writer appending at ``offset`` (checked now), for callers that receive the bytes slowly."""
        session = self._session(upload_id, actor)
        self._blobs.write_chunk(upload_id, offset, ())  # ConflictError (with the offset) unless it resumes there
        return UploadWriter(
            self._blobs, session, offset, current=self.session_with_offset, on_failure=self._forget_if_gone
        )

    def commit_upload(self, upload_id: str, *, actor: Actor | None = None) -> BlobInfo:
        """Verify size and digest, make the blob visible, and close the session."""
        session = self._session(upload_id, actor)
        try:
            info = self._blobs.commit(
                upload_id, expected_digest=Digest.parse(session.digest), expected_size=session.size
            )
        except BaseException:
            self._forget_if_gone(upload_id)
            raise
        # The server hashed these bytes from this caller: from now on the digest counts as
        # present for it, even when the blob already existed (the commit was then a no-op).
        with self._db.unit_of_work(write=True) as store:
            authz.record_receipt(store, actor, str(info.digest), now=self._clock())
            store.delete_upload(upload_id)
        return info

    def _forget_if_gone(self, upload_id: str) -> None:
        """Drop the session row when the blob store no longer holds the session's data (a
        failed commit, a full volume), so no row outlives its bytes."""
        try:
            self._blobs.upload_offset(upload_id)
        except UploadUnknownError:
            with self._db.unit_of_work(write=True) as store:
                store.delete_upload(upload_id)

    def abort_upload(self, upload_id: str, *, actor: Actor | None = None) -> None:
        self._session(upload_id, actor)
        self._blobs.abort(upload_id)
        with self._db.unit_of_work(write=True) as store:
            store.delete_upload(upload_id)

    def open_file(
        self,
        registry: str,
        collection: str,
        ref: str,
        path: str,
        *,
        range_header: str | None = None,
        actor: Actor | None = None,
    ) -> FileDownload:
        validate_file_path(path)
        version = self._registry.get_version(
            registry, collection, VersionRef.parse(ref), actor=actor, action=Action.DOWNLOAD
        )
        entry = next((f for f in version.files if f.path == path), None)
        if entry is None:
            raise FileNotFoundInVersionError(path=version.path, file=path)
        rng = parse_range(range_header, entry.size)
        start, end = rng if rng is not None else (0, entry.size - 1)
        chunks = self._blobs.open(Digest.parse(entry.digest), offset=start, length=max(0, end - start + 1))
        return FileDownload(entry, start, end, chunks)
