"""The input rules of ``domain/inputs.py`` and the MLflow adapter's readers, as properties.

Whatever a client sends, the text check, the bounded JSON parse, the MLflow filter parser,
page-token decoder and ``Params`` readers either accept it or raise a ``ModelyardError``
(a 4xx): never ``RecursionError``, ``OverflowError``, ``UnicodeError`` or anything else (a 500).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from modelyard.api.mlflow.filters import decode_offset, encode_offset, parse_filter, parse_order_by
from modelyard.api.mlflow.translate import Params
from modelyard.domain.inputs import (
    MAX_INT64,
    MAX_JSON_DEPTH,
    MAX_VERSION_NUMBER,
    MIN_INT64,
    check_data,
    check_int64,
    json_depth,
    parse_json,
    validate_text,
)
from modelyard.domain.paths import VersionRef
from modelyard.errors import (
    InvalidArgumentError,
    InvalidTextError,
    JsonTooDeepError,
    ModelyardError,
    NonFiniteNumberError,
    OutOfRangeError,
)

# Text that leans on the interesting code points: NUL, both surrogate halves, controls, quotes.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff", '"', "\\", "[", "{", "]", "}"]),
    )
)


def _has_bad(text: str) -> bool:
    return any(c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF for c in text)


# -- text ---------------------------------------------------------------------------------------------


@given(hostile_text)
def test_validate_text_passes_exactly_the_storable_strings(text: str) -> None:
    try:
        assert validate_text(text, field="f") == text
    except InvalidTextError as exc:
        assert _has_bad(text) and exc.details["field"] == "f"
    else:
        assert not _has_bad(text)
        text.encode("utf-8")  # storable: encodes, and holds no NUL


@pytest.mark.parametrize("bad", ["a\x00", "\ud800", "x\udfffy", "\udc00\ud800"])
def test_validate_text_refuses_nul_and_lone_surrogates(bad: str) -> None:
    with pytest.raises(InvalidTextError) as info:
        validate_text(bad, field="description")
    assert info.value.code == "INVALID_ARGUMENT" and "description" in info.value.message


def test_a_valid_surrogate_pair_decoded_from_json_is_one_character_and_passes() -> None:
    assert validate_text(json.loads('"\\ud83d\\ude00"'), field="f") == "\U0001f600"


# -- integers -----------------------------------------------------------------------------------------


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_check_int64_accepts_exactly_the_signed_64_bit_range(n: int) -> None:
    if MIN_INT64 <= n <= MAX_INT64:
        assert check_int64(n, field="n") == n
    else:
        with pytest.raises(OutOfRangeError):
            check_int64(n, field="n")


def test_int64_bounds_are_inclusive() -> None:
    assert check_int64(MAX_INT64, field="n") == 2**63 - 1
    assert check_int64(MIN_INT64, field="n") == -(2**63)
    for n in (2**63, -(2**63) - 1, 10**30):
        with pytest.raises(OutOfRangeError):
            check_int64(n, field="n")


@pytest.mark.parametrize("text", ["2147483648", "9223372036854775808", "v9223372036854775808", "1" + "0" * 30])
def test_version_refs_beyond_the_version_number_limit_are_refused(text: str) -> None:
    with pytest.raises(OutOfRangeError):
        VersionRef.parse(text)
    with pytest.raises(OutOfRangeError):
        VersionRef(number=int(text.lstrip("v")))


def test_the_largest_version_number_is_accepted() -> None:
    assert VersionRef.parse(str(MAX_VERSION_NUMBER)).number == MAX_VERSION_NUMBER == 2**31 - 1


# -- data walker --------------------------------------------------------------------------------------

json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**65), max_value=2**65), st.floats(), hostile_text
)
json_data = st.recursive(
    json_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=20,
)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [k for k in value] + [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def _acceptable(leaf: Any, allow_non_finite: bool) -> bool:
    if isinstance(leaf, str):
        return not _has_bad(leaf)
    if isinstance(leaf, bool) or leaf is None:
        return True
    if isinstance(leaf, int):
        return MIN_INT64 <= leaf <= MAX_INT64
    return allow_non_finite or math.isfinite(leaf)


@given(json_data, st.booleans())
def test_check_data_refuses_a_document_iff_some_key_or_value_breaks_a_rule(value: Any, allow: bool) -> None:
    ok = all(_acceptable(leaf, allow) for leaf in _leaves(value))
    try:
        check_data(value, field="body", allow_non_finite=allow)
    except (InvalidTextError, OutOfRangeError, NonFiniteNumberError):
        assert not ok
    else:
        assert ok


def test_check_data_names_the_offending_field() -> None:
    with pytest.raises(InvalidTextError) as info:
        check_data({"params": {"a": [1, "x\x00"]}}, field="")
    assert info.value.details["field"] == "params.a[1]"
    with pytest.raises(NonFiniteNumberError) as info2:
        check_data({"m": float("inf")}, field="metrics")
    assert info2.value.details["field"] == "metrics.m"


def test_check_data_walks_a_deep_document_without_recursion() -> None:
    deep: Any = "x\x00"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidTextError):
        check_data(deep, field="body")


# -- JSON depth ---------------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


printable_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(), inner, max_size=3)),
    max_leaves=30,
)


@given(printable_json)
def test_json_depth_counts_exactly_the_nesting_of_a_valid_document(value: Any) -> None:
    assert json_depth(json.dumps(value)) == _depth(value)
    assert json_depth(json.dumps(value, ensure_ascii=False)) == _depth(value)


@given(st.one_of(hostile_text, st.binary()))
def test_parse_json_raises_only_invalid_argument(raw: str | bytes) -> None:
    try:
        parse_json(raw)
    except InvalidArgumentError:
        pass


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_parse_json_refuses_deep_documents_before_parsing(depth: int) -> None:
    for doc in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth):
        with pytest.raises(JsonTooDeepError):
            parse_json(doc)
        with pytest.raises(JsonTooDeepError):
            parse_json(doc.encode("utf-16"))


def test_brackets_inside_strings_do_not_count() -> None:
    doc = json.dumps({"s": "[" * 10_000 + '\\"{{{', "t": ["]]]"]})
    assert parse_json(doc) == json.loads(doc)
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_the_depth_scan_is_linear_on_unterminated_strings() -> None:
    # '"' followed by escaped quotes and no closing quote: a naive regex retries from every quote.
    with pytest.raises(InvalidArgumentError):
        parse_json('"' + '\\"' * 200_000)


# -- the MLflow adapter's parsers -----------------------------------------------------------------------


@given(hostile_text)
def test_mlflow_filter_parser_raises_only_modelyard_errors(text: str) -> None:
    try:
        parse_filter(text, numeric_attributes=("version_number",))
    except ModelyardError:
        pass


@given(st.lists(hostile_text, max_size=3))
def test_mlflow_order_by_parser_raises_only_modelyard_errors(entries: list[str]) -> None:
    try:
        parse_order_by(entries, allowed=("name", "creation_timestamp"))
    except ModelyardError:
        pass


@given(st.one_of(hostile_text, st.builds(lambda b: base64.b64encode(b).decode(), st.binary())))
def test_mlflow_page_token_decoder_raises_only_modelyard_errors(token: str) -> None:
    try:
        offset = decode_offset(token)
    except ModelyardError:
        pass
    else:
        assert 0 <= offset <= MAX_INT64


@given(st.integers(min_value=0, max_value=2**70))
def test_mlflow_page_token_offsets_beyond_int64_are_refused(offset: int) -> None:
    token = encode_offset(offset)
    if offset <= MAX_INT64:
        assert decode_offset(token) == offset
    else:
        with pytest.raises(InvalidArgumentError):
            decode_offset(token)


@given(st.dictionaries(st.sampled_from(["name", "version", "max_results", "tags", "flag"]), json_data, max_size=5))
def test_mlflow_params_readers_raise_only_modelyard_errors(body: dict[str, Any]) -> None:
    p = Params(QueryParams(""), body)
    readers = [
        lambda: p.str("name", required=True),
        lambda: p.opt("name"),
        lambda: p.int("max_results", default=1),
        lambda: p.version(),
        lambda: p.bool("flag"),
        lambda: p.list("tags"),
        lambda: p.tags(),
    ]
    for read in readers:
        try:
            value = read()
        except ModelyardError:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            assert MIN_INT64 <= value <= MAX_INT64
