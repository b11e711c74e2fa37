"""HTTP plumbing of the SDK: base URL, auth header, and mapping error responses back to the
same error classes the server raises (``except CollectionNotFoundError`` works on both sides)."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import httpx

from modelyard.errors import ModelyardError, UnauthenticatedError, UnavailableError, error_class_for

TOKEN_ENV = "MODELYARD_TOKEN"
URL_ENV = "MODELYARD_URL"


def resolve_token(token: str | None) -> str | None:
    """The one lookup rule for the SDK and the CLI: an explicit token wins (``""`` means none),
    otherwise ``MODELYARD_TOKEN``."""
    if token is None:
        token = os.environ.get(TOKEN_ENV)
    return token or None


def _unauthenticated_message(response: httpx.Response, server_message: str) -> str:
    """The server's 401 text speaks HTTP; a person holding the SDK or CLI needs the SDK's advice."""
    if "Authorization" not in response.request.headers:
        return f"this server requires an API token: set {TOKEN_ENV}, or pass token= (CLI: --token)"
    return f"the server refused the token ({server_message}); check {TOKEN_ENV}, token= or --token"


def error_from_body(body: dict[str, Any]) -> ModelyardError:
    """The modelyard error an ``/api/v1`` error body (``{"code", "message", "details"}``) describes."""
    details: dict[str, Any] = dict(body.get("details") or {})
    cls = error_class_for(str(body["code"]), details.get("reason"))
    err = cls.__new__(cls)
    ModelyardError.__init__(err, str(body.get("message", "")), **details)
    return err


def raise_for_error(response: httpx.Response) -> None:
    """Raise the modelyard error a non-2xx response carries."""
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        err = error_from_body(body)
        if isinstance(err, UnauthenticatedError):
            err = error_from_body({**body, "message": _unauthenticated_message(response, err.message)})
        err.status_code = response.status_code  # type: ignore[attr-defined]
        raise err
    if response.status_code >= 500:
        raise UnavailableError(f"server error {response.status_code}", status=response.status_code)
    cls = error_class_for(
        {404: "NOT_FOUND", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}.get(
            response.status_code, "INVALID_ARGUMENT"
        ),
        None,
    )
    raise cls(f"HTTP {response.status_code}: {response.text[:200]}")


def make_http_client(
    base_url: str, *, token: str | None, timeout: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    headers = {"User-Agent": "modelyard-python"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)


class BorrowedTransport(httpx.BaseTransport):
    """The caller's transport, lent to a second client (``Client._clone``) so it keeps the caller's
    TLS, proxy or test settings. Closing the borrower closes only the responses it opened (which
    ends a blocking stream read), never the caller's transport or its other connections."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self._open: weakref.WeakSet[httpx.Response] = weakref.WeakSet()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        with self._lock:
            self._open.add(response)
        return response

    def close(self) -> None:
        with self._lock:
            responses = list(self._open)
        for response in responses:
            response.close()


def translate_transport_errors(exc: httpx.TransportError, base_url: str) -> UnavailableError:
    return UnavailableError(f"cannot reach the modelyard server at {base_url}: {exc}", url=base_url)
