"""``create_app(settings)``: wiring only. Builds the services once and mounts the routers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from modelyard import web
from modelyard._version import __version__
from modelyard.bootstrap import Services, build_registry
from modelyard.settings import Settings

from . import mlflow as mlflow_adapter
from . import openapi
from .errors import register_error_handlers
from .routes import audit, automations, files, governance, health, promotion, registries, versions, watch

log = logging.getLogger("modelyard")


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The ASGI app. Pass ``services`` to share them (tests), else they are built from settings."""
    svc = services or build_registry(settings or Settings())
    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="A self-hosted, governed registry for machine-learning models and other artifacts.",
        lifespan=_background_work,
    )
    app.state.services = svc
    app.state.auth_enabled = svc.auth_enabled

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    register_error_handlers(app)
    for r in (
        health.router,
        registries.router,
        versions.router,
        versions.resolve_router,
        files.router,
        governance.router,
        audit.router,
        promotion.router,
        automations.router,
        watch.router,
    ):
        app.include_router(r)
    mlflow_adapter.install(app)
    openapi.install(app)
    web.install(app)  # the UI at '/': last, so every API route matches first
    return app


@asynccontextmanager
async def _background_work(app: FastAPI) -> AsyncIterator[None]:
    """Start the webhook delivery worker (if enabled) with the app; stop it and the watch hub after."""
    svc: Services = app.state.services
    worker = svc.delivery_worker() if svc.settings.webhook_delivery else None
    if worker is not None:
        svc.automations.on_change = worker.wake
        worker.start()
    try:
        yield
    finally:
        hub = getattr(app.state, "watch_hub", None)
        if hub is not None:
            hub.close()
        if worker is not None:
            svc.automations.on_change = None
            worker.stop()


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory modelyard.api.app:app_from_env`` (settings from MODELYARD_*)."""
    return create_app(Settings())
