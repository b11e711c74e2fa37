"""The OpenAPI document says what the server really does: errors, auth, name rules, ``Allow``.

The schemathesis run (tests/integration/test_openapi_fuzz.py) checks the same promise by
fuzzing a real server; these tests pin each part of it in-process, in a second.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelyard.api.errors import STATUS_BY_ERROR
from modelyard.domain import names
from modelyard.errors import InvalidNameError

METHODS = ("get", "head", "post", "put", "patch", "delete")
SAMPLE = {"registry": "models", "collection": "c", "alias": "champion", "key": "k", "number": "1", "ref": "1"}


@pytest.fixture
def doc(http) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = http.get("/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def _conforms(body: dict[str, Any], schema: dict[str, Any]) -> bool:
    """The checks of the ``Error`` schema: required keys present, no others (it sets additionalProperties false)."""
    required, allowed = set(schema["required"]), set(schema["properties"])
    details = schema["properties"]["details"]
    return (
        required <= set(body) <= allowed
        and all(isinstance(body[k], str) for k in ("code", "message"))
        and set(details["required"]) <= set(body["details"])
    )


def test_every_operation_declares_its_error_statuses_with_the_error_schema_and_no_422(doc) -> None:
    assert "Error" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    declared: set[int] = set()
    for path, method, op in _operations(doc):
        responses = op["responses"]
        assert "422" not in responses, f"{method} {path} declares the 422 the server never sends"
        errors = {int(s) for s in responses if int(s) >= 400}
        declared |= errors
        for status in errors:
            schema = responses[str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
        assert 503 in errors, (method, path)
        if op.get("parameters") or "requestBody" in op:
            assert 400 in errors, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert 404 in errors, (method, path)
        if op.get("security"):
            assert {401, 403, 404} <= errors, (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"]
        if any(p["in"] == "header" and p["name"].lower() == "range" for p in op.get("parameters", [])):
            assert "Content-Range" in responses["416"]["headers"], (method, path)
        else:
            assert 416 not in errors, (method, path)
        if method in ("get", "head"):
            assert 409 not in errors, (method, path)
    # every status of the error table is declared somewhere
    assert {status for _cls, status in STATUS_BY_ERROR} - {412} <= declared


def test_security_schemes_are_the_ones_the_server_accepts(doc, http) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert {k: (v["type"], v["scheme"]) for k, v in schemes.items()} == {
        "bearerAuth": ("http", "bearer"),
        "basicAuth": ("http", "basic"),
    }
    ops = {(path, method): op for path, method, op in _operations(doc)}
    assert "security" not in ops[("/api/v1/health", "get")]
    assert ops[("/api/v1/registries", "get")]["security"] == [{"bearerAuth": []}, {"basicAuth": []}]
    unsecured = [key for key, op in ops.items() if not op.get("security")]
    assert unsecured == [("/api/v1/health", "get")]  # every other route acts as a principal (api/deps.actor)


@pytest.mark.parametrize(
    ("where", "name", "pattern", "max_length", "validator", "samples"),
    [
        (
            "path",
            "registry",
            names.REGISTRY_NAME_PATTERN,
            names.MAX_REGISTRY_NAME,
            names.validate_registry_name,
            ["models", "Models", "a-b_c", "-x", "x\n"],
        ),
        (
            "path",
            "collection",
            names.COLLECTION_NAME_PATTERN,
            names.MAX_COLLECTION_NAME,
            names.validate_collection_name,
            ["Fraud.v2", ".x", "a b", "x\n", "..x", ".", " ", "a/b", "a:b", "modèle-模型", "a@b%25", "_x", "x "],
        ),
        (
            "path",
            "alias",
            names.ALIAS_NAME_PATTERN,
            names.MAX_ALIAS_NAME,
            names.validate_alias_name,
            ["champion", "1a", "_x", "grün", "a.b", "a b", "-"],
        ),
    ],
)
def test_name_rules_in_the_document_are_the_domain_rules(
    doc, where, name, pattern, max_length, validator, samples
) -> None:
    found = [
        p["schema"]
        for _path, _method, op in _operations(doc)
        for p in op.get("parameters", [])
        if p["in"] == where and p["name"] == name
    ]
    assert found and all(s["pattern"] == pattern and s["maxLength"] == max_length for s in found)
    for sample in samples:
        try:
            validator(sample)
            valid = True
        except InvalidNameError:
            valid = False
        # JSON Schema's "$" has no trailing-newline exception, as the domain's "\Z"
        assert valid == bool(re.fullmatch(pattern.removesuffix("$").removeprefix("^"), sample)), sample
    body = doc["components"]["schemas"]["RegistryCreate"]["properties"]["name"]
    assert body["pattern"] == names.REGISTRY_NAME_PATTERN and body["maxLength"] == names.MAX_REGISTRY_NAME


def test_real_error_bodies_match_the_declared_error_schema(doc, http) -> None:
    schema = doc["components"]["schemas"]["Error"]
    responses = [
        http.get("/api/v1/registries/nothing-here"),  # 404 from a service
        http.post("/api/v1/registries", json={"name": 3}),  # 400 from request validation
        http.post("/api/v1/registries", json={"name": "models"}),  # 409
        http.get("/api/v1/no-such-endpoint"),  # 404 from the router
        http.put("/api/v1/health"),  # 405
    ]
    assert [r.status_code for r in responses] == [404, 400, 409, 404, 405]
    for r in responses:
        assert r.headers["content-type"] == "application/json"
        assert _conforms(r.json(), schema), r.json()


def test_a_405_names_every_method_the_path_serves_in_allow(doc, http) -> None:
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), path)
        r = http.request("OPTIONS", url)
        assert r.status_code == 405, (path, r.status_code)
        assert set(r.headers["Allow"].split(", ")) == documented, path
