"""Aliases, their history, and resolving paths."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from modelyard.domain.names import MAX_ALIAS_NAME

COLL = "/api/v1/registries/models/collections"


@pytest.mark.covers(
    "PUT /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}",
    "GET /api/v1/registries/{registry}/collections/{collection}/aliases",
    "DELETE /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}",
)
def test_set_move_list_and_unset_an_alias(http, api) -> None:
    api.version("models", "c")
    api.version("models", "c")
    r = http.put(f"{COLL}/c/aliases/champion", json={"version": 1})
    assert r.status_code == 200 and r.json() == {"alias": "champion", "version": 1}
    assert http.put(f"{COLL}/c/aliases/champion", json={"version": 2}).json() == {"alias": "champion", "version": 2}
    http.put(f"{COLL}/c/aliases/canary", json={"version": 1})
    assert http.get(f"{COLL}/c/aliases").json()["items"] == [
        {"alias": "canary", "version": 1},
        {"alias": "champion", "version": 2},
    ]
    assert http.get(f"{COLL}/c/versions/champion").json()["number"] == 2
    assert http.get(f"{COLL}/c/versions/2").json()["aliases"] == ["champion"]
    assert http.delete(f"{COLL}/c/aliases/champion").status_code == 204
    assert http.get(f"{COLL}/c/aliases").json()["items"] == [{"alias": "canary", "version": 1}]
    api.error(http.get(f"{COLL}/c/versions/champion"), 404, "NOT_FOUND", "alias_not_found")


def test_setting_an_alias_to_where_it_already_points_records_nothing(http, api) -> None:
    api.version("models", "c", aliases=["champion"])
    before = api.snapshot()
    assert http.put(f"{COLL}/c/aliases/champion", json={"version": 1}).status_code == 200
    assert api.snapshot() == before


def test_aliases_are_case_sensitive(http, api) -> None:
    api.version("models", "c")
    api.version("models", "c")
    http.put(f"{COLL}/c/aliases/Champion", json={"version": 1})
    assert http.get(f"{COLL}/c/versions/champion").status_code == 404
    http.put(f"{COLL}/c/aliases/CHAMPION", json={"version": 2})
    assert http.get(f"{COLL}/c/versions/Champion").json()["number"] == 1
    assert sorted(a["version"] for a in http.get(f"{COLL}/c/aliases").json()["items"]) == [1, 2]


def test_set_invalid_or_reserved_alias(http, api, subtests) -> None:
    api.version("models", "c")
    before = api.snapshot()
    for alias in [
        "latest",
        "LATEST",
        "v3",
        "V3",
        "v0",
        "has.dot",
        "a" * (MAX_ALIAS_NAME + 1),
        "sp ace",
    ]:
        with subtests.test(msg=alias):
            details = api.error(
                http.put(f"{COLL}/c/aliases/{alias}", json={"version": 1}), 400, "INVALID_ARGUMENT", "invalid_name"
            )
            assert details["field"] == "alias"
            assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"version": 0}, 400, "invalid_request"),
        ({"version": "two"}, 400, "invalid_request"),
        ({"version": 1, "force": True}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"version": 5}, 404, "version_not_found"),
    ],
)
def test_set_alias_with_bad_body(http, api, body, status, reason) -> None:
    api.version("models", "c")
    before = api.snapshot()
    api.error(
        http.put(f"{COLL}/c/aliases/champion", json=body),
        status,
        "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND",
        reason,
    )
    assert api.snapshot() == before


def test_malformed_json_body(http, api) -> None:
    api.version("models", "c")
    before = api.snapshot()
    r = http.put(f"{COLL}/c/aliases/champion", content=b'{"version": 1', headers={"content-type": "application/json"})
    api.error(r, 400, "INVALID_ARGUMENT", "invalid_request")
    assert api.snapshot() == before


def test_unset_unknown_alias(http, api) -> None:
    api.version("models", "c")
    before = api.snapshot()
    details = api.error(http.delete(f"{COLL}/c/aliases/nope"), 404, "NOT_FOUND", "alias_not_found")
    assert details["alias"] == "nope"
    api.error(http.delete(f"{COLL}/nope/aliases/x"), 404, "NOT_FOUND", "collection_not_found")
    api.error(http.get(f"{COLL}/nope/aliases"), 404, "NOT_FOUND", "collection_not_found")
    assert api.snapshot() == before


# -- history -------------------------------------------------------------------------------------------


@pytest.mark.covers("GET /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}/history")
def test_alias_history_lists_every_move_newest_first(http, api) -> None:
    for _ in range(3):
        api.version("models", "c")
    http.put(f"{COLL}/c/aliases/champion", json={"version": 1})
    http.put(f"{COLL}/c/aliases/champion", json={"version": 3})
    http.delete(f"{COLL}/c/aliases/champion")
    http.put(f"{COLL}/c/aliases/champion", json={"version": 2})
    http.put(f"{COLL}/c/aliases/other", json={"version": 2})
    items = http.get(f"{COLL}/c/aliases/champion/history").json()["items"]
    assert [(i["version"], i["previous_version"]) for i in items] == [(2, None), (None, 3), (3, 1), (1, None)]
    assert all(i["alias"] == "champion" and i["actor"] == "local" and i["at"] for i in items)
    assert [i["event_id"] for i in items] == sorted((i["event_id"] for i in items), reverse=True)
    limited = http.get(f"{COLL}/c/aliases/champion/history", params={"limit": 2}).json()["items"]
    assert limited == items[:2]


def test_alias_history_includes_removal_by_version_delete(http, api) -> None:
    api.version("models", "c", aliases=["champion"])
    http.delete(f"{COLL}/c/versions/1")
    items = http.get(f"{COLL}/c/aliases/champion/history").json()["items"]
    assert [(i["version"], i["previous_version"]) for i in items] == [(None, 1), (1, None)]


def test_alias_history_is_per_exact_alias(http, api) -> None:
    api.version("models", "c")
    api.version("models", "c")
    http.put(f"{COLL}/c/aliases/Champion", json={"version": 1})
    http.put(f"{COLL}/c/aliases/champion", json={"version": 2})
    for spelling, moves in (("Champion", [(1, None)]), ("champion", [(2, None)]), ("CHAMPION", [])):
        items = http.get(f"{COLL}/c/aliases/{spelling}/history").json()["items"]
        assert [(i["version"], i["previous_version"]) for i in items] == moves, spelling


def test_alias_history_survives_a_collection_rename(http, api) -> None:
    api.version("models", "old", aliases=["champion"])
    http.patch(f"{COLL}/old", json={"name": "new"})
    items = http.get(f"{COLL}/new/aliases/champion/history").json()["items"]
    assert [(i["version"], i["previous_version"]) for i in items] == [(1, None)]


@pytest.mark.parametrize(
    ("url", "params", "status", "reason"),
    [
        ("c/aliases/champion/history", {"limit": 0}, 400, "invalid_argument"),
        ("c/aliases/champion/history", {"limit": 1001}, 400, "invalid_argument"),
        ("c/aliases/champion/history", {"limit": "x"}, 400, "invalid_request"),
        ("nope/aliases/champion/history", {}, 404, "collection_not_found"),
    ],
)
def test_alias_history_with_bad_input(http, api, url, params, status, reason) -> None:
    api.version("models", "c")
    api.error(
        http.get(f"{COLL}/{url}", params=params), status, "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND", reason
    )


def test_history_of_an_alias_never_set_is_empty(http, api) -> None:
    api.version("models", "c")
    r = http.get(f"{COLL}/c/aliases/never/history")
    assert r.status_code == 200 and r.json() == {"items": []}


# -- resolve -------------------------------------------------------------------------------------------


@pytest.mark.covers("GET /api/v1/resolve")
def test_resolve(http, api, subtests) -> None:
    api.version("models", "c", aliases=["champion"])
    api.version("models", "c")
    for path, number in [
        ("models/c", 2),
        ("models/c:latest", 2),
        ("models/c:1", 1),
        ("models/c:v1", 1),
        ("models/c:champion", 1),
        ("models/c@champion", 1),
        ("models/c:LATEST", 2),
        ("models/c:Latest", 2),
    ]:
        with subtests.test(msg=path):
            r = http.get("/api/v1/resolve", params={"path": path})
            assert r.status_code == 200 and r.json()["number"] == number and r.json()["files"]
    # names and aliases are case-sensitive, as in MLflow
    assert http.get("/api/v1/resolve", params={"path": "models/C:champion"}).status_code == 404
    assert http.get("/api/v1/resolve", params={"path": "models/c:CHAMPION"}).status_code == 404


@pytest.mark.covers("GET /api/v1/resolve")
def test_resolve_names_mlflow_allows(http, api, subtests) -> None:
    """Any name MLflow accepts can be addressed by a native path: '%' is written %25, '@' %40."""
    for name, path in [
        ("a@b", "models/a%40b"),
        ("50% off", "models/50%25 off"),
        ("my model", "models/my model"),
        ("modèle-模型", "models/modèle-模型"),
        ("catalog.schema.m", "models/catalog.schema.m"),
    ]:
        with subtests.test(msg=name):
            api.version("models", quote(name, safe=""), aliases=["grün"])
            body = http.get("/api/v1/resolve", params={"path": f"{path}@grün"}).json()
            assert (body["collection"], body["number"], body["path"]) == (name, 1, f"{path}:1")
            assert http.get("/api/v1/resolve", params={"path": f"{path}:latest"}).json()["number"] == 1


BAD_PATHS = [
    ("no-slash", 400, "invalid_name"),
    ("Bad/c", 400, "invalid_name"),
    ("models/c:0", 400, "invalid_name"),
    ("models/c:", 400, "invalid_name"),
    ("models/", 400, "invalid_name"),
    ("nope/c", 404, "registry_not_found"),
    ("models/nope", 404, "collection_not_found"),
    ("models/c:9", 404, "version_not_found"),
    ("models/c:ghost", 404, "alias_not_found"),
]


def test_resolve_bad_paths(http, api, subtests) -> None:
    api.version("models", "c")
    for path, status, reason in BAD_PATHS:
        with subtests.test(msg=path):
            api.error(
                http.get("/api/v1/resolve", params={"path": path}),
                status,
                "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND",
                reason,
            )


def test_resolve_requires_a_path(http, api) -> None:
    api.error(http.get("/api/v1/resolve"), 400, "INVALID_ARGUMENT", "invalid_request")
