"""/api/v1/registries/{registry}/collections and collection tags."""

from __future__ import annotations

import pytest

from modelyard.domain.names import MAX_COLLECTION_NAME, MAX_DESCRIPTION, MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS

COLL = "/api/v1/registries/models/collections"


@pytest.mark.covers(
    "POST /api/v1/registries/{registry}/collections", "GET /api/v1/registries/{registry}/collections/{collection}"
)
def test_create_collection_then_get_it(http, api) -> None:
    r = http.post(COLL, json={"name": "Fraud.Detector", "description": "d", "tags": {"team": "risk"}})
    assert r.status_code == 201
    body = r.json()
    assert body["path"] == "models/Fraud.Detector" and body["artifact_type"] == "model"
    assert body["tags"] == {"team": "risk"} and body["latest_version"] is None and body["aliases"] == {}
    assert http.get(f"{COLL}/Fraud.Detector").json() == body
    assert http.get(f"{COLL}/fraud.detector").status_code == 404  # names are case-sensitive, as in MLflow
    (event,) = api.events(action="collection.created")
    assert event["target"] == "models/Fraud.Detector"
    assert event["after"] == {"artifact_type": "model", "description": "d", "tags": {"team": "risk"}}


def test_names_differing_only_in_case_are_two_collections(http, api) -> None:
    api.collection("models", "Churn")
    assert http.post(COLL, json={"name": "CHURN"}).status_code == 201
    assert http.get(f"{COLL}/Churn").json()["name"] == "Churn"
    assert http.get(f"{COLL}/CHURN").json()["name"] == "CHURN"
    before = api.snapshot()
    api.error(http.post(COLL, json={"name": "Churn"}), 409, "ALREADY_EXISTS", "already_exists")
    assert api.snapshot() == before


def test_invalid_collection_name(http, api, subtests) -> None:
    before = api.snapshot()
    for name in ["", " ", ".", "..x", "a/b", "a:b", "x" * (MAX_COLLECTION_NAME + 1), "fraud\n"]:
        with subtests.test(msg=repr(name)):
            details = api.error(http.post(COLL, json={"name": name}), 400, "INVALID_ARGUMENT", "invalid_name")
            assert details["field"] == "collection"
            assert api.snapshot() == before


def test_artifact_type_the_registry_does_not_accept(http, api) -> None:
    before = api.snapshot()
    details = api.error(
        http.post(COLL, json={"name": "d", "artifact_type": "dataset"}), 400, "INVALID_ARGUMENT", "invalid_argument"
    )
    assert details["field"] == "artifact_type"
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        ({"name": "c", "tags": {"bad key!": "v"}}, "invalid_name", "tag_key"),
        ({"name": "c", "tags": {"k" * (MAX_TAG_KEY + 1): "v"}}, "invalid_name", "tag_key"),
        ({"name": "c", "tags": {"k": "v" * (MAX_TAG_VALUE + 1)}}, "limit_exceeded", "tag_value"),
        ({"name": "c", "tags": {f"k{i}": "v" for i in range(MAX_TAGS + 1)}}, "limit_exceeded", "tags"),
        ({"name": "c", "description": "x" * (MAX_DESCRIPTION + 1)}, "limit_exceeded", "description"),
        ({"name": "c", "artifact_type": "Not A Type"}, "invalid_name", "artifact_type"),
    ],
)
def test_create_collection_with_invalid_fields(http, api, body, reason, field) -> None:
    before = api.snapshot()
    details = api.error(http.post(COLL, json=body), 400, "INVALID_ARGUMENT", reason)
    assert details["field"] == field
    assert api.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [{"name": "c", "unknown": True}, {"name": ["c"]}, {"name": "c", "tags": {"k": 1}}, {"name": "c", "tags": ["k"]}],
)
def test_create_collection_with_a_malformed_body(http, api, body) -> None:
    before = api.snapshot()
    api.error(http.post(COLL, json=body), 400, "INVALID_ARGUMENT", "invalid_request")
    assert api.snapshot() == before


def test_create_collection_in_unknown_registry(http, api) -> None:
    before = api.snapshot()
    api.error(
        http.post("/api/v1/registries/nope/collections", json={"name": "c"}), 404, "NOT_FOUND", "registry_not_found"
    )
    assert api.snapshot() == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_collection(http, api, method) -> None:
    before = api.snapshot()
    r = http.request(method, f"{COLL}/nope", json={"description": "x"} if method == "PATCH" else None)
    details = api.error(r, 404, "NOT_FOUND", "collection_not_found")
    assert details["registry"] == "models" and details["collection"] == "nope"
    assert api.snapshot() == before


@pytest.mark.covers("PATCH /api/v1/registries/{registry}/collections/{collection}")
def test_rename_and_describe_collection(http, api) -> None:
    api.version("models", "old")
    r = http.patch(f"{COLL}/old", json={"name": "new", "description": "better"})
    assert r.status_code == 200 and r.json()["path"] == "models/new" and r.json()["description"] == "better"
    api.error(http.get(f"{COLL}/old"), 404, "NOT_FOUND", "collection_not_found")
    assert http.get(f"{COLL}/new/versions/1").json()["collection"] == "new"
    (event,) = api.events(action="collection.updated")
    assert event["target"] == "models/new"
    assert event["before"] == {"name": "old", "description": ""}
    assert event["after"] == {"name": "new", "description": "better"}


def test_rename_onto_an_existing_name_is_refused(http, api) -> None:
    api.collection("models", "a")
    api.collection("models", "b")
    before = api.snapshot()
    api.error(http.patch(f"{COLL}/a", json={"name": "b"}), 409, "ALREADY_EXISTS", "already_exists")
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "bad/name"}, "invalid_name"),
        ({"description": "x" * (MAX_DESCRIPTION + 1)}, "limit_exceeded"),
        ({"artifact_type": "dataset"}, "invalid_request"),
        ({"name": 1}, "invalid_request"),
    ],
)
def test_update_collection_with_bad_input(http, api, body, reason) -> None:
    api.collection("models", "c")
    before = api.snapshot()
    api.error(http.patch(f"{COLL}/c", json=body), 400, "INVALID_ARGUMENT", reason)
    assert api.snapshot() == before


@pytest.mark.covers("DELETE /api/v1/registries/{registry}/collections/{collection}")
def test_delete_collection_takes_its_versions_and_aliases(http, api) -> None:
    api.version("models", "c", aliases=["champion"])
    assert http.delete(f"{COLL}/c").status_code == 204
    api.error(http.get(f"{COLL}/c"), 404, "NOT_FOUND", "collection_not_found")
    api.error(
        http.get("/api/v1/resolve", params={"path": "models/c:champion"}), 404, "NOT_FOUND", "collection_not_found"
    )
    (event,) = api.events(action="collection.deleted")
    assert event["before"] == {"latest_version": 1, "aliases": {"champion": 1}, "tags": {}}
    # A new collection under the same name starts again from version 1.
    assert api.version("models", "c")["number"] == 1


# -- tags ---------------------------------------------------------------------------------------------


@pytest.mark.covers(
    "PUT /api/v1/registries/{registry}/collections/{collection}/tags/{key}",
    "DELETE /api/v1/registries/{registry}/collections/{collection}/tags/{key}",
)
def test_set_overwrite_and_unset_a_collection_tag(http, api) -> None:
    api.collection("models", "c")
    assert http.put(f"{COLL}/c/tags/owner", json={"value": "ann"}).status_code == 204
    assert http.put(f"{COLL}/c/tags/owner", json={"value": "bob"}).status_code == 204
    assert http.put(f"{COLL}/c/tags/ns:sub/key", json={"value": "slashes ok"}).status_code == 204
    assert http.get(f"{COLL}/c").json()["tags"] == {"ns:sub/key": "slashes ok", "owner": "bob"}
    assert http.delete(f"{COLL}/c/tags/owner").status_code == 204
    assert http.get(f"{COLL}/c").json()["tags"] == {"ns:sub/key": "slashes ok"}
    sets = api.events(action="collection.tag_set")
    assert [(e["before"], e["after"]) for e in sets] == [
        (None, {"key": "owner", "value": "ann"}),
        ({"key": "owner", "value": "ann"}, {"key": "owner", "value": "bob"}),
        (None, {"key": "ns:sub/key", "value": "slashes ok"}),
    ]
    (unset,) = api.events(action="collection.tag_unset")
    assert unset["before"] == {"key": "owner", "value": "bob"} and unset["after"] is None


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("bad%21key", {"value": "v"}, "invalid_name"),
        ("k" * (MAX_TAG_KEY + 1), {"value": "v"}, "invalid_name"),
        ("k", {"value": "v" * (MAX_TAG_VALUE + 1)}, "limit_exceeded"),
        ("k", {"value": 5}, "invalid_request"),
        ("k", {"value": "v", "extra": 1}, "invalid_request"),
        ("k", {}, "invalid_request"),
    ],
)
def test_set_collection_tag_with_bad_input(http, api, key, body, reason) -> None:
    api.collection("models", "c")
    before = api.snapshot()
    api.error(http.put(f"{COLL}/c/tags/{key}", json=body), 400, "INVALID_ARGUMENT", reason)
    assert api.snapshot() == before


def test_tag_value_at_the_limit_is_accepted(http, api) -> None:
    api.collection("models", "c")
    assert http.put(f"{COLL}/c/tags/k", json={"value": "v" * MAX_TAG_VALUE}).status_code == 204


def test_unset_missing_tag_is_not_found(http, api) -> None:
    api.collection("models", "c")
    before = api.snapshot()
    details = api.error(http.delete(f"{COLL}/c/tags/nope"), 404, "NOT_FOUND", "not_found")
    assert details["tag"] == "nope"
    assert api.snapshot() == before


def test_tag_on_unknown_collection(http, api) -> None:
    before = api.snapshot()
    api.error(http.put(f"{COLL}/nope/tags/k", json={"value": "v"}), 404, "NOT_FOUND", "collection_not_found")
    api.error(http.delete(f"{COLL}/nope/tags/k"), 404, "NOT_FOUND", "collection_not_found")
    assert api.snapshot() == before
