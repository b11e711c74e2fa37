"""Versions: commit, read, list, update, delete, tags and the legacy stage."""

from __future__ import annotations

import hashlib

import pytest

from modelyard.domain.names import MAX_DESCRIPTION, MAX_TAG_VALUE

COLL = "/api/v1/registries/models/collections"


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _commit(http, files, collection: str = "c", registry: str = "models", **body):
    return http.post(f"/api/v1/registries/{registry}/collections/{collection}/versions", json={"files": files, **body})


@pytest.mark.covers(
    "POST /api/v1/registries/{registry}/collections/{collection}/versions",
    "GET /api/v1/registries/{registry}/collections/{collection}/versions/{ref}",
)
def test_commit_a_version_from_uploaded_blobs(http, api) -> None:
    a, b = api.upload(b"aaa"), api.upload(b"bb")
    r = _commit(
        http,
        [{"path": "w/a.bin", "digest": a, "size": 3}, {"path": "b.txt", "digest": b, "size": 2}],
        description="first",
        tags={"k": "v"},
        metrics={"auc": 0.9},
        params={"lr": 0.1},
        run={"id": "run-1", "url": "http://x"},
        aliases=["candidate"],
    )
    assert r.status_code == 201
    v = r.json()
    assert v["number"] == 1 and v["path"] == "models/c:1" and v["size"] == 5 and v["file_count"] == 2
    assert [f["path"] for f in v["files"]] == ["b.txt", "w/a.bin"]
    assert v["aliases"] == ["candidate"] and v["stage"] == "None" and v["created_by"] == "local"
    assert v["digest"].startswith("sha256:")
    for ref in ("1", "v1", "latest", "candidate"):
        got = http.get(f"{COLL}/c/versions/{ref}")
        assert got.status_code == 200 and got.json() == v
    actions = [e["action"] for e in api.events(registry="models") if e["action"] != "registry.created"]
    assert actions == ["collection.created", "version.created", "alias.set"]


def test_identical_manifest_has_the_same_digest(api) -> None:
    files = {"a": b"1", "b/c": b"2"}
    assert api.version("models", "x", files)["digest"] == api.version("models", "y", files)["digest"]


def test_commit_without_create_collection_into_unknown_collection(http, api) -> None:
    d = api.upload(b"x")
    before = api.snapshot()
    r = _commit(http, [{"path": "x", "digest": d, "size": 1}], create_collection=False)
    api.error(r, 404, "NOT_FOUND", "collection_not_found")
    assert api.snapshot() == before


def test_commit_into_unknown_registry(http, api) -> None:
    d = api.upload(b"x")
    before = api.snapshot()
    api.error(
        _commit(http, [{"path": "x", "digest": d, "size": 1}], registry="nope"), 404, "NOT_FOUND", "registry_not_found"
    )
    assert api.snapshot() == before


def test_commit_referencing_blobs_never_uploaded(http, api) -> None:
    have = api.upload(b"present")
    ghost = sha(b"never uploaded")
    before = api.snapshot()
    r = _commit(http, [{"path": "a", "digest": have, "size": 7}, {"path": "b", "digest": ghost, "size": 14}])
    details = api.error(r, 400, "INVALID_ARGUMENT", "missing_blobs")
    assert details["missing"] == [ghost]
    assert api.snapshot() == before


def test_commit_stating_the_wrong_size_of_a_blob(http, api) -> None:
    d = api.upload(b"four")
    before = api.snapshot()
    details = api.error(
        _commit(http, [{"path": "a", "digest": d, "size": 5}]), 400, "INVALID_ARGUMENT", "missing_blobs"
    )
    assert details["missing"] == [d]
    assert api.snapshot() == before


INVALID_PATHS = {
    "dotdot": ["../x"],
    "absolute": ["/abs"],
    "empty-segment": ["a//b"],
    "backslash": ["a\\b"],
    "dot": ["./a"],
    "trailing-dotdot": ["a/.."],
    "inner-dot": ["a/./b"],
    "drive": ["C:/win"],
    "control-char": ["x\ny"],
    "duplicate": ["a", "a"],
    "file-vs-dir": ["a", "a/b"],
    "dir-vs-file": ["d/e/f", "d/e"],
    "empty": [""],
}


def test_commit_with_an_invalid_file_path(http, api, subtests) -> None:
    d = api.upload(b"x")
    before = api.snapshot()
    for name, paths in INVALID_PATHS.items():
        with subtests.test(msg=name):
            r = _commit(http, [{"path": p, "digest": d, "size": 1} for p in paths])
            api.error(r, 400, "INVALID_ARGUMENT", "invalid_path")
            assert api.snapshot() == before


BAD_METADATA = [
    ({"aliases": ["latest"]}, "invalid_name"),
    ({"aliases": ["v3"]}, "invalid_name"),
    ({"aliases": ["V12"]}, "invalid_name"),
    ({"aliases": ["has.dot"]}, "invalid_name"),
    ({"aliases": ["prod", "prod"]}, "invalid_argument"),
    ({"tags": {"k": "v" * (MAX_TAG_VALUE + 1)}}, "limit_exceeded"),
    ({"tags": {"bad\tkey": "v"}}, "invalid_name"),
    ({"description": "x" * (MAX_DESCRIPTION + 1)}, "limit_exceeded"),
    ({"artifact_type": "dataset"}, "invalid_argument"),
    ({"metrics": {"auc": "high"}}, "invalid_request"),
    ({"unknown_field": 1}, "invalid_request"),
    ({"run": {"id": "r", "extra": 1}}, "invalid_request"),
]


def test_commit_with_bad_metadata(http, api, subtests) -> None:
    d = api.upload(b"x")
    before = api.snapshot()
    for body, reason in BAD_METADATA:
        with subtests.test(msg=str(body)[:80]):
            r = _commit(http, [{"path": "x", "digest": d, "size": 1}], **body)
            api.error(r, 400, "INVALID_ARGUMENT", reason)
            assert api.snapshot() == before


BAD_FILE_ENTRIES = [
    ({"path": "x", "digest": "sha256:abc", "size": 1}, "invalid_argument"),
    ({"path": "x", "digest": "md5:" + "0" * 32, "size": 1}, "invalid_argument"),
    ({"path": "x", "digest": "SHA256:" + "A" * 64, "size": 1}, "invalid_argument"),
    ({"path": "x", "digest": sha(b"x"), "size": -1}, "invalid_request"),
    ({"path": "x", "digest": sha(b"x"), "size": "one"}, "invalid_request"),
    ({"path": "x", "digest": sha(b"x"), "size": 1.5}, "invalid_request"),
    ({"path": 7, "digest": sha(b"x"), "size": 1}, "invalid_request"),
    ({"path": "x", "digest": sha(b"x")}, "invalid_request"),
    ({"path": "x", "digest": sha(b"x"), "size": 1, "mode": "0644"}, "invalid_request"),
]


def test_commit_with_a_bad_file_entry(http, api, subtests) -> None:
    api.upload(b"x")
    before = api.snapshot()
    for spec, reason in BAD_FILE_ENTRIES:
        with subtests.test(msg=str(spec)):
            api.error(_commit(http, [spec]), 400, "INVALID_ARGUMENT", reason)
            assert api.snapshot() == before


@pytest.mark.parametrize("body", [{"files": "not-a-list"}, {}, {"files": [["x", "sha256:0", 1]]}])
def test_commit_with_a_malformed_file_list(http, api, body) -> None:
    before = api.snapshot()
    api.error(http.post(f"{COLL}/c/versions", json=body), 400, "INVALID_ARGUMENT", "invalid_request")
    assert api.snapshot() == before


def test_commit_into_a_collection_of_another_artifact_type(http, api) -> None:
    http.patch("/api/v1/registries/models", json={"artifact_types": ["model", "prompt"]})
    api.version("models", "c")
    d = api.upload(b"p")
    before = api.snapshot()
    details = api.error(
        _commit(http, [{"path": "p", "digest": d, "size": 1}], artifact_type="prompt"),
        400,
        "INVALID_ARGUMENT",
        "invalid_argument",
    )
    assert details["field"] == "artifact_type"
    assert api.snapshot() == before


def test_empty_version_is_allowed(http, api) -> None:
    r = _commit(http, [])
    assert r.status_code == 201 and r.json()["file_count"] == 0 and r.json()["size"] == 0


@pytest.mark.parametrize(
    ("ref", "reason"), [("2", "version_not_found"), ("latest", "version_not_found"), ("champion", "alias_not_found")]
)
def test_unknown_version_or_alias(http, api, ref, reason) -> None:
    api.collection("models", "c")
    api.error(http.get(f"{COLL}/c/versions/{ref}"), 404, "NOT_FOUND", reason)


@pytest.mark.parametrize("ref", ["0", "v0"])
def test_version_zero_is_invalid(http, api, ref) -> None:
    api.version("models", "c")
    api.error(http.get(f"{COLL}/c/versions/{ref}"), 400, "INVALID_ARGUMENT", "invalid_name")


# -- list ---------------------------------------------------------------------------------------------


@pytest.mark.covers("GET /api/v1/registries/{registry}/collections/{collection}/versions")
def test_list_versions_newest_first_across_pages(http, api) -> None:
    for _ in range(5):
        api.version("models", "c")
    seen: list[int] = []
    token = None
    while True:
        params = {"page_size": 2, **({"page_token": token} if token else {})}
        body = http.get(f"{COLL}/c/versions", params=params).json()
        assert len(body["items"]) <= 2
        assert all(v["files"] is None for v in body["items"])
        seen += [v["number"] for v in body["items"]]
        token = body["next_page_token"]
        if not token:
            break
    assert seen == [5, 4, 3, 2, 1]


BAD_PAGING = [
    ({"page_size": 0}, "invalid_argument"),
    ({"page_size": 1001}, "invalid_argument"),
    ({"page_size": "ten"}, "invalid_request"),
    ({"page_token": "garbage!"}, "invalid_page_token"),
    ({"page_token": "e30"}, "invalid_page_token"),  # base64 of "{}"
    ({"page_token": "eyJuIjoieCJ9"}, "invalid_page_token"),  # {"n":"x"}
    ({"page_token": "eyJuIjoxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9"}, "invalid_page_token"),  # {"n":10**25}
    ({"page_token": "eyJuIjotMX0"}, "invalid_page_token"),  # {"n":-1}
]


def test_list_versions_with_bad_paging(http, api, subtests) -> None:
    api.version("models", "c")
    for params, reason in BAD_PAGING:
        with subtests.test(msg=str(params)):
            api.error(http.get(f"{COLL}/c/versions", params=params), 400, "INVALID_ARGUMENT", reason)


def test_list_versions_of_unknown_collection(http, api) -> None:
    api.error(http.get(f"{COLL}/nope/versions"), 404, "NOT_FOUND", "collection_not_found")


# -- update and delete ------------------------------------------------------------------------------


@pytest.mark.covers("PATCH /api/v1/registries/{registry}/collections/{collection}/versions/{ref}")
def test_update_version_description(http, api) -> None:
    api.version("models", "c", description="old")
    r = http.patch(f"{COLL}/c/versions/1", json={"description": "new"})
    assert r.status_code == 200 and r.json()["description"] == "new"
    (event,) = api.events(action="version.updated")
    assert event["before"] == {"description": "old"} and event["after"] == {"description": "new"}


@pytest.mark.parametrize(
    ("url", "body", "status", "reason"),
    [
        ("1", {"description": "x" * (MAX_DESCRIPTION + 1)}, 400, "limit_exceeded"),
        ("1", {"description": 1}, 400, "invalid_request"),
        ("1", {"files": []}, 400, "invalid_request"),
        ("one", {"description": "x"}, 400, "invalid_request"),
        ("9", {"description": "x"}, 404, "version_not_found"),
    ],
)
def test_update_version_with_bad_input(http, api, url, body, status, reason) -> None:
    api.version("models", "c")
    before = api.snapshot()
    api.error(
        http.patch(f"{COLL}/c/versions/{url}", json=body),
        status,
        "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND",
        reason,
    )
    assert api.snapshot() == before


@pytest.mark.covers("DELETE /api/v1/registries/{registry}/collections/{collection}/versions/{ref}")
def test_delete_version_removes_its_aliases_and_never_reuses_its_number(http, api) -> None:
    for _ in range(3):
        api.version("models", "c")
    http.put(f"{COLL}/c/aliases/champion", json={"version": 3})
    http.put(f"{COLL}/c/aliases/stable", json={"version": 1})
    assert http.delete(f"{COLL}/c/versions/3").status_code == 204
    api.error(http.get(f"{COLL}/c/versions/3"), 404, "NOT_FOUND", "version_not_found")
    api.error(http.get(f"{COLL}/c/versions/champion"), 404, "NOT_FOUND", "alias_not_found")
    coll = http.get(f"{COLL}/c").json()
    assert coll["aliases"] == {"stable": 1} and coll["latest_version"] == 2
    assert http.get(f"{COLL}/c/versions/latest").json()["number"] == 2
    assert api.version("models", "c")["number"] == 4
    assert http.get(f"{COLL}/c/versions/latest").json()["number"] == 4
    unset = api.events(action="alias.unset")
    assert [(e["target"], e["before"]) for e in unset] == [("models/c@champion", {"alias": "champion", "version": 3})]
    (deleted,) = api.events(action="version.deleted")
    assert deleted["target"] == "models/c:3" and deleted["before"]["version"] == 3


def test_latest_follows_deletes_down_to_nothing(http, api) -> None:
    api.version("models", "c")
    api.version("models", "c")
    assert http.delete(f"{COLL}/c/versions/1").status_code == 204
    assert http.get(f"{COLL}/c/versions/latest").json()["number"] == 2
    assert http.delete(f"{COLL}/c/versions/2").status_code == 204
    assert http.get(f"{COLL}/c").json()["latest_version"] is None
    api.error(http.get(f"{COLL}/c/versions/latest"), 404, "NOT_FOUND", "version_not_found")
    assert api.version("models", "c")["number"] == 3


def test_delete_unknown_version(http, api) -> None:
    api.version("models", "c")
    before = api.snapshot()
    api.error(http.delete(f"{COLL}/c/versions/2"), 404, "NOT_FOUND", "version_not_found")
    api.error(http.delete(f"{COLL}/nope/versions/1"), 404, "NOT_FOUND", "collection_not_found")
    assert api.snapshot() == before


# -- version tags ------------------------------------------------------------------------------------


@pytest.mark.covers(
    "PUT /api/v1/registries/{registry}/collections/{collection}/versions/{number}/tags/{key}",
    "DELETE /api/v1/registries/{registry}/collections/{collection}/versions/{number}/tags/{key}",
)
def test_set_and_unset_version_tags(http, api) -> None:
    api.version("models", "c", tags={"a": "1"})
    assert http.put(f"{COLL}/c/versions/1/tags/a", json={"value": "2"}).status_code == 204
    assert http.put(f"{COLL}/c/versions/1/tags/x/y", json={"value": "z"}).status_code == 204
    assert http.get(f"{COLL}/c/versions/1").json()["tags"] == {"a": "2", "x/y": "z"}
    assert http.delete(f"{COLL}/c/versions/1/tags/a").status_code == 204
    assert http.get(f"{COLL}/c/versions/1").json()["tags"] == {"x/y": "z"}
    sets = api.events(action="version.tag_set")
    assert [(e["before"], e["after"]) for e in sets] == [
        ({"key": "a", "value": "1"}, {"key": "a", "value": "2"}),
        (None, {"key": "x/y", "value": "z"}),
    ]
    (unset,) = api.events(action="version.tag_unset")
    assert unset["before"] == {"key": "a", "value": "2"}


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "reason"),
    [
        ("PUT", "1/tags/bad%3Fkey", {"value": "v"}, 400, "invalid_name"),
        ("PUT", "1/tags/k", {"value": "v" * (MAX_TAG_VALUE + 1)}, 400, "limit_exceeded"),
        ("PUT", "1/tags/k", {"value": None}, 400, "invalid_request"),
        ("PUT", "9/tags/k", {"value": "v"}, 404, "version_not_found"),
        ("DELETE", "1/tags/missing", None, 404, "not_found"),
        ("DELETE", "9/tags/k", None, 404, "version_not_found"),
    ],
)
def test_version_tags_with_bad_input(http, api, method, url, body, status, reason) -> None:
    api.version("models", "c")
    before = api.snapshot()
    api.error(
        http.request(method, f"{COLL}/c/versions/{url}", json=body),
        status,
        "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND",
        reason,
    )
    assert api.snapshot() == before


# -- stage --------------------------------------------------------------------------------------------


@pytest.mark.covers("PUT /api/v1/registries/{registry}/collections/{collection}/versions/{number}/stage")
def test_stage_transitions_and_archive_existing(http, api) -> None:
    api.version("models", "c")
    api.version("models", "c")
    r = http.put(f"{COLL}/c/versions/1/stage", json={"stage": "production"})
    assert r.status_code == 200 and r.json()["stage"] == "Production"
    r = http.put(f"{COLL}/c/versions/2/stage", json={"stage": "Production", "archive_existing_versions": True})
    assert r.json()["stage"] == "Production"
    assert http.get(f"{COLL}/c/versions/1").json()["stage"] == "Archived"
    changes = [(e["target"], e["before"], e["after"]) for e in api.events(action="version.stage_changed")]
    assert changes == [
        ("models/c:1", {"stage": "None"}, {"stage": "Production"}),
        ("models/c:1", {"stage": "Production"}, {"stage": "Archived"}),
        ("models/c:2", {"stage": "None"}, {"stage": "Production"}),
    ]
    # Setting the same stage again changes nothing and records nothing.
    count = len(api.events())
    assert http.put(f"{COLL}/c/versions/2/stage", json={"stage": "Production"}).status_code == 200
    assert len(api.events()) == count


@pytest.mark.parametrize(
    ("url", "body", "status", "reason"),
    [
        ("1", {"stage": "Live"}, 400, "invalid_argument"),
        ("1", {"stage": 1}, 400, "invalid_request"),
        ("1", {"stage": "Staging", "archive": True}, 400, "invalid_request"),
        ("7", {"stage": "Staging"}, 404, "version_not_found"),
    ],
)
def test_stage_with_bad_input(http, api, url, body, status, reason) -> None:
    api.version("models", "c")
    before = api.snapshot()
    api.error(
        http.put(f"{COLL}/c/versions/{url}/stage", json=body),
        status,
        "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND",
        reason,
    )
    assert api.snapshot() == before
