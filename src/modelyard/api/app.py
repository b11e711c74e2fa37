"""``create_app(settings)``: wiring only. Builds the services once and mounts the routers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from modelyard._version import __version__
from modelyard.bootstrap import Services, build_registry
from modelyard.settings import Settings

from .errors import register_error_handlers
from .routes import files, health, registries, versions

log = logging.getLogger("modelyard")


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The ASGI app. Pass ``services`` to share them (tests), else they are built from settings."""
    svc = services or build_registry(settings or Settings())
    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="A self-hosted, governed registry for machine-learning models and other artifacts.",
    )
    app.state.services = svc

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    register_error_handlers(app)
    for r in (health.router, registries.router, versions.router, versions.resolve_router, files.router):
        app.include_router(r)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory modelyard.api.app:app_from_env`` (settings from MODELYARD_*)."""
    return create_app(Settings())
