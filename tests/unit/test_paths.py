"""Artifact paths: parse/format round trip and strict version references."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.names import encode_collection_name
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


# Every name MLflow accepts as a registered-model name (no '/' or ':', not blank, no control characters).
mlflow_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/:"), min_size=1, max_size=40
).filter(lambda n: n.strip() and n != "." and not n.startswith(".."))


@given(registries, mlflow_names, st.one_of(st.none(), refs))
def test_any_collection_name_round_trips_through_a_native_path(registry: str, name: str, ref: str | None) -> None:
    path = ArtifactPath(registry, name, VersionRef.parse(ref) if ref is not None else None)
    assert ArtifactPath.parse(str(path)) == path
    # '@' in a name is escaped, so the '@alias' form is unambiguous too
    assert ArtifactPath.parse(f"{registry}/{encode_collection_name(name)}@champion") == ArtifactPath(
        registry, name, VersionRef(alias="champion")
    )


@pytest.mark.parametrize(
    ("text", "collection", "ref"),
    [
        ("models/my model:3", "my model", "3"),
        ("models/modèle-模型@champion", "modèle-模型", "champion"),
        ("models/a%40b@prod", "a@b", "prod"),
        ("models/a%40b", "a@b", None),
        ("models/50%25 off:latest", "50% off", "latest"),
        ("models/50%off", "50%off", None),  # a '%' not followed by 25 or 40 is kept as written
        ("models/cat.schema.model:1", "cat.schema.model", "1"),
        ("models/Churn", "Churn", None),  # names accepted before are written unchanged
    ],
)
def test_native_path_encoding(text: str, collection: str, ref: str | None) -> None:
    path = ArtifactPath.parse(text)
    assert path.collection == collection and (str(path.ref) if path.ref else None) == ref


@given(mlflow_names)
def test_the_sdk_decodes_paths_as_the_server(name: str) -> None:
    from modelyard.client._client import _split

    assert _split(f"models/{encode_collection_name(name)}@champion") == ("models", name, "champion")
