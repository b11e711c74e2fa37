"""/api/v1/registries: create, read, update, delete, and every way to get them wrong."""

from __future__ import annotations

import pytest

from modelyard.domain.names import MAX_DESCRIPTION, MAX_REGISTRY_NAME

REG = "/api/v1/registries"


@pytest.mark.covers("GET /api/v1/registries")
def test_default_registries_are_listed(http) -> None:
    r = http.get(REG)
    assert r.status_code == 200
    items = {i["name"]: i for i in r.json()["items"]}
    assert items["models"]["artifact_types"] == ["model"]
    assert items["datasets"]["artifact_types"] == ["dataset"]


@pytest.mark.covers("POST /api/v1/registries", "GET /api/v1/registries/{registry}")
def test_create_registry_then_get_it(http, api) -> None:
    r = http.post(
        REG,
        json={"name": "prompts", "artifact_types": ["prompt", "model"], "description": "d", "visibility": "restricted"},
    )
    assert r.status_code == 201
    assert r.json()["artifact_types"] == ["prompt", "model"]
    got = http.get(f"{REG}/prompts").json()
    assert got["visibility"] == "restricted" and got["description"] == "d"
    (event,) = api.events(action="registry.created", registry="prompts")
    assert event["after"]["artifact_types"] == ["prompt", "model"] and event["before"] is None


def test_create_registry_twice_is_already_exists(http, api) -> None:
    api.registry("prompts")
    before = api.snapshot()
    api.error(http.post(REG, json={"name": "prompts"}), 409, "ALREADY_EXISTS", "already_exists")
    assert api.snapshot() == before


def test_create_registry_with_invalid_name(http, api, subtests) -> None:
    before = api.snapshot()
    for name in [
        "",
        "Upper",
        "-lead",
        "has space",
        "dot.ted",
        "a/b",
        "x" * (MAX_REGISTRY_NAME + 1),
        "ümlaut",
        "models\n",
    ]:
        with subtests.test(msg=repr(name)):
            details = api.error(http.post(REG, json={"name": name}), 400, "INVALID_ARGUMENT", "invalid_name")
            assert details["field"] == "registry"
            assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "r", "artifact_types": []}, "artifact_types"),
        ({"name": "r", "artifact_types": ["Bad Type"]}, "artifact_type"),
        ({"name": "r", "description": "x" * (MAX_DESCRIPTION + 1)}, "description"),
    ],
)
def test_create_registry_with_invalid_fields(http, api, body, field) -> None:
    before = api.snapshot()
    r = http.post(REG, json=body)
    assert r.status_code == 400
    assert r.json()["details"]["field"] == field
    assert api.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "r", "bogus": 1},
        {"name": 5},
        {"name": "r", "artifact_types": "model"},
        {"name": "r", "visibility": "public"},
        {},
        [],
    ],
)
def test_create_registry_with_a_malformed_body(http, api, body) -> None:
    before = api.snapshot()
    api.error(http.post(REG, json=body), 400, "INVALID_ARGUMENT", "invalid_request")
    assert api.snapshot() == before


def test_description_at_the_limit_is_accepted(http) -> None:
    r = http.post(REG, json={"name": "r", "description": "x" * MAX_DESCRIPTION})
    assert r.status_code == 201


def test_oversize_description_is_limit_exceeded(http, api) -> None:
    before = api.snapshot()
    api.error(
        http.post(REG, json={"name": "r", "description": "x" * (MAX_DESCRIPTION + 1)}),
        400,
        "INVALID_ARGUMENT",
        "limit_exceeded",
    )
    assert api.snapshot() == before


@pytest.mark.covers("PATCH /api/v1/registries/{registry}")
def test_update_registry_records_before_and_after(http, api) -> None:
    r = http.patch(f"{REG}/models", json={"description": "new", "artifact_types": ["model", "prompt"]})
    assert r.status_code == 200
    assert r.json()["description"] == "new" and r.json()["artifact_types"] == ["model", "prompt"]
    (event,) = api.events(action="registry.updated")
    assert event["before"] == {"description": "Trained models.", "artifact_types": ["model"]}
    assert event["after"] == {"description": "new", "artifact_types": ["model", "prompt"]}


def test_update_registry_with_nothing_changes_nothing(http, api) -> None:
    before = api.snapshot()
    assert http.patch(f"{REG}/models", json={}).status_code == 200
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"visibility": "everyone"}, "invalid_request"),
        ({"description": 3}, "invalid_request"),
        ({"colour": "red"}, "invalid_request"),
        ({"artifact_types": []}, "invalid_argument"),
        ({"artifact_types": ["UPPER"]}, "invalid_name"),
    ],
)
def test_update_registry_with_bad_input(http, api, body, reason) -> None:
    before = api.snapshot()
    api.error(http.patch(f"{REG}/models", json=body), 400, "INVALID_ARGUMENT", reason)
    assert api.snapshot() == before


@pytest.mark.covers("DELETE /api/v1/registries/{registry}")
def test_delete_empty_registry(http, api) -> None:
    api.registry("scratch")
    assert http.delete(f"{REG}/scratch").status_code == 204
    api.error(http.get(f"{REG}/scratch"), 404, "NOT_FOUND", "registry_not_found")
    (event,) = api.events(action="registry.deleted")
    assert event["target"] == "scratch" and event["before"] == {"name": "scratch"}


def test_delete_registry_that_holds_collections_is_a_conflict(http, api) -> None:
    api.collection("models", "m")
    before = api.snapshot()
    details = api.error(http.delete(f"{REG}/models"), 409, "CONFLICT", "conflict")
    assert details["collections"] == 1
    assert api.snapshot() == before


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"description": "x"}), ("DELETE", None)])
def test_unknown_registry(http, api, method, body) -> None:
    before = api.snapshot()
    details = api.error(http.request(method, f"{REG}/nope", json=body), 404, "NOT_FOUND", "registry_not_found")
    assert details["registry"] == "nope"
    assert api.snapshot() == before


def test_invalid_registry_name_in_the_path(http, api) -> None:
    api.error(http.get(f"{REG}/Not_Valid"), 400, "INVALID_ARGUMENT", "invalid_name")
