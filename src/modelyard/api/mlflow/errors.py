"""THE mapping from modelyard error classes to MLflow error codes and HTTP statuses, and the
exception handlers of the MLflow sub-application (``{"error_code": ..., "message": ...}``).

Registered only on the MLflow sub-application, so ``/api/v1`` keeps its own error shape.
MLflow's own oddities are kept on purpose: ``RESOURCE_ALREADY_EXISTS`` is HTTP 400, and an
unknown alias is ``INVALID_PARAMETER_VALUE`` (what MLflow's SQL store returns). A full disk is
``RESOURCE_EXHAUSTED`` with HTTP 507: MLflow's closest code, and a status its client does not
retry (retrying cannot help until space is freed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from modelyard.api.routing import check_url
from modelyard.errors import (
    AliasNotFoundError,
    AlreadyExistsError,
    ConflictError,
    InsufficientStorageError,
    InvalidArgumentError,
    ModelyardError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RangeNotSatisfiableError,
    RequestTimeoutError,
    TooManyRequestsError,
    UnauthenticatedError,
    UnavailableError,
)

from ..errors import error_headers

log = logging.getLogger("modelyard.api.mlflow")

# Most specific first: the first matching class decides (error_code, HTTP status).
MLFLOW_ERRORS: tuple[tuple[type[ModelyardError], str, int], ...] = (
    (AliasNotFoundError, "INVALID_PARAMETER_VALUE", 400),
    (NotFoundError, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExistsError, "RESOURCE_ALREADY_EXISTS", 400),
    (InvalidArgumentError, "INVALID_PARAMETER_VALUE", 400),
    (RangeNotSatisfiableError, "INVALID_PARAMETER_VALUE", 400),
    (ConflictError, "RESOURCE_CONFLICT", 409),
    (UnauthenticatedError, "UNAUTHENTICATED", 401),
    (PermissionDeniedError, "PERMISSION_DENIED", 403),
    (InsufficientStorageError, "RESOURCE_EXHAUSTED", 507),  # MLflow's code for exhausted resources
    (RequestTimeoutError, "DEADLINE_EXCEEDED", 408),
    (PayloadTooLargeError, "RESOURCE_LIMIT_EXCEEDED", 413),
    (TooManyRequestsError, "REQUEST_LIMIT_EXCEEDED", 429),
    (UnavailableError, "TEMPORARILY_UNAVAILABLE", 503),
)

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    413: "RESOURCE_LIMIT_EXCEEDED",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


# MLflow's server adds ``sqlstate`` and ``error_class`` to an error body, derived from its
# error_code (``mlflow/error_classification.py``, the client-side tables that MlflowException
# uses); codes missing here carry neither, as in MLflow.
_ERROR_CLASSES: dict[str, tuple[str, str]] = {
    "BAD_REQUEST": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "CUSTOMER_UNAUTHORIZED": ("KAM00", "PERMISSION_DENIED"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "FEATURE_DISABLED": ("KAM00", "FEATURE_DISABLED"),
    "INTERNAL_ERROR": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "INVALID_STATE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "PERMISSION_DENIED": ("KAM00", "PERMISSION_DENIED"),
    "RESOURCE_ALREADY_EXISTS": ("KAM00", "RESOURCE_ALREADY_EXISTS"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "TEMPORARILY_UNAVAILABLE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


def mlflow_error(exc: ModelyardError) -> tuple[str, int]:
    for cls, code, status in MLFLOW_ERRORS:
        if isinstance(exc, cls):
            return code, status
    return "INTERNAL_ERROR", 500


def render_error(exc: ModelyardError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, MLflow body and headers of ``exc`` (also used by the edge middleware)."""
    code, status = mlflow_error(exc)
    headers = error_headers(exc, status)
    if request_id:
        headers["X-Request-ID"] = request_id
    return status, error_body(code, exc.message), headers


def error_body(code: str, message: str) -> dict[str, Any]:
    """MLflow's error JSON: code and message, with MLflow's ``sqlstate``/``error_class`` for the code."""
    body: dict[str, Any] = {"error_code": code, "message": message}
    if code in _ERROR_CLASSES:
        body["sqlstate"], body["error_class"] = _ERROR_CLASSES[code]
    return body


def error_response(request: Request, code: str, message: str, status: int) -> JSONResponse:
    rid = getattr(request.state, "request_id", "")
    headers = {"X-Request-ID": rid} if rid else None
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _internal(request: Request, exc: BaseException) -> JSONResponse:
    rid = getattr(request.state, "request_id", "")
    log.error("unexpected error handling MLflow request %s", rid, exc_info=exc)
    return error_response(request, "INTERNAL_ERROR", f"internal error; quote request id {rid} when reporting it", 500)


class MlflowRoute(APIRoute):
    """Checks the URL's text (``check_url``, as the native API does), and turns any unexpected
    exception into MLflow's INTERNAL_ERROR body (never the exception text)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                check_url(request)
                return await original(request)
            except (ModelyardError, StarletteHTTPException, RequestValidationError, ClientDisconnect):
                raise  # a client that went away is logged (one line) by the edge middleware
            except Exception as exc:  # noqa: BLE001 - the 500 boundary of the MLflow adapter
                return _internal(request, exc)

        return handler


def register_mlflow_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelyardError)
    async def _modelyard_error(request: Request, exc: ModelyardError) -> JSONResponse:
        status, body, headers = render_error(exc, getattr(request.state, "request_id", ""))
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[Any] = list(exc.errors())[:5]
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors)
        return error_response(request, "INVALID_PARAMETER_VALUE", f"invalid request: {detail}", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR")
        message = (
            f"No MLflow endpoint {request.method} {request.url.path} on this server"
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return error_response(request, code, message, exc.status_code)
