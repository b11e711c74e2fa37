"""``MemoryBlobStore``: an in-memory fake with the same semantics, for unit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from modelyard.domain.digest import CHUNK_SIZE, Digest
from modelyard.errors import (
    BlobUnknownError,
    ConflictError,
    DigestMismatchError,
    SizeMismatchError,
    UploadUnknownError,
)

from ..interfaces import BlobInfo
from . import layout


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[Digest, tuple[bytes, datetime]] = {}
        self._uploads: dict[str, tuple[bytearray, datetime]] = {}
        self._lock = threading.Lock()

    def stat(self, digest: Digest) -> BlobInfo | None:
        with self._lock:
            entry = self._blobs.get(digest)
        return BlobInfo(digest, len(entry[0]), entry[1]) if entry else None

    def open(self, digest: Digest, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        with self._lock:
            entry = self._blobs.get(digest)
        if entry is None:
            raise BlobUnknownError(digest=str(digest))
        data = entry[0]
        end = len(data) if length is None else min(len(data), offset + length)

        def gen() -> Iterator[bytes]:
            for start in range(offset, end, CHUNK_SIZE):
                yield data[start : min(end, start + CHUNK_SIZE)]

        return gen()

    def begin_upload(self, session_id: str) -> None:
        layout.upload_dir_key(session_id)  # validates the id
        with self._lock:
            if session_id in self._uploads:
                raise ConflictError(f"upload '{session_id}' already exists", upload_id=session_id)
            self._uploads[session_id] = (bytearray(), datetime.now(UTC))

    def _buf(self, session_id: str) -> bytearray:
        with self._lock:
            entry = self._uploads.get(session_id)
        if entry is None:
            raise UploadUnknownError(upload_id=session_id)
        return entry[0]

    def upload_offset(self, session_id: str) -> int:
        return len(self._buf(session_id))

    def write_chunk(self, session_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        buf = self._buf(session_id)
        if offset != len(buf):
            raise ConflictError(
                f"upload '{session_id}' is at offset {len(buf)}, not {offset}; resume from {len(buf)}",
                upload_id=session_id,
                offset=len(buf),
            )
        for chunk in chunks:
            buf.extend(chunk)
            with self._lock:  # the last activity is what ``iter_uploads`` reports
                if session_id in self._uploads:
                    self._uploads[session_id] = (buf, datetime.now(UTC))
        return len(buf)

    def commit(self, session_id: str, *, expected_digest: Digest, expected_size: int) -> BlobInfo:
        buf = bytes(self._buf(session_id))
        if len(buf) != expected_size:
            self.abort(session_id)
            raise SizeMismatchError(
                f"received {len(buf)} bytes but the upload promised {expected_size}",
                expected=expected_size,
                received=len(buf),
            )
        actual = Digest.of_bytes(buf)
        if actual != expected_digest:
            self.abort(session_id)
            raise DigestMismatchError(
                f"content hashes to {actual}, not {expected_digest}", expected=str(expected_digest), actual=str(actual)
            )
        with self._lock:
            self._uploads.pop(session_id, None)
            self._blobs.setdefault(expected_digest, (buf, datetime.now(UTC)))
            data, at = self._blobs[expected_digest]
        return BlobInfo(expected_digest, len(data), at)

    def abort(self, session_id: str) -> None:
        with self._lock:
            self._uploads.pop(session_id, None)

    def touch(self, digest: Digest) -> bool:
        with self._lock:
            entry = self._blobs.get(digest)
            if entry is None:
                return False
            self._blobs[digest] = (entry[0], datetime.now(UTC))
        return True

    def delete(self, digest: Digest) -> None:
        with self._lock:
            self._blobs.pop(digest, None)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        with self._lock:
            items = sorted(self._blobs.items())
        for digest, (data, at) in items:
            yield BlobInfo(digest, len(data), at)

    def iter_uploads(self) -> Iterator[tuple[str, datetime]]:
        with self._lock:
            items = sorted((k, v[1]) for k, v in self._uploads.items())
        yield from items

    def backdate(self, digest: Digest, at: datetime) -> None:
        """Test helper: pretend a blob was written at ``at`` (for GC grace-period tests)."""
        with self._lock:
            data, _ = self._blobs[digest]
            self._blobs[digest] = (data, at)
