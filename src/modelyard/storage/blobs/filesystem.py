"""``FilesystemBlobStore``: blobs as files under a local root (the embedded default).

Every path is computed by ``layout``; nothing user-supplied is ever joined onto the root.
Uploads are hashed while they are written (single pass) when the same process receives
every chunk; otherwise ``commit`` re-hashes the data from disk. Memory use is bounded by
the chunk size whatever the blob size.

A full volume (``ENOSPC``) or an exhausted quota (``EDQUOT``) is translated here, at the
boundary, into ``InsufficientStorageError``; the upload that hit it is deleted at once (its
partial data would otherwise hold the space until ``uploads purge``), so the same push
succeeds as soon as space is free.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from modelyard.domain.digest import CHUNK_SIZE, Digest
from modelyard.errors import (
    ConflictError,
    DigestMismatchError,
    InsufficientStorageError,
    SizeMismatchError,
    UploadUnknownError,
)

from ..interfaces import BlobInfo
from . import layout

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def _no_space(exc: OSError, session_id: str) -> InsufficientStorageError:
    why = "over its quota" if exc.errno == errno.EDQUOT else "full"
    return InsufficientStorageError(
        f"the blob store's volume is {why}: upload '{session_id}' was discarded; "
        "push again once an operator has freed space",
        upload_id=session_id,
    )


class FilesystemBlobStore:
    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).resolve()
        self._fsync = fsync
        (self.root / layout.VERSION_DIR / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / layout.VERSION_DIR / "uploads").mkdir(parents=True, exist_ok=True)
        self._hashers: dict[str, tuple[int, hashlib._Hash]] = {}
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.root / key

    def stat(self, digest: Digest) -> BlobInfo | None:
        try:
            st = os.stat(self._path(layout.blob_key(digest)))
        except FileNotFoundError:
            return None
        return BlobInfo(digest, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def open(self, digest: Digest, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._path(layout.blob_key(digest))
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            from modelyard.errors import BlobUnknownError

            raise BlobUnknownError(digest=str(digest)) from None

        def gen() -> Iterator[bytes]:
            with f:
                f.seek(offset)
                remaining = length
                while remaining is None or remaining > 0:
                    n = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                    chunk = f.read(n)
                    if not chunk:
                        return
                    if remaining is not None:
                        remaining -= len(chunk)
                    yield chunk

        return gen()

    def begin_upload(self, session_id: str) -> None:
        d = self._path(layout.upload_dir_key(session_id))
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            d.mkdir(exist_ok=False)
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                raise
            raise _no_space(exc, session_id) from exc
        try:
            (d / "data").touch()
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                raise
            shutil.rmtree(d, ignore_errors=True)
            raise _no_space(exc, session_id) from exc
        with self._lock:
            self._hashers[session_id] = (0, hashlib.sha256())

    def _data(self, session_id: str) -> Path:
        p = self._path(layout.upload_data_key(session_id))
        if not p.exists():
            raise UploadUnknownError(upload_id=session_id)
        return p

    def upload_offset(self, session_id: str) -> int:
        return self._data(session_id).stat().st_size

    def write_chunk(self, session_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        path = self._data(session_id)
        current = path.stat().st_size
        if offset != current:
            raise ConflictError(
                f"upload '{session_id}' is at offset {current}, not {offset}; resume from {current}",
                upload_id=session_id,
                offset=current,
            )
        with self._lock:
            state = self._hashers.pop(session_id, None)
        hasher = state[1] if state and state[0] == offset else None
        written = offset
        try:
            with open(path, "ab") as f:
                for chunk in chunks:
                    f.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    written += len(chunk)
                f.flush()
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                raise
            hasher = None
            self.abort(session_id)  # give the space back now, not when the session expires
            raise _no_space(exc, session_id) from exc
        finally:
            if hasher is not None:
                actual = path.stat().st_size
                if actual == written:
                    with self._lock:
                        self._hashers[session_id] = (written, hasher)
        return written

    def commit(self, session_id: str, *, expected_digest: Digest, expected_size: int) -> BlobInfo:
        path = self._data(session_id)
        size = path.stat().st_size
        with self._lock:
            state = self._hashers.pop(session_id, None)
        if size != expected_size:
            self.abort(session_id)
            raise SizeMismatchError(
                f"received {size} bytes but the upload promised {expected_size}",
                expected=expected_size,
                received=size,
            )
        if state is not None and state[0] == size:
            actual = Digest(state[1].hexdigest())
        else:
            with open(path, "rb") as f:
                actual, _ = Digest.of_stream(f)
        if actual != expected_digest:
            self.abort(session_id)
            raise DigestMismatchError(
                f"content hashes to {actual}, not {expected_digest}",
                expected=str(expected_digest),
                actual=str(actual),
            )
        target = self._path(layout.blob_key(expected_digest))
        if target.exists():
            self.abort(session_id)
        else:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if self._fsync:
                    with open(path, "rb+") as f:
                        os.fsync(f.fileno())
            except OSError as exc:
                if exc.errno not in _NO_SPACE:
                    raise
                self.abort(session_id)
                raise _no_space(exc, session_id) from exc
            os.replace(path, target)
            if self._fsync:
                dir_fd = os.open(target.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            shutil.rmtree(path.parent, ignore_errors=True)
        info = self.stat(expected_digest)
        assert info is not None
        return info

    def abort(self, session_id: str) -> None:
        with self._lock:
            self._hashers.pop(session_id, None)
        shutil.rmtree(self._path(layout.upload_dir_key(session_id)), ignore_errors=True)

    def touch(self, digest: Digest) -> bool:
        try:
            os.utime(self._path(layout.blob_key(digest)))
        except FileNotFoundError:
            return False
        return True

    def delete(self, digest: Digest) -> None:
        try:
            os.remove(self._path(layout.blob_key(digest)))
        except FileNotFoundError:
            pass

    def iter_blobs(self) -> Iterator[BlobInfo]:
        base = self.root / layout.VERSION_DIR / "blobs" / "sha256"
        for sub in sorted(base.iterdir()):
            if not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                digest = layout.digest_from_key(f.relative_to(self.root).as_posix())
                if digest is None:
                    continue
                st = f.stat()
                yield BlobInfo(digest, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def iter_uploads(self) -> Iterator[tuple[str, datetime]]:
        base = self.root / layout.VERSION_DIR / "uploads"
        for d in sorted(base.iterdir()):
            if d.is_dir():
                # Age is time since the last activity: appending to data/ changes the file's mtime,
                # not the folder's, so an upload still streaming must count as fresh.
                data = d / "data"
                mtimes = [d.stat().st_mtime]
                if data.exists():
                    mtimes.append(data.stat().st_mtime)
                yield d.name, datetime.fromtimestamp(max(mtimes), UTC)
