"""The event log: one event per change, with before/after; its paging and filters. And health."""

from __future__ import annotations

import base64
import json

import pytest

COLL = "/api/v1/registries/models/collections"


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.covers("GET /api/v1/health")
def test_health(http, services) -> None:
    r = http.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == services.db.dialect
    assert r.headers["X-Request-ID"]


def test_request_id_is_echoed(http) -> None:
    assert http.get("/api/v1/health", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"] == "abc123"


@pytest.mark.covers("GET /api/v1/events")
def test_every_mutation_appends_exactly_one_event(http, api) -> None:
    """Drive every mutating endpoint once and compare the new events, in order, with what each should add."""
    seed = len(api.events())
    steps = [
        (lambda: api.registry("scratch"), ["registry.created"]),
        (lambda: http.patch("/api/v1/registries/scratch", json={"description": "x"}), ["registry.updated"]),
        (lambda: http.delete("/api/v1/registries/scratch"), ["registry.deleted"]),
        (lambda: api.collection("models", "c"), ["collection.created"]),
        (lambda: http.patch(f"{COLL}/c", json={"description": "d"}), ["collection.updated"]),
        (lambda: http.put(f"{COLL}/c/tags/k", json={"value": "v"}), ["collection.tag_set"]),
        (lambda: http.delete(f"{COLL}/c/tags/k"), ["collection.tag_unset"]),
        (lambda: api.version("models", "c"), ["version.created"]),
        (lambda: api.version("models", "c", aliases=["a1"]), ["version.created", "alias.set"]),
        (lambda: http.patch(f"{COLL}/c/versions/1", json={"description": "d"}), ["version.updated"]),
        (lambda: http.put(f"{COLL}/c/versions/1/tags/k", json={"value": "v"}), ["version.tag_set"]),
        (lambda: http.delete(f"{COLL}/c/versions/1/tags/k"), ["version.tag_unset"]),
        (lambda: http.put(f"{COLL}/c/versions/1/stage", json={"stage": "Staging"}), ["version.stage_changed"]),
        (lambda: http.put(f"{COLL}/c/aliases/a1", json={"version": 1}), ["alias.set"]),
        (lambda: http.delete(f"{COLL}/c/aliases/a1"), ["alias.unset"]),
        (lambda: http.put(f"{COLL}/c/aliases/a2", json={"version": 2}), ["alias.set"]),
        (lambda: http.delete(f"{COLL}/c/versions/2"), ["alias.unset", "version.deleted"]),
        (lambda: http.delete(f"{COLL}/c"), ["collection.deleted"]),
    ]
    seen = seed
    for step, expected in steps:
        response = step()
        if hasattr(response, "status_code"):
            assert response.status_code < 300, response.text
        events = api.events()
        new = events[seen:]
        assert [e["action"] for e in new] == expected, (expected, new)
        for e in new:
            assert e["actor"] == "local" and e["at"] and e["request_id"]
            assert e["before"] is not None or e["after"] is not None
        seen = len(events)
    ids = [e["id"] for e in api.events()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_reads_append_no_events(http, api) -> None:
    api.version("models", "c", aliases=["champion"])
    before = api.snapshot()
    for url in (
        "/api/v1/registries",
        "/api/v1/registries/models",
        f"{COLL}",
        f"{COLL}/c",
        f"{COLL}/c/versions",
        f"{COLL}/c/versions/1",
        f"{COLL}/c/aliases",
        f"{COLL}/c/aliases/champion/history",
        "/api/v1/search",
        "/api/v1/health",
        f"{COLL}/c/versions/1/files/model.bin",
    ):
        assert http.get(url).status_code == 200, url
    assert http.get("/api/v1/resolve", params={"path": "models/c:champion"}).status_code == 200
    assert api.snapshot() == before


def test_events_page_without_gaps_or_duplicates(http, api) -> None:
    for i in range(7):
        api.collection("models", f"c{i}")
    everything = [e["id"] for e in api.events()]
    paged: list[int] = []
    token = None
    while True:
        body = http.get("/api/v1/events", params={"page_size": 2, **({"page_token": token} if token else {})}).json()
        paged += [e["id"] for e in body["items"]]
        token = body["next_page_token"]
        if not token:
            break
    assert paged == everything


def test_event_filters(http, api) -> None:
    api.version("models", "c", aliases=["champion"])
    api.collection("datasets", "d")
    assert {e["action"] for e in api.events(action="alias.*")} == {"alias.set"}
    assert [e["target"] for e in api.events(target="models/c@champion")] == ["models/c@champion"]
    assert {e["registry"] for e in api.events(registry="datasets")} == {"datasets"}
    assert api.events(action="nothing.matches") == []


BAD_EVENT_QUERIES = [
    ({"page_size": 0}, "invalid_argument"),
    ({"page_size": 1001}, "invalid_argument"),
    ({"page_size": "many"}, "invalid_request"),
    ({"page_token": "garbage"}, "invalid_page_token"),
    ({"page_token": _token({"e": "1"})}, "invalid_page_token"),
    ({"page_token": _token({"e": 10**30})}, "invalid_page_token"),
    ({"since": "yesterday"}, "invalid_request"),
    ({"since": "2024-01-01T00:00:00"}, "invalid_argument"),
    ({"until": "2024-01-01T00:00:00"}, "invalid_argument"),
    ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "invalid_argument"),
]


def test_events_with_bad_input(http, api, subtests) -> None:
    for params, reason in BAD_EVENT_QUERIES:
        with subtests.test(msg=str(params)):
            api.error(http.get("/api/v1/events", params=params), 400, "INVALID_ARGUMENT", reason)


def test_events_since_and_until_with_a_timezone(http, api) -> None:
    api.collection("models", "c")
    r = http.get("/api/v1/events", params={"since": "2000-01-01T00:00:00Z", "until": "2999-01-01T00:00:00+02:00"})
    assert r.status_code == 200 and r.json()["items"]
