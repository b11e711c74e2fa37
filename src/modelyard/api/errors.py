"""THE mapping from error classes to HTTP statuses for ``/api/v1``, and the one JSON error shape.

``{"code": "...", "message": "...", "details": {"reason": "...", ...}}``. Unexpected
exceptions become a 500 carrying only the request id, never the exception text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    InsufficientStorageError,
    InvalidArgumentError,
    ModelyardError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RangeNotSatisfiableError,
    RequestTimeoutError,
    TooManyRequestsError,
    UnauthenticatedError,
    UnavailableError,
)
from modelyard.web import error_page, is_ui_request

log = logging.getLogger("modelyard.api")

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: tuple[tuple[type[ModelyardError], int], ...] = (
    (PreconditionFailedError, 412),
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (InvalidArgumentError, 400),
    (ConflictError, 409),
    (UnauthenticatedError, 401),
    (PermissionDeniedError, 403),
    (RangeNotSatisfiableError, 416),
    (InsufficientStorageError, 507),
    (RequestTimeoutError, 408),
    (PayloadTooLargeError, 413),
    (TooManyRequestsError, 429),
    (UnavailableError, 503),
)

# Request validation errors (FastAPI's RequestValidationError) are sent as 400, never 422.
VALIDATION_STATUS = 400

_HTTP_CODES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def status_for(exc: ModelyardError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def error_headers(exc: ModelyardError, status: int) -> dict[str, str]:
    """The headers an error carries, in both API shapes (native and MLflow)."""
    headers: dict[str, str] = {}
    if status == 416 and "size" in exc.details:
        headers["Content-Range"] = f"bytes */{exc.details['size']}"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="modelyard"'
    if "retry_after_seconds" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    return headers


def render_error(exc: ModelyardError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of ``exc`` for ``/api/v1`` (also used by the edge middleware)."""
    status = status_for(exc)
    body = exc.to_dict()
    body["details"]["request_id"] = request_id
    headers = error_headers(exc, status)
    if request_id:
        headers["X-Request-ID"] = request_id
    return status, body, headers


def error_response(status: int, body: dict[str, Any], request: Request) -> JSONResponse:
    rid = getattr(request.state, "request_id", "")
    body.setdefault("details", {})["request_id"] = rid
    headers = {"X-Request-ID": rid} if rid else None
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (a 405's ``Allow``).

    Starlette's own ``Allow`` names only the methods of the first route whose path matched,
    while several routes (GET and POST of a collection, say) often share a path.
    """
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelyardError)
    async def _modelyard_error(request: Request, exc: ModelyardError) -> Response:
        status, body, headers = render_error(exc, getattr(request.state, "request_id", ""))
        if is_ui_request(request):
            return await run_in_threadpool(error_page, request, status, exc.message)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        if is_ui_request(request):
            return await run_in_threadpool(error_page, request, VALIDATION_STATUS, _validation_message(errors))
        body = {
            "code": "INVALID_ARGUMENT",
            "message": _validation_message(errors),
            "details": {"reason": "invalid_request", "errors": errors[:20]},
        }
        return error_response(VALIDATION_STATUS, body, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_ui_request(request) and exc.status_code in (404, 405):
            return await run_in_threadpool(error_page, request, exc.status_code, "there is no such page")
        code = _HTTP_CODES.get(exc.status_code, "INVALID_ARGUMENT" if exc.status_code < 500 else "INTERNAL")
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        body = {"code": code, "message": message, "details": {"reason": code.lower()}}
        response = error_response(exc.status_code, body, request)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        rid = getattr(request.state, "request_id", "")
        log.exception("unexpected error handling request %s", rid, exc_info=exc)
        if is_ui_request(request):
            return await run_in_threadpool(
                error_page, request, 500, f"internal error; quote request id {rid} when reporting it"
            )
        body = {
            "code": "INTERNAL",
            "message": f"internal error; quote request id {rid} when reporting it",
            "details": {"reason": "internal"},
        }
        return error_response(500, body, request)
