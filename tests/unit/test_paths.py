"""Artifact paths: parse/format round trip and strict version references."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.paths import ArtifactPath, VersionRef
from modelyard.errors import InvalidNameError

registries = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,20}\Z")
collections = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")
# An alias-shaped ref like "v3" (or "V0") reads as a version number, so aliases exclude that form.
alias_refs = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_-]{0,10}\Z").filter(lambda a: not re.fullmatch(r"[vV][0-9]+", a))
refs = st.one_of(st.integers(min_value=1, max_value=10**6).map(str), alias_refs)


@given(registries, collections, st.one_of(st.none(), refs))
def test_parse_format_round_trip(registry: str, collection: str, ref: str | None) -> None:
    text = f"{registry}/{collection}" + (f":{ref}" if ref is not None else "")
    path = ArtifactPath.parse(text)
    assert (path.registry, path.collection) == (registry, collection)
    assert ArtifactPath.parse(str(path)) == path


@pytest.mark.parametrize(
    ("text", "number", "alias"),
    [("3", 3, None), ("v3", 3, None), ("V12", 12, None), ("champion", None, "champion"), ("latest", None, "latest")],
)
def test_version_refs(text: str, number: int | None, alias: str | None) -> None:
    ref = VersionRef.parse(text)
    assert (ref.number, ref.alias) == (number, alias)


@pytest.mark.parametrize("text", ["0", "v0", "V0", "v00", ""])
def test_bad_version_refs(text: str) -> None:
    with pytest.raises(InvalidNameError):
        ArtifactPath.parse(f"models/c:{text}")


def test_a_number_with_a_trailing_newline_is_not_a_version_number() -> None:
    assert VersionRef.parse("3\n").number is None
