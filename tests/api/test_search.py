"""Search and collection listing: filters, ordering, and keyset pagination without gaps or duplicates."""

from __future__ import annotations

import base64
import json

import pytest

SEARCH = "/api/v1/search"


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def catalog(http, api) -> None:
    """models: fraud-detector (tags team=risk, tier=1; alias champion), fraud_v2 (team=risk), churn (team=growth),
    FraudScore; datasets: fraud-events (type dataset); prompts registry: fraud-prompt (type prompt)."""
    api.version("models", "fraud-detector", aliases=["champion"])
    http.put("/api/v1/registries/models/collections/fraud-detector/tags/team", json={"value": "risk"})
    http.put("/api/v1/registries/models/collections/fraud-detector/tags/tier", json={"value": "1"})
    api.collection("models", "fraud_v2", tags={"team": "risk"})
    api.collection("models", "churn", tags={"team": "growth"})
    api.collection("models", "FraudScore")
    api.collection("datasets", "fraud-events")
    api.registry("prompts", artifact_types=["prompt"])
    api.collection("prompts", "fraud-prompt")


def _names(http, **params) -> list[str]:
    r = http.get(SEARCH, params=params)
    assert r.status_code == 200, r.text
    return [f"{c['registry']}/{c['name']}" for c in r.json()["items"]]


FILTER_CASES = [
    (
        {},
        [
            "models/churn",
            "models/fraud-detector",
            "datasets/fraud-events",
            "prompts/fraud-prompt",
            "models/fraud_v2",
            "models/FraudScore",
        ],
    ),
    ({"q": "fraud-detector", "match": "exact"}, ["models/fraud-detector"]),
    ({"q": "FRAUD-DETECTOR", "match": "exact"}, ["models/fraud-detector"]),
    ({"q": "fraud", "match": "exact"}, []),
    ({"q": "fraud-", "match": "prefix"}, ["models/fraud-detector", "datasets/fraud-events", "prompts/fraud-prompt"]),
    ({"q": "fraud_", "match": "prefix"}, ["models/fraud_v2"]),
    ({"q": "_v", "match": "substring"}, ["models/fraud_v2"]),
    ({"q": "%", "match": "substring"}, []),
    ({"q": "score"}, ["models/FraudScore"]),
    ({"tag": "team"}, ["models/churn", "models/fraud-detector", "models/fraud_v2"]),
    ({"tag": "team=risk"}, ["models/fraud-detector", "models/fraud_v2"]),
    ({"tag": ["team=risk", "tier"]}, ["models/fraud-detector"]),
    ({"tag": "team="}, []),
    ({"type": "dataset"}, ["datasets/fraud-events"]),
    ({"registry": "prompts"}, ["prompts/fraud-prompt"]),
    ({"registry": ["prompts", "datasets"], "q": "fraud"}, ["datasets/fraud-events", "prompts/fraud-prompt"]),
    ({"alias": "champion"}, ["models/fraud-detector"]),
    ({"alias": "CHAMPION"}, []),  # aliases are case-sensitive, as in MLflow
    ({"alias": "nobody"}, []),
    (
        {"order_by": "-name", "type": "model"},
        ["models/FraudScore", "models/fraud_v2", "models/fraud-detector", "models/churn"],
    ),
]


@pytest.mark.covers("GET /api/v1/search")
@pytest.mark.usefixtures("catalog")
def test_search_filters(http, subtests) -> None:
    for params, expected in FILTER_CASES:
        with subtests.test(msg=str(params)):
            assert _names(http, **params) == expected


@pytest.mark.covers("GET /api/v1/registries/{registry}/collections")
@pytest.mark.usefixtures("catalog")
def test_list_collections_of_one_registry(http) -> None:
    r = http.get("/api/v1/registries/models/collections", params={"q": "fraud", "match": "prefix"})
    assert [c["name"] for c in r.json()["items"]] == ["fraud-detector", "fraud_v2", "FraudScore"]
    r = http.get("/api/v1/registries/models/collections", params={"tag": "team=risk", "alias": "champion"})
    assert [c["name"] for c in r.json()["items"]] == ["fraud-detector"]
    assert r.json()["items"][0]["aliases"] == {"champion": 1} and r.json()["items"][0]["latest_version"] == 1


@pytest.mark.parametrize("order_by", ["name", "-name", "created_at", "-created_at", "updated_at", "updated_at desc"])
def test_pagination_has_no_duplicates_or_gaps(http, api, order_by) -> None:
    for i in range(7):
        api.collection("models", f"c{i:02d}")
    api.collection("datasets", "d00")
    r = http.patch("/api/v1/registries/models/collections/c03", json={"description": "touched"})  # reorders updated_at
    assert r.status_code == 200, r.text
    everything = _names(http, order_by=order_by, page_size=1000)
    assert len(everything) == 8
    paged: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"order_by": order_by, "page_size": 3, **({"page_token": token} if token else {})}
        body = http.get(SEARCH, params=params).json()
        paged += [f"{c['registry']}/{c['name']}" for c in body["items"]]
        token = body["next_page_token"]
        pages += 1
        if not token:
            break
    assert paged == everything and pages == 3
    if order_by.lstrip("-").startswith("name"):
        assert everything == sorted(everything, key=lambda p: p.split("/")[1].lower(), reverse=order_by.startswith("-"))


def test_page_token_from_another_ordering_is_refused(http, api) -> None:
    for i in range(3):
        api.collection("models", f"c{i}")
    token = http.get(SEARCH, params={"page_size": 1}).json()["next_page_token"]
    assert token
    api.error(
        http.get(SEARCH, params={"page_size": 1, "page_token": token, "order_by": "-name"}),
        400,
        "INVALID_ARGUMENT",
        "invalid_page_token",
    )


GARBAGE_TOKENS = {
    "text": "not a token",
    "percent": "%%%",
    "list": _token([1, 2]),
    "no-position": _token({"o": "name", "d": False}),
    "int-name": _token({"o": "name", "d": False, "v": 5, "id": 1}),
    "list-name": _token({"o": "name", "d": False, "v": ["x"], "id": 1}),
    "str-id": _token({"o": "name", "d": False, "v": "a", "id": "1"}),
    "huge-id": _token({"o": "name", "d": False, "v": "a", "id": 10**30}),
    "negative-id": _token({"o": "name", "d": False, "v": "a", "id": -1}),
    "bad-time": _token({"o": "created_at", "d": False, "v": "yesterday", "id": 1}),
    "deep-nesting": base64.urlsafe_b64encode(b"[" * 5000).decode(),
    "naive-time": _token({"o": "created_at", "d": False, "v": "2024-01-01T00:00:00", "id": 1}),
}


def test_garbage_page_tokens(http, api, subtests) -> None:
    api.collection("models", "c")
    for name, token in GARBAGE_TOKENS.items():
        with subtests.test(msg=name):
            api.error(http.get(SEARCH, params={"page_token": token}), 400, "INVALID_ARGUMENT", "invalid_page_token")


@pytest.mark.parametrize("value", ["2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+05:00", "2999-01-01T00:00Z"])
def test_forged_but_well_formed_time_positions_page_normally(http, api, value) -> None:
    api.collection("models", "c")
    token = _token({"o": "created_at", "d": False, "v": value, "id": 1})
    r = http.get(SEARCH, params={"page_token": token, "order_by": "created_at"})
    assert r.status_code == 200
    assert isinstance(r.json()["items"], list)


BAD_SEARCH = [
    ({"page_size": 0}, 400, "invalid_argument"),
    ({"page_size": 1001}, 400, "invalid_argument"),
    ({"page_size": "x"}, 400, "invalid_request"),
    ({"match": "fuzzy", "q": "a"}, 400, "invalid_argument"),
    ({"order_by": "size"}, 400, "invalid_argument"),
    ({"order_by": "name; drop table collections"}, 400, "invalid_argument"),
    ({"tag": "=value"}, 400, "invalid_argument"),
    ({"registry": "nope"}, 404, "registry_not_found"),
    ({"registry": "Bad Name"}, 400, "invalid_name"),
]


def test_search_with_bad_input(http, api, subtests) -> None:
    for params, status, reason in BAD_SEARCH:
        with subtests.test(msg=str(params)):
            api.error(
                http.get(SEARCH, params=params), status, "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND", reason
            )


def test_list_collections_of_unknown_registry(http, api) -> None:
    api.error(http.get("/api/v1/registries/nope/collections"), 404, "NOT_FOUND", "registry_not_found")


def test_sdk_search_pages_lazily(sdk, api) -> None:
    for i in range(5):
        api.collection("models", f"m{i}")
    pager = sdk.search("m", match="prefix", page_size=2)
    assert [c.name for c in pager] == ["m0", "m1", "m2", "m3", "m4"]
    assert len(list(pager.pages())) == 3
