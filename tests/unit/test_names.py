"""Names: validation rules, normalization, and the documented limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain import names
from modelyard.domain.names import (
    normalize_collection_name,
    validate_alias_name,
    validate_collection_name,
    validate_registry_name,
    validate_tag,
    validate_tags,
)
from modelyard.errors import InvalidArgumentError, InvalidNameError, LimitExceededError


@given(st.text())
def test_normalization_is_idempotent(name: str) -> None:
    once = normalize_collection_name(name)
    assert normalize_collection_name(once) == once


@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,40}\Z"))
def test_valid_collection_names_differing_in_case_normalize_alike(name: str) -> None:
    assert validate_collection_name(name) == name
    assert normalize_collection_name(name.upper()) == normalize_collection_name(name.lower())


@given(st.text(max_size=80))
def test_validators_raise_only_invalid_name(text: str) -> None:
    for validate in (validate_registry_name, validate_collection_name, validate_alias_name):
        try:
            assert validate(text) == text
        except InvalidNameError:
            pass


@pytest.mark.parametrize("alias", ["latest", "Latest", "LATEST", "v1", "V1", "v0", "v123456"])
def test_reserved_aliases(alias: str) -> None:
    with pytest.raises(InvalidNameError, match="reserved"):
        validate_alias_name(alias)


@pytest.mark.parametrize("alias", ["champion", "v1beta", "version3", "latest-good", "vX", "v"])
def test_aliases_that_merely_look_reserved_are_fine(alias: str) -> None:
    assert validate_alias_name(alias) == alias


def test_limits_are_inclusive() -> None:
    validate_registry_name("r" * names.MAX_REGISTRY_NAME)
    validate_collection_name("c" * names.MAX_COLLECTION_NAME)
    validate_alias_name("a" * names.MAX_ALIAS_NAME)
    validate_tag("k" * names.MAX_TAG_KEY, "v" * names.MAX_TAG_VALUE)
    validate_tags({f"k{i}": "v" for i in range(names.MAX_TAGS)})
    assert names.validate_description("d" * names.MAX_DESCRIPTION) == "d" * names.MAX_DESCRIPTION


def test_one_past_each_limit_is_refused() -> None:
    with pytest.raises(InvalidNameError):
        validate_registry_name("r" * (names.MAX_REGISTRY_NAME + 1))
    with pytest.raises(InvalidNameError):
        validate_collection_name("c" * (names.MAX_COLLECTION_NAME + 1))
    with pytest.raises(InvalidNameError):
        validate_alias_name("a" * (names.MAX_ALIAS_NAME + 1))
    with pytest.raises(InvalidNameError):
        validate_tag("k" * (names.MAX_TAG_KEY + 1), "v")
    with pytest.raises(LimitExceededError):
        validate_tag("k", "v" * (names.MAX_TAG_VALUE + 1))
    with pytest.raises(LimitExceededError):
        validate_tags({f"k{i}": "v" for i in range(names.MAX_TAGS + 1)})
    with pytest.raises(LimitExceededError):
        names.validate_description("d" * (names.MAX_DESCRIPTION + 1))


@pytest.mark.parametrize("value", [None, 1, ["x"]])
def test_tag_values_must_be_strings(value: object) -> None:
    with pytest.raises(InvalidNameError):
        validate_tag("k", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("validate", "name"),
    [
        (validate_registry_name, "models\n"),
        (validate_collection_name, "fraud\n"),
        (validate_alias_name, "champion\n"),
        (names.validate_artifact_type, "model\n"),
    ],
)
def test_a_trailing_newline_is_not_part_of_a_valid_name(validate, name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate(name)


def test_a_trailing_newline_is_not_part_of_a_valid_tag_key() -> None:
    with pytest.raises(InvalidNameError):
        validate_tag("team\n", "v")


# -- principal, webhook and check names (issue 9): their rules live here with the others ------------


@pytest.mark.parametrize(
    ("validate", "good", "error"),
    [
        (names.validate_principal_name, "alice@example.com", InvalidNameError),
        (names.validate_webhook_name, "hook", InvalidNameError),
        (names.validate_check_name, "ci/unit-tests", InvalidArgumentError),
    ],
    ids=["principal", "webhook", "check"],
)
def test_principal_webhook_and_check_names_refuse_a_trailing_newline(validate, good: str, error: type) -> None:  # type: ignore[no-untyped-def]
    assert validate(good) == good
    for bad in (good + "\n", good + "\r", "\n" + good, good + "\x00", "", "x" * 129):
        with pytest.raises(error):
            validate(bad)


def test_the_old_import_paths_are_the_same_functions() -> None:
    from modelyard.domain import promotion
    from modelyard.services import automations, identity

    assert identity.validate_principal_name is names.validate_principal_name
    assert automations.validate_webhook_name is names.validate_webhook_name
    assert promotion.validate_check_name is names.validate_check_name
