"""Request-scoped helpers for routes: the services, the acting principal, the request id."""

from __future__ import annotations

from fastapi import Request

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def actor(request: Request) -> Actor:
    """The principal behind this request. Single-user mode: ``local``."""
    client = request.client.host if request.client else ""
    return Actor(name="local", kind="user", request_id=request.state.request_id, client_address=client)
