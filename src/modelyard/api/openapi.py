"""The OpenAPI document of ``/api/v1``, made to tell the truth about errors and auth.

FastAPI generates the operations from the routes; this module completes them, in one place,
from the error table (``api/errors.py``) rather than by hand per route:

- every operation declares the error statuses it can send, each with the ``Error`` schema
  (the real body ``{"code", "message", "details"}``); FastAPI's ``422`` is dropped, since
  request validation errors are sent as ``400 INVALID_ARGUMENT``;
- which statuses an operation can send follows from its shape (``_WHEN``): every status in
  the error table is declared, on every operation, unless ``_WHEN`` narrows it (416 only
  where a ``Range`` header is read, 409 only on writes, ...). A status added to the error
  table later is therefore declared without touching this module;
- the name rules of ``domain/names.py`` (patterns, maximum lengths) on path and query
  parameters. The security schemes come from ``api/deps.py`` (``actor`` declares them), so
  every operation that acts as a principal says so, and ``/health`` says it needs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from modelyard.domain import names

from .errors import STATUS_BY_ERROR, VALIDATION_STATUS

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "The one error body of /api/v1. ``code`` is the coarse class (it decides the status); "
    "``details.reason`` the precise kind (the SDK maps it back to an error class).",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string", "examples": ["NOT_FOUND"]},
        "message": {"type": "string", "description": "What went wrong and what to fix."},
        "details": {
            "type": "object",
            "required": ["reason", "request_id"],
            "properties": {
                "reason": {"type": "string", "examples": ["collection_not_found"]},
                "request_id": {"type": "string"},
            },
            "additionalProperties": True,
        },
    },
    "additionalProperties": False,
}

_WRITES = frozenset({"post", "put", "patch", "delete"})
_CONDITIONAL_HEADERS = frozenset({"if-match", "if-none-match", "if-unmodified-since"})


@dataclass(frozen=True, slots=True)
class _Op:
    method: str
    authenticated: bool
    has_input: bool
    has_path_params: bool
    headers: frozenset[str]


# When an operation can send a status (a status not listed here can be sent by every operation).
_WHEN: dict[int, Callable[[_Op], bool]] = {
    400: lambda op: op.has_input,
    401: lambda op: op.authenticated,
    403: lambda op: op.authenticated,
    404: lambda op: op.authenticated or op.has_path_params,
    409: lambda op: op.method in _WRITES,
    412: lambda op: bool(op.headers & _CONDITIONAL_HEADERS),
    408: lambda op: "upload-offset" in op.headers,  # a stalled upload body (api/streaming.py)
    413: lambda op: op.method in _WRITES,
    416: lambda op: "range" in op.headers,
    429: lambda op: "upload-offset" in op.headers,  # too many concurrent uploads (api/streaming.py)
    507: lambda op: op.method in _WRITES,
}

# Response headers that go with a status.
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "The scheme to authenticate with."}},
    416: {"Content-Range": {"schema": {"type": "string"}, "description": "'bytes */<size>' of the file."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}},
}

# Name rules of the domain, stated in the document (the domain enforces them: ``domain/names.py``).
_NAME_RULES: dict[tuple[str, str], dict[str, Any]] = {
    ("path", "registry"): {"pattern": names.REGISTRY_NAME_PATTERN, "maxLength": names.MAX_REGISTRY_NAME},
    ("query", "registry"): {"pattern": names.REGISTRY_NAME_PATTERN, "maxLength": names.MAX_REGISTRY_NAME},
    ("path", "collection"): {"pattern": names.COLLECTION_NAME_PATTERN, "maxLength": names.MAX_COLLECTION_NAME},
    ("path", "alias"): {"pattern": names.ALIAS_NAME_PATTERN, "maxLength": names.MAX_ALIAS_NAME},
    ("path", "key"): {"pattern": names.TAG_KEY_PATTERN, "maxLength": names.MAX_TAG_KEY},
    ("path", "path"): {"maxLength": names.MAX_FILE_PATH},
    ("query", "type"): {"pattern": names.ARTIFACT_TYPE_PATTERN, "maxLength": names.MAX_ARTIFACT_TYPE},
}


def error_statuses() -> dict[int, list[str]]:
    """Every error status /api/v1 sends on purpose, with the codes its body can carry."""
    out: dict[int, list[str]] = {VALIDATION_STATUS: ["INVALID_ARGUMENT"]}
    for cls, status in STATUS_BY_ERROR:
        codes = out.setdefault(status, [])
        if cls.code not in codes:
            codes.append(cls.code)
    return dict(sorted(out.items()))


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the completed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = complete(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses and the name rules to a generated document."""
    statuses = error_statuses()
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.get("parameters", [])
            op = _Op(
                method=method,
                authenticated=bool(operation.get("security")),
                has_input=bool(params) or "requestBody" in operation,
                has_path_params=any(p.get("in") == "path" for p in params),
                headers=frozenset(p["name"].lower() for p in params if p.get("in") == "header"),
            )
            responses = operation["responses"]
            responses.pop("422", None)
            for status, codes in statuses.items():
                if _WHEN.get(status, _always)(op):
                    responses[str(status)] = _error_response(status, codes)
            operation["responses"] = dict(sorted(responses.items()))
            for param in params:
                rule = _NAME_RULES.get((param.get("in", ""), param.get("name", "")))
                if rule:
                    param.setdefault("schema", {}).update(rule)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def _always(_op: _Op) -> bool:
    return True


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": "Error: " + ", ".join(codes),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response
