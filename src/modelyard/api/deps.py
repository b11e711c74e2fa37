"""Request-scoped helpers for routes: the services and the acting principal.

Authentication: ``Authorization: Bearer <token>``, or HTTP Basic with the token as the
password (what the MLflow client sends with MLFLOW_TRACKING_USERNAME/PASSWORD). For reads
only (GET, HEAD), the web UI's session cookie stands for the header: the UI's download links
and live-update streams go through these routes (``session_token``). With auth off
(single-user mode) every request acts as the local admin.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request, Security
from fastapi.openapi.models import HTTPBase
from fastapi.security.base import SecurityBase

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor, local_actor
from modelyard.errors import UnauthenticatedError
from modelyard.web import session_token_for


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def token_from_header(header: str | None) -> str | None:
    """The token in a Bearer or Basic ``Authorization`` header, or None when there is none."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UnauthenticatedError("malformed Basic credentials") from exc
        _user, sep, password = decoded.partition(":")
        if sep and password:
            return password
    raise UnauthenticatedError("use 'Authorization: Bearer <token>' (or Basic with the token as password)")


class _StatedScheme(SecurityBase):
    """A security scheme stated in the OpenAPI document. It reads nothing: ``token_from_header`` parses."""

    def __init__(self, name: str, scheme: str, description: str) -> None:
        self.model = HTTPBase(scheme=scheme, description=description)
        self.scheme_name = name

    def __call__(self) -> None:
        return None


BEARER = _StatedScheme("bearerAuth", "bearer", "An API token: 'Authorization: Bearer <token>'.")
BASIC = _StatedScheme("basicAuth", "basic", "HTTP Basic with the API token as the password (what MLflow clients send).")


def session_token(state: Any, method: str, cookie_header: str | None) -> str | None:
    """The API token of the web UI's session cookie, for reads only (GET, HEAD); else None.
    A cookie the browser sends on its own never authorizes a change."""
    if method not in ("GET", "HEAD"):
        return None
    return session_token_for(state, cookie_header)


def authenticate(
    state: Any,
    authorization: str | None,
    *,
    request_id: str,
    client_address: str,
    session: str | None = None,
) -> Actor:
    """The principal behind a request's ``Authorization`` header (``state`` is the app's state),
    or, without one, behind ``session`` (from ``session_token``: reads only).

    ``UnauthenticatedError`` (401) when auth is on and no valid token is given. Called once per
    request, by the edge middleware, before any body is read (synchronous: run it in a thread).
    """
    if not state.auth_enabled():
        return local_actor(request_id=request_id, client_address=client_address)
    token = token_from_header(authorization) or session
    if token is None:
        raise UnauthenticatedError("this server requires an API token: send 'Authorization: Bearer <token>'")
    svc: Services = state.services
    return svc.identity.authenticate(token, request_id=request_id, client_address=client_address)


def actor(request: Request, _bearer: None = Security(BEARER), _basic: None = Security(BASIC)) -> Actor:
    """The principal behind this request, as the edge middleware authenticated it."""
    found = getattr(request.state, "actor", None)
    if isinstance(found, Actor):
        return found
    # Only for apps mounted without the edge middleware (create_app always installs it).
    client = request.client.host if request.client else ""
    rid = getattr(request.state, "request_id", "")
    return authenticate(
        request.app.state,
        request.headers.get("Authorization"),
        request_id=rid,
        client_address=client,
        session=session_token(request.app.state, request.method, request.headers.get("cookie")),
    )


def credential(request: Request) -> str | None:
    """The token this request authenticated with (None with auth off): for long-lived responses
    (watch streams) that must re-check it while they run."""
    if not request.app.state.auth_enabled():
        return None
    return token_from_header(request.headers.get("Authorization")) or session_token(
        request.app.state, request.method, request.headers.get("cookie")
    )
