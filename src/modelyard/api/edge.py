"""The edge: one pure-ASGI middleware in front of every route (decision 0013).

For each HTTP request, before any route (and so before any body byte is read) it:

1. gives the request its id (``X-Request-ID``, echoed on the response);
2. authenticates it from its headers (``api.deps.authenticate``, the one home of the rule)
   and answers 401 at once when auth is on and the token is missing or bad, so an
   anonymous client can make the server read nothing (public paths: health, OpenAPI,
   MLflow ``server-info``; the web UI's pages, outside the API prefixes, which authenticate
   from their own session and send a browser to the sign-in form);
3. caps every body that is not an upload at ``limits.max_json_body_bytes``: a larger
   ``Content-Length`` is refused with 413 before reading, and a chunked body is counted
   and cut with 413 at the cap. Uploads (native ``PATCH /api/v1/uploads/{id}``, MLflow
   artifact and part ``PUT``) are bounded by their sessions and streamed by
   ``api.streaming``;
4. logs a client that disconnects in the middle of a request as one line, not a
   traceback: it is a normal event.

Pure ASGI on purpose: ``BaseHTTPMiddleware`` wraps every response in a stream and hides the
request's ``receive``. A response sent before the request body was read whole carries
``Connection: close``, so the unread rest is never parsed.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.errors import ModelyardError, PayloadTooLargeError
from modelyard.settings import LimitSettings
from modelyard.web import is_ui_path

from . import errors as native_errors
from .deps import authenticate, session_token
from .mlflow import HEALTH_PATH, split_path
from .mlflow import errors as mlflow_errors
from .mlflow import is_upload as is_mlflow_upload

log = logging.getLogger("modelyard.api.edge")

_NATIVE_UPLOAD = re.compile(r"^/api/v1/uploads/[^/]+$")
_DISCONNECTS = (ClientDisconnect, anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError)


def is_upload(method: str, path: str) -> bool:
    """Requests whose body is file bytes (streamed, bounded by their session), not a JSON document."""
    return (method == "PATCH" and _NATIVE_UPLOAD.match(path) is not None) or is_mlflow_upload(method, path)


class _Exchange:
    """What the middleware knows of one request/response exchange."""

    def __init__(self, body_expected: bool) -> None:
        self.body_pending = body_expected  # the client may still be sending body bytes
        self.body_bytes = 0
        self.response_started = False
        self.answered_by_edge = False  # the edge sent the response; the app's is dropped
        self.client_gone = False


class EdgeMiddleware:
    """Request id, authentication before the body, body caps, one-line disconnects (see module doc)."""

    def __init__(self, app: ASGIApp, *, state: Any, limits: LimitSettings, public_paths: frozenset[str]) -> None:
        self.app = app
        self.state = state
        self.limits = limits
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = headers.get("x-request-id", "")[:64] or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        method, path = scope["method"], scope["path"]
        declared = _content_length(headers)
        ex = _Exchange(body_expected=bool(declared) or "chunked" in headers.get("transfer-encoding", "").lower())

        async def send_out(message: Message) -> None:
            if ex.answered_by_edge or ex.client_gone:
                return
            if message["type"] == "http.response.start":
                ex.response_started = True
                sent = list(message.get("headers", []))
                names = {name.lower() for name, _ in sent}
                if b"x-request-id" not in names:
                    sent.append((b"x-request-id", rid.encode("latin-1")))
                if ex.body_pending and b"connection" not in names:
                    sent.append((b"connection", b"close"))
                message = {**message, "headers": sent}
            await send(message)

        async def answer(exc: ModelyardError) -> None:
            """Send the error response ourselves (before or instead of the app's)."""
            render = mlflow_errors.render_error if split_path(path) is not None else native_errors.render_error
            status, body, extra = render(exc, rid)
            if ex.body_pending:
                extra["Connection"] = "close"
            await JSONResponse(body, status_code=status, headers=extra)(scope, receive, send)
            ex.answered_by_edge = True

        cap = None if is_upload(method, path) else self.limits.max_json_body_bytes
        # MLflow's root paths (/model-versions/get-artifact) are API, though outside the API prefixes.
        ui = is_ui_path(path) and split_path(path) is None
        if path not in self.public_paths and not _is_public_mlflow(path) and not ui:
            client = scope.get("client")
            try:
                actor = await anyio.to_thread.run_sync(
                    lambda: authenticate(
                        self.state,
                        headers.get("authorization"),
                        request_id=rid,
                        client_address=client[0] if client else "",
                        session=session_token(self.state, method, headers.get("cookie")),
                    )
                )
            except ModelyardError as exc:
                await answer(exc)
                return
            scope["state"]["actor"] = actor
        if cap is not None and declared is not None and declared > cap:
            await answer(_too_large(cap))
            return

        async def receive_in() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                ex.client_gone = not ex.answered_by_edge
                return message
            if message["type"] == "http.request":
                ex.body_bytes += len(message.get("body", b""))
                ex.body_pending = bool(message.get("more_body", False))
                if cap is not None and ex.body_bytes > cap:
                    if not ex.response_started:
                        await answer(_too_large(cap))
                    ex.answered_by_edge = True
                    return {"type": "http.disconnect"}  # the route stops reading; its response is dropped
            return message

        try:
            await self.app(scope, receive_in, send_out)
        except _DISCONNECTS as exc:
            if ex.answered_by_edge:
                return
            if not ex.client_gone and not isinstance(exc, ClientDisconnect):
                raise
            log.info(
                "client %s disconnected during %s %s after %d body bytes (request %s); nothing more to do",
                _client(scope),
                method,
                path,
                ex.body_bytes,
                rid,
            )


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body is larger than {cap} bytes; send files through an upload session (or the MLflow "
        "artifact proxy), or raise MODELYARD_LIMITS__MAX_JSON_BODY_BYTES",
        limit_bytes=cap,
    )


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return None


def _is_public_mlflow(path: str) -> bool:
    split = split_path(path)
    return split is not None and (split[1] == "/server-info" or split == ("", HEALTH_PATH))


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "?"
