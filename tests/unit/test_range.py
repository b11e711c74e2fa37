"""``parse_range``: agrees with a small reference implementation of RFC 9110 single byte ranges."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.errors import InvalidArgumentError, RangeNotSatisfiableError
from modelyard.services.artifacts import parse_range

_SPEC = re.compile(r"^([0-9]*)-([0-9]*)$")


def reference(header: str, size: int) -> tuple[int, int] | str:
    """(start, end) inclusive, or "400" (malformed) or "416" (unsatisfiable)."""
    unit, eq, spec = header.strip().partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return "400"
    m = _SPEC.match(spec.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return "400"
    first, last = m.group(1), m.group(2)
    if not first:
        n = int(last)
        if n == 0 or size == 0:
            return "416"
        return max(0, size - n), size - 1
    start, end = int(first), (int(last) if last else size - 1)
    if start >= size or end < start:
        return "416"
    return start, min(end, size - 1)


def actual(header: str, size: int) -> tuple[int, int] | str | None:
    try:
        return parse_range(header, size)
    except InvalidArgumentError:
        return "400"
    except RangeNotSatisfiableError as exc:
        assert exc.details["size"] == size
        return "416"


numbers = st.integers(min_value=0, max_value=3000).map(str)
well_formed = st.builds(
    lambda a, b, unit, sp: f"{unit}{sp}={sp}{a}-{b}",
    st.one_of(st.just(""), numbers),
    st.one_of(st.just(""), numbers),
    st.sampled_from(["bytes", "BYTES", "Bytes"]),
    st.sampled_from(["", " "]),
)
alphabet = st.sampled_from(list("bytes=-0123456789, ") + ["\xb2", "\xb9", "\u0661", "+", "x", "\t"])
noisy = st.lists(alphabet, max_size=16).map("".join)
digitish = st.text(alphabet=st.sampled_from(list("0123456789 +-,") + ["\xb2", "\u0661"]), max_size=5)
near_miss = st.builds(lambda a, b: f"bytes={a}-{b}", digitish, digitish)


def test_no_header_means_the_whole_file() -> None:
    assert parse_range(None, 10) is None


@given(
    header=st.one_of(well_formed, near_miss, noisy, st.text(max_size=20)), size=st.integers(min_value=0, max_value=2000)
)
def test_parse_range_matches_the_reference(header: str, size: int) -> None:
    assert actual(header, size) == reference(header, size)


@given(header=well_formed, size=st.integers(min_value=1, max_value=2000))
def test_a_satisfiable_range_lies_inside_the_file(header: str, size: int) -> None:
    result = actual(header, size)
    if isinstance(result, tuple):
        start, end = result
        assert 0 <= start <= end < size


@pytest.mark.parametrize("header", ["bytes=\xb2-", "bytes=1-\xb9", "bytes=\u0661-2", "bytes=0-\u0662"])
def test_only_ascii_digits_count(header: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_range(header, 100)
