"""Blob layout: ``blob_key`` and ``digest_from_key`` are inverses; session ids are validated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.digest import Digest
from modelyard.errors import UploadUnknownError
from modelyard.storage.blobs import layout

digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(Digest)


@given(digests)
def test_blob_key_round_trip(digest: Digest) -> None:
    key = layout.blob_key(digest)
    assert key == f"v1/blobs/sha256/{digest.hex[:2]}/{digest.hex}"
    assert layout.digest_from_key(key) == digest


@given(st.text(max_size=120))
def test_digest_from_key_never_raises_and_inverts_blob_key(key: str) -> None:
    digest = layout.digest_from_key(key)
    if digest is not None:
        assert layout.blob_key(digest) == key


@pytest.mark.parametrize(
    "key",
    [
        "v1/blobs/sha256/ab/" + "cd" * 32,
        "v1/blobs/sha256/" + "a" * 64,
        "v2/blobs/sha256/aa/" + "a" * 64,
        "v1/uploads/session/data",
        "v1/blobs/sha256/AA/" + "A" * 64,
    ],
)
def test_other_keys_name_no_digest(key: str) -> None:
    assert layout.digest_from_key(key) is None


@pytest.mark.parametrize("session_id", ["", "short", "../../etc", "a/b" * 4, "x" * 65, "with space!"])
def test_bad_session_ids_are_unknown_uploads(session_id: str) -> None:
    with pytest.raises(UploadUnknownError):
        layout.upload_dir_key(session_id)


def test_a_trailing_newline_is_not_part_of_a_session_id() -> None:
    with pytest.raises(UploadUnknownError):
        layout.upload_dir_key("abcdefgh\n")
