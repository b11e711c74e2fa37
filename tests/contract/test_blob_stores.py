"""One conformance suite for every ``BlobStore`` (semantics documented in ``storage/interfaces.py``).

A new adapter is done when this suite passes against it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelyard.domain.digest import Digest
from modelyard.errors import ConflictError, DigestMismatchError, SizeMismatchError, UploadUnknownError
from modelyard.storage.blobs.filesystem import FilesystemBlobStore
from modelyard.storage.blobs.memory import MemoryBlobStore
from modelyard.storage.interfaces import BlobStore

STORES: dict[str, Callable[[Path], BlobStore]] = {
    "memory": lambda _root: MemoryBlobStore(),
    "filesystem": lambda root: FilesystemBlobStore(root, fsync=False),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return STORES[request.param](tmp_path / "blobs")


def sid() -> str:
    return secrets.token_urlsafe(24)


def put(store: BlobStore, data: bytes, *, chunks: int = 1) -> Digest:
    session = sid()
    store.begin_upload(session)
    offset = 0
    step = max(1, len(data) // chunks)
    while offset < len(data):
        offset = store.write_chunk(session, offset, [data[offset : offset + step]])
    store.commit(session, expected_digest=Digest.of_bytes(data), expected_size=len(data))
    return Digest.of_bytes(data)


def read(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


def test_stat_of_an_absent_blob_is_none(store: BlobStore) -> None:
    assert store.stat(Digest.of_bytes(b"absent")) is None


def test_upload_then_stat_and_open(store: BlobStore) -> None:
    data = b"hello blob store" * 1000
    digest = put(store, data, chunks=7)
    info = store.stat(digest)
    assert info is not None and info.digest == digest and info.size == len(data)
    assert info.modified_at.tzinfo is not None
    assert read(store.open(digest)) == data


def test_write_chunk_returns_the_new_offset_and_upload_offset_tracks_it(store: BlobStore) -> None:
    session = sid()
    store.begin_upload(session)
    assert store.upload_offset(session) == 0
    assert store.write_chunk(session, 0, [b"ab", b"cd"]) == 4
    assert store.write_chunk(session, 4, []) == 4
    assert store.write_chunk(session, 4, [b"e"]) == 5
    assert store.upload_offset(session) == 5


@pytest.mark.parametrize("offset", [0, 2, 4, 100])
def test_write_at_the_wrong_offset_is_a_conflict(store: BlobStore, offset: int) -> None:
    session = sid()
    store.begin_upload(session)
    store.write_chunk(session, 0, [b"abc"])
    with pytest.raises(ConflictError) as info:
        store.write_chunk(session, offset, [b"x"])
    assert info.value.details["offset"] == 3
    assert store.upload_offset(session) == 3


def test_commit_with_the_wrong_size_discards_the_session(store: BlobStore) -> None:
    session = sid()
    store.begin_upload(session)
    store.write_chunk(session, 0, [b"abc"])
    with pytest.raises(SizeMismatchError):
        store.commit(session, expected_digest=Digest.of_bytes(b"abcd"), expected_size=4)
    with pytest.raises(UploadUnknownError):
        store.upload_offset(session)
    assert list(store.iter_uploads()) == [] and list(store.iter_blobs()) == []


def test_commit_with_the_wrong_digest_discards_the_session(store: BlobStore) -> None:
    session = sid()
    store.begin_upload(session)
    store.write_chunk(session, 0, [b"abc"])
    with pytest.raises(DigestMismatchError):
        store.commit(session, expected_digest=Digest.of_bytes(b"xyz"), expected_size=3)
    with pytest.raises(UploadUnknownError):
        store.write_chunk(session, 3, [b"d"])
    assert store.stat(Digest.of_bytes(b"abc")) is None and store.stat(Digest.of_bytes(b"xyz")) is None
    assert list(store.iter_uploads()) == []


def test_committing_content_that_already_exists_is_a_no_op(store: BlobStore) -> None:
    digest = put(store, b"same bytes")
    before = store.stat(digest)
    assert put(store, b"same bytes") == digest
    after = store.stat(digest)
    assert before is not None and after is not None and after.size == before.size
    assert read(store.open(digest)) == b"same bytes"
    assert [b.digest for b in store.iter_blobs()] == [digest]
    assert list(store.iter_uploads()) == []


def test_empty_blob(store: BlobStore) -> None:
    digest = put(store, b"")
    info = store.stat(digest)
    assert info is not None and info.size == 0
    assert read(store.open(digest)) == b""


@pytest.mark.parametrize(
    ("offset", "length"),
    [(0, None), (0, 0), (0, 1), (10, None), (10, 5), (99_999, None), (99_999, 10), (100_000, None)],
)
def test_open_with_offset_and_length(store: BlobStore, offset: int, length: int | None) -> None:
    data = bytes(range(256)) * 390 + b"tail"  # 99_844 bytes: not a multiple of any chunk size
    data = data + b"x" * (100_000 - len(data))
    digest = put(store, data)
    end = None if length is None else offset + length
    assert read(store.open(digest, offset=offset, length=length)) == data[offset:end]


def test_open_streams_in_bounded_chunks(store: BlobStore) -> None:
    data = b"z" * (3 * 1024 * 1024 + 5)
    digest = put(store, data, chunks=3)
    chunks = list(store.open(digest))
    assert b"".join(chunks) == data and len(chunks) >= 2 and max(len(c) for c in chunks) <= 1024 * 1024


def test_delete(store: BlobStore) -> None:
    keep, gone = put(store, b"keep"), put(store, b"gone")
    store.delete(gone)
    store.delete(gone)  # deleting what is absent is fine
    assert store.stat(gone) is None and store.stat(keep) is not None
    assert [b.digest for b in store.iter_blobs()] == [keep]


def test_iter_blobs_lists_every_blob_once(store: BlobStore) -> None:
    digests = {put(store, f"blob {i}".encode()) for i in range(12)}
    listed = [b.digest for b in store.iter_blobs()]
    assert sorted(listed) == sorted(digests) and len(listed) == len(set(listed))
    sizes = {b.digest: b.size for b in store.iter_blobs()}
    assert sizes == {Digest.of_bytes(f"blob {i}".encode()): len(f"blob {i}".encode()) for i in range(12)}


def test_iter_uploads_lists_open_sessions_and_abort_removes_them(store: BlobStore) -> None:
    a, b = sid(), sid()
    store.begin_upload(a)
    store.begin_upload(b)
    store.write_chunk(b, 0, [b"partial"])
    uploads = dict(store.iter_uploads())
    assert set(uploads) == {a, b} and all(t.tzinfo is not None for t in uploads.values())
    store.abort(a)
    store.abort(a)  # aborting twice is fine
    assert [s for s, _ in store.iter_uploads()] == [b]
    with pytest.raises(UploadUnknownError):
        store.upload_offset(a)
    assert list(store.iter_blobs()) == []


def test_a_committed_session_is_gone(store: BlobStore) -> None:
    session = sid()
    store.begin_upload(session)
    store.write_chunk(session, 0, [b"data"])
    store.commit(session, expected_digest=Digest.of_bytes(b"data"), expected_size=4)
    assert list(store.iter_uploads()) == []
    with pytest.raises(UploadUnknownError):
        store.write_chunk(session, 4, [b"more"])


@pytest.mark.parametrize("session", ["../escape", "short", "a/b/c/d/e/f"])
def test_unsafe_session_ids_are_refused(store: BlobStore, session: str, tmp_path: Path) -> None:
    with pytest.raises(UploadUnknownError):
        store.begin_upload(session)
    assert not (tmp_path / "escape").exists()


def test_unknown_session(store: BlobStore) -> None:
    with pytest.raises(UploadUnknownError):
        store.write_chunk(sid(), 0, [b"x"])
    with pytest.raises(UploadUnknownError):
        store.commit(sid(), expected_digest=Digest.of_bytes(b""), expected_size=0)


@pytest.mark.parametrize("name", sorted(STORES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(min_value=0, max_value=4096), max_size=8))
def test_any_chunking_of_an_upload_gives_the_same_blob(name: str, tmp_path_factory, data: bytes, cuts) -> None:
    store = STORES[name](tmp_path_factory.mktemp("chunking"))
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    session = sid()
    store.begin_upload(session)
    offset = 0
    for start, end in zip(bounds, bounds[1:], strict=False):
        offset = store.write_chunk(session, offset, [data[start:end]])
    info = store.commit(session, expected_digest=Digest.of_bytes(data), expected_size=len(data))
    assert info.digest == Digest.of_bytes(data) and info.size == len(data)
    assert read(store.open(info.digest)) == data


def test_filesystem_upload_resumed_by_another_process_is_rehashed_on_commit(tmp_path: Path) -> None:
    """A second server process (a new store over the same root) finishes and commits an upload."""
    first = FilesystemBlobStore(tmp_path, fsync=False)
    session = sid()
    first.begin_upload(session)
    first.write_chunk(session, 0, [b"hello "])
    second = FilesystemBlobStore(tmp_path, fsync=False)
    assert second.upload_offset(session) == 6
    second.write_chunk(session, 6, [b"world"])
    with pytest.raises(DigestMismatchError):
        FilesystemBlobStore(tmp_path, fsync=False).commit(
            session, expected_digest=Digest.of_bytes(b"hello there"), expected_size=11
        )
    first.begin_upload(session2 := sid())
    first.write_chunk(session2, 0, [b"hello "])
    second.write_chunk(session2, 6, [b"world"])
    first.write_chunk(session2, 11, [b"!"])  # first's running hash missed "world": it must not be trusted
    info = first.commit(session2, expected_digest=Digest.of_bytes(b"hello world!"), expected_size=12)
    assert read(first.open(info.digest)) == b"hello world!"
