"""Request-scoped helpers for routes: the services and the acting principal.

Authentication: ``Authorization: Bearer <token>``, or HTTP Basic with the token as the
password (what the MLflow client sends with MLFLOW_TRACKING_USERNAME/PASSWORD). With auth
off (single-user mode) every request acts as the local admin.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request, Security
from fastapi.openapi.models import HTTPBase
from fastapi.security.base import SecurityBase

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor, local_actor
from modelyard.errors import UnauthenticatedError
from modelyard.web import session_actor


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


# For a route that calls ``actor`` itself (after choosing when to read the body): its document
# then states the same schemes as the routes that depend on ``actor``.
STATED_AUTH = [Security(BEARER), Security(BASIC)]


def actor(request: Request, _bearer: None = Security(BEARER), _basic: None = Security(BASIC)) -> Actor:
    """The principal behind this request; ``UnauthenticatedError`` (401) when auth is on and none is given."""
    svc = services(request)
    client = request.client.host if request.client else ""
    rid = getattr(request.state, "request_id", "")
    if not request.app.state.auth_enabled():
        return local_actor(request_id=rid, client_address=client)
    token = _request_token(request)
    if token is None:
        raise UnauthenticatedError("this server requires an API token: send 'Authorization: Bearer <token>'")
    return svc.identity.authenticate(token, request_id=rid, client_address=client)


def credential(request: Request) -> str | None:
    """The token this request authenticated with (None with auth off): for long-lived responses
    (watch streams) that must re-check it while they run."""
    if not request.app.state.auth_enabled():
        return None
    return _request_token(request)


def _request_token(request: Request) -> str | None:
    """The ``Authorization`` header's token; for reads only (GET, HEAD), else the web UI session's
    (its download links and live-update streams). A write always needs the header: a session
    cookie, sent by the browser on its own, never authorizes a change."""
    token = token_from_header(request.headers.get("Authorization"))
    if token is None and request.method in ("GET", "HEAD"):
        token = session_actor(request)
    return token
