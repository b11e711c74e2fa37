"""Bad input gets a 400 with a stable code, the same on SQLite and PostgreSQL, and nothing is stored
(issue 8, item 12).

Every case was a 500 on at least one backend, or was stored on one and refused by the other:
integers beyond signed 64 bits (version numbers, alias targets, ids, MLflow page-token offsets,
metric steps), NUL and lone surrogates in free text (bodies, dict keys, nested metadata,
path segments, query values), NaN/Infinity/1e400 in native metadata, and JSON nested
100,000 deep (``RecursionError``) or merely deeper than the documented limit. Each case runs
on both backends; the whole database and blob store are compared before and after.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

BIG = 2**63  # one past the largest signed 64-bit integer
V32 = 2**31  # one past the largest version number (versions.number is a 32-bit INTEGER)
HUGE = 10**30
C = "/api/v1/registries/models/collections/c"
ML = "/api/2.0/mlflow"
NUL = "a\x00b"
LONE = "a\ud800b"  # sent as the JSON escape "\ud800"
DIGEST = "sha256:" + "0" * 64


def deep(n: int, leaf: str = "1") -> str:
    return "[" * n + leaf + "]" * n


def offset_token(n: int) -> str:
    return base64.b64encode(json.dumps({"offset": n}).encode()).decode()


class Case:
    """One request: ``body`` is encoded with ``json.dumps`` (so lone surrogates travel as
    ``\\ud800`` escapes and NaN as the ``NaN`` token); ``raw`` is sent as is."""

    def __init__(
        self,
        id: str,
        method: str,
        url: str,
        reason: str,
        *,
        body: Any = None,
        raw: str | bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        self.id, self.method, self.url, self.reason = id, method, url, reason
        self.body, self.raw, self.params = body, raw, params

    def send(self, http: Any, ctx: dict[str, str]) -> Any:
        content: bytes | None = None
        if self.raw is not None:
            raw = self.raw.format(**ctx) if isinstance(self.raw, str) and "{run}" in self.raw else self.raw
            content = raw.encode() if isinstance(raw, str) else raw
        elif self.body is not None:
            content = json.dumps(_fill(self.body, ctx)).encode()
        headers = {"content-type": "application/json"} if content is not None else {}
        return http.request(self.method, self.url.format(**ctx), content=content, params=self.params, headers=headers)


def _fill(value: Any, ctx: dict[str, str]) -> Any:
    if isinstance(value, str) and value in ("{run}", "{exp}"):
        return ctx[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    return value


def files() -> list[dict[str, Any]]:
    return [{"path": "model.bin", "digest": "{digest}", "size": 7}]


# -- /api/v1 -----------------------------------------------------------------------------------------

NATIVE: list[Case] = [
    # integers beyond signed 64 bits: path segments, query paths and body fields
    Case("get-version-2^63", "GET", f"{C}/versions/{BIG}", "out_of_range"),
    Case("get-version-v2^63", "GET", f"{C}/versions/v{BIG}", "out_of_range"),
    Case("get-version-2^31", "GET", f"{C}/versions/{V32}", "out_of_range"),
    Case("set-alias-to-2^31", "PUT", f"{C}/aliases/champion", "out_of_range", body={"version": V32}),
    Case("patch-version-2^63", "PATCH", f"{C}/versions/{BIG}", "out_of_range", body={"description": "x"}),
    Case("delete-version-2^63", "DELETE", f"{C}/versions/{BIG}", "out_of_range"),
    Case("version-tag-2^63", "PUT", f"{C}/versions/{BIG}/tags/k", "out_of_range", body={"value": "v"}),
    Case("stage-2^63", "PUT", f"{C}/versions/{BIG}/stage", "out_of_range", body={"stage": "Staging"}),
    Case("file-of-version-2^63", "GET", f"{C}/versions/{BIG}/files/model.bin", "out_of_range"),
    Case("resolve-10^20", "GET", "/api/v1/resolve", "out_of_range", params={"path": "models/c:" + "9" * 20}),
    Case("alias-to-10^30", "PUT", f"{C}/aliases/champion", "out_of_range", body={"version": HUGE}),
    Case("alias-to-2^63", "PUT", f"{C}/aliases/champion", "out_of_range", body={"version": BIG}),
    Case(
        "upload-size-2^64",
        "POST",
        "/api/v1/registries/models/uploads",
        "out_of_range",
        body={"digest": DIGEST, "size": 2**64},
    ),
    Case(
        "file-size-2^63",
        "POST",
        f"{C}/versions",
        "out_of_range",
        body={"files": [{"path": "model.bin", "digest": "{digest}", "size": BIG}]},
    ),
    Case("param-int-10^30", "POST", f"{C}/versions", "out_of_range", body={"files": files(), "params": {"n": HUGE}}),
    Case(
        "promotion-version-2^63", "POST", f"{C}/promotions", "out_of_range", body={"version": BIG, "target": "champion"}
    ),
    Case("promotion-id-2^63", "GET", f"/api/v1/promotions/{BIG}", "out_of_range"),
    Case("approve-id-2^63", "POST", f"/api/v1/promotions/{BIG}/approve", "out_of_range", body={}),
    Case(
        "check-on-version-2^63",
        "POST",
        f"{C}/versions/{BIG}/checks",
        "out_of_range",
        body={"name": "ci", "status": "success"},
    ),
    Case("rollback-to-2^63", "POST", f"{C}/aliases/champion/rollback", "out_of_range", body={"to": BIG}),
    Case("token-id-2^63", "DELETE", f"/api/v1/tokens/{BIG}", "out_of_range"),
    # NUL and lone surrogates in free text, wherever it enters
    Case(
        "registry-description-nul",
        "POST",
        "/api/v1/registries",
        "invalid_text",
        body={"name": "other", "description": NUL},
    ),
    Case("collection-description-nul", "PATCH", C, "invalid_text", body={"description": NUL}),
    Case("collection-description-surrogate", "PATCH", C, "invalid_text", body={"description": LONE}),
    Case(
        "collection-description-raw-surrogate-bytes",
        "PATCH",
        C,
        "invalid_text",
        raw=b'{"description": "a\xed\xa0\x80b"}',
    ),
    Case("collection-tag-value-nul", "PUT", f"{C}/tags/k", "invalid_text", body={"value": NUL}),
    Case("collection-tag-value-surrogate", "PUT", f"{C}/tags/k", "invalid_text", body={"value": LONE}),
    Case("collection-tag-key-in-path-nul", "PUT", f"{C}/tags/a%00b", "invalid_text", body={"value": "v"}),
    Case(
        "new-collection-tag-key-nul",
        "POST",
        "/api/v1/registries/models/collections",
        "invalid_text",
        body={"name": "d", "tags": {NUL: "v"}},
    ),
    Case("version-description-surrogate", "PATCH", f"{C}/versions/1", "invalid_text", body={"description": LONE}),
    Case("version-tag-value-nul", "PUT", f"{C}/versions/1/tags/k", "invalid_text", body={"value": NUL}),
    Case(
        "version-nested-param-nul",
        "POST",
        f"{C}/versions",
        "invalid_text",
        body={"files": files(), "params": {"opt": {"layers": ["relu", NUL]}}},
    ),
    Case(
        "version-param-key-surrogate",
        "POST",
        f"{C}/versions",
        "invalid_text",
        body={"files": files(), "params": {LONE: 1}},
    ),
    Case(
        "version-dataset-nul",
        "POST",
        f"{C}/versions",
        "invalid_text",
        body={"files": files(), "datasets": [{"name": NUL}]},
    ),
    Case(
        "version-signature-surrogate",
        "POST",
        f"{C}/versions",
        "invalid_text",
        body={"files": files(), "signature": {"inputs": [{"name": LONE}]}},
    ),
    Case("version-source-nul", "POST", f"{C}/versions", "invalid_text", body={"files": files(), "source": NUL}),
    Case(
        "principal-display-name-surrogate",
        "POST",
        "/api/v1/principals",
        "invalid_text",
        body={"name": "eve", "display_name": LONE},
    ),
    Case("team-description-nul", "POST", "/api/v1/teams", "invalid_text", body={"name": "ml", "description": NUL}),
    Case(
        "webhook-url-nul",
        "POST",
        "/api/v1/registries/models/webhooks",
        "invalid_text",
        body={"name": "w", "url": "https://example.com/" + NUL, "events": ["*"]},
    ),
    Case(
        "webhook-secret-surrogate",
        "POST",
        "/api/v1/registries/models/webhooks",
        "invalid_text",
        body={"name": "w", "url": "https://example.com/h", "events": ["*"], "secret": LONE},
    ),
    Case(
        "promotion-comment-nul",
        "POST",
        f"{C}/promotions",
        "invalid_text",
        body={"version": 1, "target": "champion", "comment": NUL},
    ),
    Case(
        "check-summary-surrogate",
        "POST",
        f"{C}/versions/1/checks",
        "invalid_text",
        body={"name": "ci", "status": "success", "summary": LONE},
    ),
    # a trailing newline: a '$'-anchored pattern would let it through (issue 9); the rest of each
    # body is valid (a public IP literal, so no DNS lookup is needed)
    Case("principal-name-newline", "POST", "/api/v1/principals", "invalid_name", body={"name": "eve\n"}),
    Case("team-name-newline", "POST", "/api/v1/teams", "invalid_name", body={"name": "ml\n"}),
    Case(
        "webhook-name-newline",
        "POST",
        "/api/v1/registries/models/webhooks",
        "invalid_name",
        body={"name": "hook\n", "url": "https://93.184.216.34/h", "events": ["*"]},
    ),
    Case(
        "check-name-newline",
        "POST",
        f"{C}/versions/1/checks",
        "invalid_argument",
        body={"name": "ci\n", "status": "success"},
    ),
    Case("search-query-nul", "GET", "/api/v1/search", "invalid_text", params={"q": NUL}),
    Case("resolve-alias-nul", "GET", "/api/v1/resolve", "invalid_text", params={"path": "models/c:" + NUL}),
    Case("events-target-nul", "GET", "/api/v1/events", "invalid_text", params={"target": NUL}),
    Case("alias-in-path-nul", "GET", f"{C}/versions/a%00b", "invalid_text"),
    # NaN, Infinity and 1e400 (Infinity once parsed) in native metadata
    Case(
        "metric-nan",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        body={"files": files(), "metrics": {"loss": math.nan}},
    ),
    Case(
        "metric-infinity",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        body={"files": files(), "metrics": {"loss": math.inf}},
    ),
    Case(
        "metric-minus-infinity",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        body={"files": files(), "metrics": {"loss": -math.inf}},
    ),
    Case(
        "metric-1e400",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        raw='{"files": [{"path": "model.bin", "digest": "{digest}", "size": 7}], "metrics": {"loss": 1e400}}',
    ),
    Case(
        "metric-nan-as-string",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        body={"files": files(), "metrics": {"loss": "NaN"}},
    ),
    Case(
        "param-nan", "POST", f"{C}/versions", "non_finite_number", body={"files": files(), "params": {"lr": math.nan}}
    ),
    Case(
        "nested-param-infinity",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        body={"files": files(), "params": {"grid": [1.0, math.inf]}},
    ),
    Case(
        "dataset-1e400",
        "POST",
        f"{C}/versions",
        "non_finite_number",
        raw='{"files": [{"path": "model.bin", "digest": "{digest}", "size": 7}], "datasets": [{"rows": -1e400}]}',
    ),
    Case(
        "policy-requirement-nan",
        "PUT",
        "/api/v1/registries/models/promotion-policies",
        "non_finite_number",
        body={"target": "champion", "requirements": {"rules": [{"metric": "acc", "min": math.nan}]}},
    ),
    # JSON nested deeper than the limit, up to 100,000 deep
    Case(
        "version-params-100000-deep",
        "POST",
        f"{C}/versions",
        "json_too_deep",
        raw='{"files": [], "params": {"a": ' + deep(100_000) + "}}",
    ),
    Case(
        "version-params-65-deep",
        "POST",
        f"{C}/versions",
        "json_too_deep",
        raw='{"files": [], "params": {"a": ' + deep(63) + "}}",
    ),
    Case("collection-patch-900-deep", "PATCH", C, "json_too_deep", raw='{"description": ' + deep(900) + "}"),
    Case("registry-unterminated-100000-deep", "POST", "/api/v1/registries", "json_too_deep", raw="[" * 100_000),
]

# -- MLflow adapter --------------------------------------------------------------------------------------

MLFLOW: list[Case] = [
    # integers
    Case("get-version-2^63", "GET", f"{ML}/model-versions/get", "", params={"name": "c", "version": str(BIG)}),
    Case("get-version-2^31", "GET", f"{ML}/model-versions/get", "", params={"name": "c", "version": str(V32)}),
    Case(
        "alias-to-10^30",
        "POST",
        f"{ML}/registered-models/alias",
        "",
        body={"name": "c", "alias": "champion", "version": str(HUGE)},
    ),
    Case(
        "models-page-token-10^20",
        "GET",
        f"{ML}/registered-models/search",
        "",
        params={"page_token": offset_token(10**20)},
    ),
    Case(
        "versions-page-token-10^20",
        "GET",
        f"{ML}/model-versions/search",
        "",
        params={"page_token": offset_token(10**20)},
    ),
    Case(
        "runs-page-token-10^20",
        "POST",
        f"{ML}/runs/search",
        "",
        body={"experiment_ids": ["{exp}"], "page_token": offset_token(10**20)},
    ),
    Case("experiments-page-token-2^63", "POST", f"{ML}/experiments/search", "", body={"page_token": offset_token(BIG)}),
    Case(
        "max-results-10^20", "POST", f"{ML}/runs/search", "", body={"experiment_ids": ["{exp}"], "max_results": 10**20}
    ),
    Case(
        "metric-step-2^63",
        "POST",
        f"{ML}/runs/log-metric",
        "",
        body={"run_id": "{run}", "key": "loss", "value": 1.0, "timestamp": 1, "step": BIG},
    ),
    Case(
        "batch-metric-step-2^63",
        "POST",
        f"{ML}/runs/log-batch",
        "",
        body={"run_id": "{run}", "metrics": [{"key": "loss", "value": 1.0, "timestamp": 1, "step": BIG}]},
    ),
    Case(
        "metric-step-infinity",
        "POST",
        f"{ML}/runs/log-metric",
        "",
        body={"run_id": "{run}", "key": "loss", "value": 1.0, "timestamp": 1, "step": math.inf},
    ),
    Case("experiment-id-10^20", "GET", f"{ML}/experiments/get", "", params={"experiment_id": "9" * 20}),
    Case("run-end-time-10^30", "POST", f"{ML}/runs/update", "", body={"run_id": "{run}", "end_time": HUGE}),
    # text
    Case("model-description-nul", "POST", f"{ML}/registered-models/create", "", body={"name": "d", "description": NUL}),
    Case(
        "model-description-surrogate",
        "POST",
        f"{ML}/registered-models/create",
        "",
        body={"name": "d", "description": LONE},
    ),
    Case(
        "model-tag-value-nul",
        "POST",
        f"{ML}/registered-models/set-tag",
        "",
        body={"name": "c", "key": "k", "value": NUL},
    ),
    Case(
        "model-version-source-surrogate",
        "POST",
        f"{ML}/model-versions/create",
        "",
        body={"name": "c", "source": "mlflow-artifacts:/" + LONE},
    ),
    Case("experiment-name-nul", "POST", f"{ML}/experiments/create", "", body={"name": NUL}),
    Case(
        "experiment-tag-surrogate",
        "POST",
        f"{ML}/experiments/set-experiment-tag",
        "",
        body={"experiment_id": "{exp}", "key": "k", "value": LONE},
    ),
    Case("param-value-nul", "POST", f"{ML}/runs/log-parameter", "", body={"run_id": "{run}", "key": "p", "value": NUL}),
    Case(
        "param-value-surrogate",
        "POST",
        f"{ML}/runs/log-parameter",
        "",
        body={"run_id": "{run}", "key": "p", "value": LONE},
    ),
    Case("run-tag-key-nul", "POST", f"{ML}/runs/set-tag", "", body={"run_id": "{run}", "key": NUL, "value": "v"}),
    Case(
        "batch-param-surrogate",
        "POST",
        f"{ML}/runs/log-batch",
        "",
        body={"run_id": "{run}", "params": [{"key": "p", "value": LONE}]},
    ),
    Case(
        "dataset-input-nested-nul",
        "POST",
        f"{ML}/runs/log-inputs",
        "",
        body={"run_id": "{run}", "datasets": [{"dataset": {"name": "d", "digest": "x", "schema": NUL}}]},
    ),
    Case("query-name-nul", "GET", f"{ML}/registered-models/get", "", params={"name": NUL}),
    Case("filter-nul", "GET", f"{ML}/registered-models/search", "", params={"filter": f"name = '{NUL}'"}),
    Case("logged-model-id-in-path-nul", "GET", f"{ML}/logged-models/m-a%00b", ""),
    # NaN tokens where MLflow expects a string
    Case(
        "param-value-nan-token",
        "POST",
        f"{ML}/runs/log-parameter",
        "",
        raw='{{"run_id": "{run}", "key": "p", "value": NaN}}',
    ),
    Case(
        "batch-param-infinity-token",
        "POST",
        f"{ML}/runs/log-batch",
        "",
        raw='{{"run_id": "{run}", "params": [{{"key": "p", "value": Infinity}}]}}',
    ),
    # JSON depth
    Case(
        "create-model-100000-deep", "POST", f"{ML}/registered-models/create", "", raw='{"name": ' + deep(100_000) + "}"
    ),
    Case(  # 65 levels: the object, the params list, one param, 62 nested lists as its value
        "log-batch-65-deep",
        "POST",
        f"{ML}/runs/log-batch",
        "",
        raw='{{"run_id": "{run}", "params": [{{"key": "p", "value": ' + deep(62) + "}}]}}",
    ),
    Case(
        "log-inputs-900-deep",
        "POST",
        f"{ML}/runs/log-inputs",
        "",
        raw='{{"run_id": "{run}", "datasets": [{{"dataset": ' + deep(900, "{{}}") + "}}]}}",
    ),
    Case(
        "log-model-json-in-a-string-100000-deep",
        "POST",
        f"{ML}/runs/log-model",
        "",
        body={"run_id": "{run}", "model_json": deep(100_000)},
    ),
    Case("double-encoded-100000-deep", "POST", f"{ML}/registered-models/create", "", raw=json.dumps(deep(100_000))),
    Case(
        "webhook-name-newline",
        "POST",
        f"{ML}/webhooks",
        "",
        body={
            "name": "hook\n",
            "url": "https://93.184.216.34/h",
            "events": [{"entity": "model_version", "action": "created"}],
        },
    ),
]


@pytest.fixture
def ctx(api: Any) -> dict[str, str]:
    """A registry ``models`` with collection ``c`` (version 1, alias ``champion``), a blob
    ``{digest}`` ready for new versions, and an MLflow experiment ``{exp}`` with a run ``{run}``."""
    api.version("models", "c", aliases=["champion"])
    digest = api.upload(b"weights")
    http = api.http
    r = http.post(f"{ML}/experiments/create", json={"name": "hostile"})
    assert r.status_code == 200, r.text
    exp = r.json()["experiment_id"]
    r = http.post(f"{ML}/runs/create", json={"experiment_id": exp})
    assert r.status_code == 200, r.text
    return {"digest": digest, "exp": exp, "run": r.json()["run"]["info"]["run_id"]}


def _with_digest(case: Case, ctx: dict[str, str]) -> Case:
    if case.raw is not None and isinstance(case.raw, str) and "{digest}" in case.raw:
        return Case(case.id, case.method, case.url, case.reason, raw=case.raw.replace("{digest}", ctx["digest"]))
    if case.body is not None:
        text = json.dumps(case.body).replace("{digest}", ctx["digest"])
        return Case(case.id, case.method, case.url, case.reason, body=json.loads(text), params=case.params)
    return case


@pytest.mark.parametrize("case", NATIVE, ids=[c.id for c in NATIVE])
def test_native_api_refuses_with_400_and_stores_nothing(api: Any, ctx: dict[str, str], case: Case) -> None:
    before = api.snapshot()
    r = _with_digest(case, ctx).send(api.http, ctx)
    api.error(r, 400, "INVALID_ARGUMENT", case.reason)
    assert api.snapshot() == before


@pytest.mark.parametrize("case", MLFLOW, ids=[c.id for c in MLFLOW])
def test_mlflow_api_refuses_with_400_and_stores_nothing(api: Any, ctx: dict[str, str], case: Case) -> None:
    before = api.snapshot()
    r = case.send(api.http, ctx)
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    # MLflow's error body, with the sqlstate and error_class MLflow's server adds for this code
    assert body == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": body["message"],
        "sqlstate": "KAM00",
        "error_class": "INVALID_PARAMETER_VALUE",
    }, body
    assert body["message"] and "internal error" not in body["message"]
    assert api.snapshot() == before


def test_the_limits_themselves_are_accepted(api: Any, ctx: dict[str, str]) -> None:
    """The edges of every rule pass: 2**63-1, 64 levels of nesting, a valid surrogate pair."""
    r = api.http.get(f"{C}/versions/{V32 - 1}")
    api.error(r, 404, "NOT_FOUND", "version_not_found")
    r = api.http.get(f"{ML}/model-versions/get", params={"name": "c", "version": str(V32 - 1)})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    params = {"n": BIG - 1, "emoji": "\U0001f600", "nested": json.loads(deep(60))}
    v = api.version("models", "c", description="ok \U0001f600", params=params, metrics={"loss": 1e308})
    assert v["params"] == params and v["metrics"] == {"loss": 1e308}
    r = api.http.get(f"{ML}/registered-models/search", params={"page_token": offset_token(BIG - 1)})
    assert r.status_code == 200 and r.json().get("registered_models", []) == []


def test_mlflow_nan_and_infinite_metric_values_are_stored_as_mlflow_does(api: Any, ctx: dict[str, str]) -> None:
    """MLflow accepts NaN and +/-Infinity metric values: NaN comes back as NaN, +/-Infinity (and
    1e400, which parses as Infinity) as the largest double, identically on both backends."""
    http, run = api.http, ctx["run"]
    sent = [("NaN", 0), ("Infinity", 1), ("-Infinity", 2), ("1e400", 3), ('"NaN"', 4), ("0.5", 5)]
    for token, step in sent:
        raw = f'{{"run_id": "{run}", "key": "loss", "value": {token}, "timestamp": 1000, "step": {step}}}'
        r = http.post(f"{ML}/runs/log-metric", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
    r = http.get(f"{ML}/metrics/get-history", params={"run_id": run, "metric_key": "loss"})
    assert r.status_code == 200, r.text
    values = [m["value"] for m in sorted(r.json()["metrics"], key=lambda m: m["step"])]
    top = 1.7976931348623157e308
    assert values == ["NaN", top, -top, top, "NaN", 0.5]
    r = http.get(f"{ML}/runs/get", params={"run_id": run})
    assert r.status_code == 200 and r.json()["run"]["data"]["metrics"][0]["value"] == 0.5


def _api_routes(routes: list[Any]) -> list[Any]:
    """Every ``APIRoute`` under ``routes``, through included routers (FastAPI wraps them)."""
    from fastapi.routing import APIRoute

    out, todo = [], list(routes)
    while todo:
        r = todo.pop()
        if isinstance(r, APIRoute):
            out.append(r)
        elif getattr(r, "original_router", None) is not None:
            todo.extend(r.original_router.routes)
    return out


def test_every_route_checks_its_input_through_the_one_route_class(app: Any) -> None:
    """The URL and JSON-depth rules live in ``ApiRoute``/``MlflowRoute``: no route may bypass them."""
    from starlette.routing import Mount

    from modelyard.api.mlflow.errors import MlflowRoute
    from modelyard.api.routing import ApiRoute

    native = [r for r in _api_routes(app.routes) if r.path.startswith("/api/v1")]
    assert len(native) > 50 and all(type(r) is ApiRoute for r in native), [
        r.path for r in native if type(r) is not ApiRoute
    ]
    mounts = [m for m in app.routes if isinstance(m, Mount) and m.path.startswith(("/api/", "/ajax-api/"))]
    mounted = [r for m in mounts for r in _api_routes(m.routes) if r.path != "/server-info"]
    assert len(mounted) > 40 and all(type(r) is MlflowRoute for r in mounted), [
        r.path for r in mounted if type(r) is not MlflowRoute
    ]
