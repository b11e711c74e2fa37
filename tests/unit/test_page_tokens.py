"""Page tokens: round trip, and garbage always gives ``InvalidPageTokenError`` — never another exception."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.search import (
    CollectionQuery,
    check_page_size,
    decode_page_token,
    encode_page_token,
    parse_order_by,
)
from modelyard.errors import InvalidArgumentError, InvalidPageTokenError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


@given(payloads)
def test_round_trip(payload: dict) -> None:
    token = encode_page_token(payload)
    assert "=" not in token and "/" not in token and "+" not in token  # URL-safe, unpadded
    assert decode_page_token(token) == payload


@given(st.text(max_size=200))
def test_garbage_text_is_always_an_invalid_page_token(token: str) -> None:
    try:
        assert isinstance(decode_page_token(token), dict)
    except InvalidPageTokenError:
        pass


@given(st.binary(max_size=200))
def test_base64_of_garbage_is_always_an_invalid_page_token(raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    try:
        assert isinstance(decode_page_token(token), dict)
    except InvalidPageTokenError:
        pass


@given(json_values)
def test_json_that_is_not_an_object_is_an_invalid_page_token(value: object) -> None:
    if isinstance(value, dict):
        return
    token = base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(token)


def test_deeply_nested_json_is_an_invalid_page_token() -> None:
    token = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(token)


positions = st.fixed_dictionaries({"v": json_values, "id": json_values}, optional={"x": json_values})


@pytest.mark.parametrize("order_by", ["name", "-name", "created_at", "-updated_at", "updated_at desc"])
@given(payload=st.one_of(payloads, positions))
def test_forged_tokens_give_a_position_or_an_invalid_page_token(order_by: str, payload: dict) -> None:
    field, descending = parse_order_by(order_by)
    query = CollectionQuery(order_by=field, descending=descending)
    payload = {"o": field, "d": descending, **payload}
    try:
        value, last_id = query.position_from_token(encode_page_token(payload))
    except InvalidPageTokenError:
        return
    assert isinstance(last_id, int) and not isinstance(last_id, bool) and 0 <= last_id < 2**63
    assert isinstance(value, str if field == "name" else datetime)


@pytest.mark.parametrize(
    ("field", "value"), [("name", "fraud-detector"), ("created_at", datetime(2024, 5, 1, tzinfo=UTC))]
)
def test_query_token_round_trip(field: str, value: object) -> None:
    query = CollectionQuery(order_by=field, descending=True)
    assert query.position_from_token(query.token_for(value, 42)) == (value, 42)


def test_token_from_another_ordering_is_refused() -> None:
    token = CollectionQuery(order_by="name").token_for("x", 1)
    with pytest.raises(InvalidPageTokenError):
        CollectionQuery(order_by="name", descending=True).position_from_token(token)
    with pytest.raises(InvalidPageTokenError):
        CollectionQuery(order_by="created_at").position_from_token(token)


@pytest.mark.parametrize("size", [0, -1, 1001, "10", None])
def test_page_size_out_of_range(size: object) -> None:
    with pytest.raises(InvalidArgumentError):
        check_page_size(size)  # type: ignore[arg-type]


def test_a_naive_time_position_is_refused() -> None:
    token = encode_page_token({"o": "created_at", "d": False, "v": "2024-01-01T00:00:00", "id": 1})
    with pytest.raises(InvalidPageTokenError):
        CollectionQuery(order_by="created_at").position_from_token(token)
