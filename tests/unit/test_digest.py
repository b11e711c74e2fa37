"""``Digest``: parse/format round trip, strictness, and streaming hashes."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.digest import Digest
from modelyard.errors import InvalidArgumentError

hexes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(hexes)
def test_parse_format_round_trip(hexpart: str) -> None:
    text = f"sha256:{hexpart}"
    assert str(Digest.parse(text)) == text
    assert Digest.parse(str(Digest(hexpart))) == Digest(hexpart)


@given(st.text(max_size=80))
def test_parse_accepts_only_the_canonical_form(text: str) -> None:
    try:
        d = Digest.parse(text)
    except InvalidArgumentError:
        return
    assert str(d) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256:",
        "sha256:" + "A" * 64,
        "SHA256:" + "a" * 64,
        "sha512:" + "a" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256: " + "a" * 64,
        "a" * 64,
        "sha256:" + "a" * 64 + "\n",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        Digest.parse(text)


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700))
def test_of_stream_equals_of_bytes_for_any_chunk_size(data: bytes, chunk: int) -> None:
    digest, size = Digest.of_stream(io.BytesIO(data), chunk_size=chunk)
    assert digest == Digest.of_bytes(data) == Digest(hashlib.sha256(data).hexdigest())
    assert size == len(data)
