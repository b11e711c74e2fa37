"""The MLflow-compatible adapter: MLflow's model-registry, tracking and artifact-proxy APIs.

``install(app)`` mounts one sub-application per API root, each with MLflow's own error shape
(``api/mlflow/errors.py``), at ``/api/2.0/mlflow``, ``/ajax-api/2.0/mlflow``,
``/api/3.0/mlflow``, ``/api/2.0/mlflow-artifacts`` and ``/ajax-api/2.0/mlflow-artifacts``, and
again under ``/mlflow/<registry>/`` so a tracking URI of ``http://host/mlflow/<registry>``
addresses another registry. The sub-applications share the parent's ``state`` (services,
auth), so actors come from the same ``api.deps.actor`` dependency as the native API.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from modelyard.bootstrap import Services
from modelyard.services.experiment_access import ExperimentAccess
from modelyard.services.mlflow_artifacts import MlflowArtifactService
from modelyard.services.mlflow_registry import MlflowRegistryService
from modelyard.services.tracking import TrackingService
from modelyard.storage.sql.tracking_store import SqlTrackingDatabase

from . import artifact_routes, routes, tracking_routes, webhook_routes
from .errors import register_mlflow_error_handlers
from .routes import MlflowServices

SERVICE_ROOTS = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow")
ARTIFACT_ROOTS = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
# What MLflow's server answers at its root (no API root): the liveness probe and the UI's download.
HEALTH_PATH = "/health"
ROOT_PATHS = (HEALTH_PATH, "/model-versions/get-artifact")
_REGISTRY_PREFIX = re.compile(r"^/mlflow/[^/]+(?=/)")


def split_path(path: str) -> tuple[str, str] | None:
    """``(api root, rest)`` of an MLflow path (any ``/mlflow/<registry>`` prefix dropped), else None.

    The root is ``""`` for the paths MLflow's server answers at its root (``ROOT_PATHS``).
    """
    path = _REGISTRY_PREFIX.sub("", path, count=1)
    for root in ARTIFACT_ROOTS + SERVICE_ROOTS:
        if path.startswith(root + "/"):
            return root, path[len(root) :]
    if path in ROOT_PATHS:
        return "", path
    return None


def is_upload(method: str, path: str) -> bool:
    """An artifact-proxy upload (``PUT artifacts/...`` or a multipart part): a body of any size."""
    split = split_path(path)
    if method != "PUT" or split is None or split[0] not in ARTIFACT_ROOTS:
        return False
    return split[1].startswith(("/artifacts/", "/mpu/parts/"))


SERVER_INFO = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": True,
    "multipart_downloads_enabled": False,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "features_enabled": {"gateway": False},
}


def _health(request: Request) -> PlainTextResponse:
    """MLflow's liveness probe: ``GET /health`` -> ``OK``. Readiness is ``/api/v1/health``."""
    return PlainTextResponse("OK")


def build_mlflow_services(core: Services) -> MlflowServices:
    """Wire the adapter's services over the core ones (same database, same blob store)."""
    tdb = SqlTrackingDatabase(core.db)
    access = ExperimentAccess(core.settings.mlflow.default_experiment_permission)
    tracking = TrackingService(tdb, access=access)
    artifacts = MlflowArtifactService(tdb, core.blobs, core.registry, access=access)
    registry = MlflowRegistryService(
        tdb,
        core.blobs,
        core.registry,
        tracking,
        artifacts,
        file_source_roots=core.settings.mlflow_file_source_roots,
    )
    return MlflowServices(core, tracking, artifacts, registry)


def _sub_app(parent: FastAPI, *routers: object) -> FastAPI:
    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    sub.state = parent.state
    register_mlflow_error_handlers(sub)
    for r in routers:
        sub.include_router(r)  # type: ignore[arg-type]
    return sub


def install(app: FastAPI) -> None:
    """Mount the MLflow APIs on ``app`` (whose ``state.services`` holds the core services)."""
    app.state.mlflow = build_mlflow_services(app.state.services)
    service_app = _sub_app(app, routes.router, tracking_routes.router, webhook_routes.router)

    @service_app.get("/server-info")
    def server_info() -> dict[str, object]:
        return dict(SERVER_INFO)

    artifacts_app = _sub_app(app, artifact_routes.router)
    # MLflow's server also answers at its root: /health (probes) and /model-versions/get-artifact (UI).
    root_app = _sub_app(app, artifact_routes.root_router)
    mounts = [Mount(root, app=service_app) for root in SERVICE_ROOTS]
    mounts += [Mount(root, app=artifacts_app) for root in ARTIFACT_ROOTS]
    app.router.routes.extend(mounts)
    app.router.routes.append(Route(HEALTH_PATH, _health, methods=["GET"]))
    app.router.routes.append(Mount("/model-versions", app=root_app))
    mounts.append(Mount("/model-versions", app=root_app))
    app.router.routes.append(Mount("/mlflow/{registry}", routes=list(mounts)))
