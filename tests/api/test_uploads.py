"""Negotiating missing blobs and upload sessions: begin, get, patch, commit, abort."""

from __future__ import annotations

import hashlib

import pytest

UP = "/api/v1/uploads"
BEGIN = "/api/v1/registries/models/uploads"
MISSING = "/api/v1/registries/models/blobs/missing"


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _begin(http, data: bytes, *, size: int | None = None) -> str:
    r = http.post(BEGIN, json={"digest": sha(data), "size": len(data) if size is None else size})
    assert r.status_code == 201, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


def _patch(http, uid: str, data: bytes, offset: int):
    return http.patch(f"{UP}/{uid}", content=data, headers={"Upload-Offset": str(offset)})


@pytest.mark.covers("POST /api/v1/registries/{registry}/blobs/missing")
def test_missing_lists_only_digests_the_server_lacks(http, api) -> None:
    have = api.upload(b"have")
    lack = sha(b"lack")
    r = http.post(MISSING, json={"digests": [have, lack, lack]})
    assert r.status_code == 200 and r.json() == {"missing": [lack]}
    assert http.post(MISSING, json={"digests": []}).json() == {"missing": []}


@pytest.mark.parametrize(
    ("url", "body", "status", "reason"),
    [
        (MISSING, {"digests": ["sha256:nothex"]}, 400, "invalid_argument"),
        (MISSING, {"digests": "sha256:" + "0" * 64}, 400, "invalid_request"),
        (MISSING, {"digest": []}, 400, "invalid_request"),
        (MISSING, {"digests": ["sha256:" + "0" * 64] * 10_001}, 400, "limit_exceeded"),
        ("/api/v1/registries/nope/blobs/missing", {"digests": []}, 404, "registry_not_found"),
    ],
)
def test_missing_with_bad_input(http, api, url, body, status, reason) -> None:
    api.error(http.post(url, json=body), status, "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND", reason)


@pytest.mark.covers(
    "POST /api/v1/registries/{registry}/uploads",
    "GET /api/v1/uploads/{upload_id}",
    "PATCH /api/v1/uploads/{upload_id}",
    "POST /api/v1/uploads/{upload_id}/commit",
)
def test_upload_in_chunks_then_commit(http, api) -> None:
    data = bytes(range(256)) * 40
    uid = _begin(http, data)
    session = http.get(f"{UP}/{uid}").json()
    assert session["offset"] == 0 and session["size"] == len(data) and session["digest"] == sha(data)
    for start in range(0, len(data), 3000):
        r = _patch(http, uid, data[start : start + 3000], start)
        assert r.status_code == 200 and r.json()["offset"] == min(len(data), start + 3000)
    assert http.get(f"{UP}/{uid}").json()["offset"] == len(data)
    r = http.post(f"{UP}/{uid}/commit")
    assert r.status_code == 200 and r.json() == {"digest": sha(data), "size": len(data)}
    assert http.post(MISSING, json={"digests": [sha(data)]}).json() == {"missing": []}
    api.error(http.get(f"{UP}/{uid}"), 404, "NOT_FOUND", "upload_unknown")  # the session is closed


def test_empty_blob(http, api) -> None:
    uid = _begin(http, b"")
    r = http.post(f"{UP}/{uid}/commit")
    assert r.status_code == 200 and r.json() == {"digest": sha(b""), "size": 0}


def test_uploading_content_that_already_exists_is_harmless(http, api) -> None:
    api.upload(b"same")
    api.upload(b"same")
    assert api.snapshot()["@blobs"].count(sha(b"same")) == 1


def test_wrong_upload_offset_is_a_conflict_with_the_offset_to_resume_from(http, api) -> None:
    uid = _begin(http, b"0123456789")
    _patch(http, uid, b"01234", 0)
    for offset in (0, 3, 7):
        details = api.error(_patch(http, uid, b"56789", offset), 409, "CONFLICT", "conflict")
        assert details["offset"] == 5
    assert http.get(f"{UP}/{uid}").json()["offset"] == 5
    assert _patch(http, uid, b"56789", 5).json()["offset"] == 10


@pytest.mark.parametrize("offset", ["-1", "abc", "1.5"])
def test_malformed_upload_offset(http, api, offset) -> None:
    uid = _begin(http, b"data")
    r = http.patch(f"{UP}/{uid}", content=b"data", headers={"Upload-Offset": offset})
    api.error(r, 400, "INVALID_ARGUMENT", "invalid_request")
    assert http.get(f"{UP}/{uid}").json()["offset"] == 0


def test_upload_past_the_promised_size_is_refused(http, api) -> None:
    uid = _begin(http, b"abc")
    details = api.error(_patch(http, uid, b"abcdef", 0), 400, "INVALID_ARGUMENT", "invalid_argument")
    assert details["upload_id"] == uid
    assert http.get(f"{UP}/{uid}").json()["offset"] == 0
    _patch(http, uid, b"ab", 0)
    api.error(_patch(http, uid, b"cd", 2), 400, "INVALID_ARGUMENT", "invalid_argument")
    assert http.get(f"{UP}/{uid}").json()["offset"] == 2


def test_commit_with_digest_mismatch_stores_nothing_and_closes_the_session(http, api) -> None:
    uid = _begin(http, b"promised")
    _patch(http, uid, b"PROMISED", 0)  # same size, other bytes
    details = api.error(http.post(f"{UP}/{uid}/commit"), 400, "INVALID_ARGUMENT", "digest_mismatch")
    assert details["expected"] == sha(b"promised") and details["actual"] == sha(b"PROMISED")
    state = api.snapshot()
    assert state["@blobs"] == [] and state["@uploads"] == [] and state["upload_sessions"] == []
    api.error(http.get(f"{UP}/{uid}"), 404, "NOT_FOUND", "upload_unknown")


def test_commit_with_size_mismatch_stores_nothing(http, api) -> None:
    uid = _begin(http, b"complete")
    _patch(http, uid, b"comp", 0)
    details = api.error(http.post(f"{UP}/{uid}/commit"), 400, "INVALID_ARGUMENT", "size_mismatch")
    assert details["expected"] == 8 and details["received"] == 4
    state = api.snapshot()
    assert state["@blobs"] == [] and state["@uploads"] == [] and state["upload_sessions"] == []


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"digest": "sha256:xyz", "size": 1}, 400, "invalid_argument"),
        ({"digest": "sha256:" + "0" * 64, "size": -1}, 400, "invalid_request"),
        ({"digest": "sha256:" + "0" * 64, "size": "big"}, 400, "invalid_request"),
        ({"digest": "sha256:" + "0" * 64}, 400, "invalid_request"),
        ({"digest": "sha256:" + "0" * 64, "size": 1, "name": "x"}, 400, "invalid_request"),
        ({"digest": "sha256:" + "0" * 64, "size": 6 * 1024**4}, 400, "invalid_argument"),
    ],
)
def test_begin_upload_with_bad_input(http, api, body, status, reason) -> None:
    before = api.snapshot()
    api.error(http.post(BEGIN, json=body), status, "INVALID_ARGUMENT", reason)
    assert api.snapshot() == before


def test_begin_upload_in_unknown_registry(http, api) -> None:
    before = api.snapshot()
    api.error(
        http.post("/api/v1/registries/nope/uploads", json={"digest": sha(b""), "size": 0}),
        404,
        "NOT_FOUND",
        "registry_not_found",
    )
    assert api.snapshot() == before


@pytest.mark.covers("DELETE /api/v1/uploads/{upload_id}")
def test_abort_discards_the_session(http, api) -> None:
    before = api.snapshot()
    uid = _begin(http, b"data")
    _patch(http, uid, b"da", 0)
    assert http.delete(f"{UP}/{uid}").status_code == 204
    api.error(http.get(f"{UP}/{uid}"), 404, "NOT_FOUND", "upload_unknown")
    assert api.snapshot() == before


@pytest.mark.parametrize("uid", ["doesnotexist-000000000000", "x", "..a.b"])
def test_unknown_upload(http, api, uid, subtests) -> None:
    before = api.snapshot()
    for method, suffix in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/commit")]:
        with subtests.test(msg=f"{method} {suffix}"):
            r = http.request(
                method,
                f"{UP}/{uid}{suffix}",
                content=b"x" if method == "PATCH" else None,
                headers={"Upload-Offset": "0"} if method == "PATCH" else None,
            )
            api.error(r, 404, "NOT_FOUND", "upload_unknown")
            assert api.snapshot() == before


@pytest.mark.covers("GET /api/v1/uploads")
def test_list_uploads_shows_the_callers_open_sessions_with_their_offsets(http, api, services) -> None:
    from modelyard.domain.actor import Actor

    assert http.get(UP).json() == {"items": []}
    data = b"0123456789"
    uid = _begin(http, data)
    _patch(http, uid, data[:4], 0)
    listed = http.get(UP).json()["items"]
    assert [(u["id"], u["offset"], u["size"], u["registry"], u["digest"]) for u in listed] == [
        (uid, 4, 10, "models", sha(data))
    ]
    assert http.get(UP, params={"registry": "models"}).json()["items"] == listed
    assert http.get(UP, params={"registry": "other"}).json() == {"items": []}
    assert services.artifacts.list_uploads(Actor("someone-else")) == [], "only the caller's own sessions"
    _patch(http, uid, data[4:], 4)
    assert http.post(f"{UP}/{uid}/commit").status_code == 200
    assert http.get(UP).json() == {"items": []}, "a committed session is gone from the list"


def test_push_plan_counts_the_bytes_to_send_and_resumes_an_open_session(http, sdk, tmp_path) -> None:
    """What the CLI's upload bar uses as its total: bytes missing, minus what an open session already holds."""
    src = tmp_path / "m"
    src.mkdir()
    data = bytes(range(256)) * 400
    (src / "a.bin").write_bytes(data)
    (src / "b.txt").write_bytes(b"stored already")
    sdk.push(src / "b.txt", "models/seed")
    uid = _begin(http, data)
    assert _patch(http, uid, data[:1000], 0).status_code == 200  # an interrupted push left 1000 bytes

    plans: list[tuple[int, int, int]] = []
    sent: list[int] = []
    v = sdk.push(src, "models/plan", on_plan=lambda *p: plans.append(p), on_upload=sent.append)
    assert plans == [(2, 1, len(data) - 1000)]
    assert sum(sent) == len(data) - 1000, "the open session was continued, not restarted"
    assert v.file_count == 2 and http.get(UP).json() == {"items": []}

    plans.clear()
    sdk.push(src, "models/plan", on_plan=lambda *p: plans.append(p))
    assert plans == [(2, 2, 0)]
