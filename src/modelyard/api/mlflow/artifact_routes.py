"""The MLflow artifact proxy (``MlflowArtifactsService``) under ``/api/2.0/mlflow-artifacts``:
upload, download, list and delete, plus multipart uploads whose part URLs point back here.

Bodies are streamed in both directions; memory stays bounded by the chunk size.
"""

from __future__ import annotations

import mimetypes
import posixpath
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from modelyard.api.deps import actor
from modelyard.domain.actor import Actor
from modelyard.errors import InvalidArgumentError

from ..streaming import receive_upload
from . import translate as tr
from .errors import MlflowRoute, error_response
from .routes import MlflowServices, mlflow_services, registry_of
from .translate import Params, read_params

router = APIRouter(route_class=MlflowRoute)
root_router = APIRouter(route_class=MlflowRoute)  # mounted at /model-versions, as MLflow's server
UNSUPPORTED_PRESIGNED = "Presigned downloads are not supported by this server; download through the proxy."


def _target(directory: str, p: Params) -> str:
    """Multipart URLs name the directory; the file name is the basename of the body's ``path``."""
    name = posixpath.basename(p.str("path", required=True).replace("\\", "/"))
    if not name:
        raise InvalidArgumentError("path must name a file", field="path")
    return f"{directory.strip('/')}/{name}" if directory.strip("/") else name


@router.put("/artifacts/{path:path}")
async def upload_artifact(
    path: str, request: Request, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    writer = await anyio.to_thread.run_sync(lambda: svc.artifacts.open_upload(who, path))
    await receive_upload(request, who, writer)
    return {}


@router.get("/artifacts")
def list_artifacts(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    entries = svc.artifacts.list(who, p.str("path"))
    return {"files": [tr.artifact_entry(e) for e in entries]}


@router.get("/artifacts/{path:path}")
def download_artifact(
    path: str, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> Response:
    dl = svc.artifacts.download(who, path)
    name = posixpath.basename(dl.path)
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {
        "Content-Length": str(dl.size),
        "Content-Disposition": f'attachment; filename="{name}"',
        "ETag": f'"{dl.digest}"',
        "X-Modelyard-Digest": dl.digest,
    }
    return StreamingResponse(dl.chunks, media_type=media, headers=headers)


@root_router.get("/get-artifact")
def get_model_version_artifact(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> Response:
    """One file of a registered version (``name``, ``version``, ``path``), as MLflow's UI fetches it."""
    path = svc.registry.version_artifact_path(
        who, registry_of(request), p.str("name", required=True), p.version(), p.str("path", required=True)
    )
    return download_artifact(path, svc, who)


@router.delete("/artifacts/{path:path}")
def delete_artifact(
    path: str, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.artifacts.delete(who, path)
    return {}


@router.post("/mpu/create/{path:path}")
def create_multipart_upload(
    path: str,
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    num_parts = p.int("num_parts", default=1)
    upload_id = svc.artifacts.create_multipart(who, _target(path, p), num_parts=num_parts)
    headers = {}
    if request.headers.get("authorization"):
        headers["Authorization"] = request.headers["authorization"]
    # The artifacts API root as the client reached it (any /mlflow/<registry> prefix included).
    root = request.url.path.split("/mpu/create/", 1)[0]
    base = f"{request.url.scheme}://{request.url.netloc}{root}"
    return {
        "upload_id": upload_id,
        "credentials": [
            {"url": f"{base}/mpu/parts/{upload_id}/{n}", "part_number": n, "headers": headers}
            for n in range(1, num_parts + 1)
        ],
    }


@router.put("/mpu/parts/{upload_id}/{part_number}")
async def upload_part(
    upload_id: str,
    part_number: int,
    request: Request,
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> Response:
    """A part upload (the URL handed out by ``mpu/create``, sent with the headers handed out with it);
    the ETag is the part's digest."""
    writer = await anyio.to_thread.run_sync(lambda: svc.artifacts.open_part(who, upload_id, part_number))
    etag = await receive_upload(request, who, writer)
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.post("/mpu/complete/{path:path}")
def complete_multipart_upload(
    path: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    parts = []
    for part in p.list("parts"):
        if not isinstance(part, dict) or "part_number" not in part:
            raise InvalidArgumentError("each part needs a part_number and an etag", field="parts")
        parts.append((tr.as_int(part["part_number"], field="part_number"), str(part.get("etag", ""))))
    svc.artifacts.complete_multipart(who, _target(path, p), p.str("upload_id", required=True), parts=parts)
    return {}


@router.post("/mpu/abort/{path:path}")
def abort_multipart_upload(
    path: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.artifacts.abort_multipart(who, p.str("upload_id", required=True))
    return {}


@router.get("/presigned/{path:path}")
def presigned_download(path: str, request: Request) -> Response:
    return error_response(request, "NOT_IMPLEMENTED", UNSUPPORTED_PRESIGNED, 501)
