"""``create_app(settings)``: wiring only. Builds the services once and mounts the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from modelyard import web
from modelyard._version import __version__
from modelyard.bootstrap import Services, build_registry
from modelyard.settings import Settings

from . import mlflow as mlflow_adapter
from . import openapi
from .edge import EdgeMiddleware
from .errors import register_error_handlers
from .routes import audit, automations, files, governance, health, promotion, registries, versions, watch
from .streaming import UploadGate

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
    app.state.upload_gate = UploadGate(svc.settings.limits)
    public = {"/api/v1/health", app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(
        EdgeMiddleware,
        state=app.state,
        limits=svc.settings.limits,
        public_paths=frozenset(p for p in public if p),
    )
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
    # The API's threads (sync routes, services). Uploads write through their own limiter
    # (api/streaming.py) and wait for clients in the event loop, so these stay free for
    # the API and health checks however many uploads are in flight.
    anyio.to_thread.current_default_thread_limiter().total_tokens = svc.settings.limits.worker_threads
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
