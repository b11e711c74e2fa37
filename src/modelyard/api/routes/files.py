"""Routes for bytes: negotiate missing blobs, upload sessions, file downloads with Range.

Upload and download bodies are streamed: memory stays bounded by the chunk size.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute
from ..streaming import receive_upload

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["files"])


@router.post("/registries/{registry}/blobs/missing", response_model=s.MissingResponse)
def missing_blobs(
    registry: str, body: s.MissingRequest, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.MissingResponse:
    """Which of these digests the server lacks; the client uploads only those."""
    return s.MissingResponse(missing=svc.artifacts.missing_blobs(registry, body.digests, actor=who))


@router.post("/registries/{registry}/uploads", status_code=201, response_model=s.UploadOut)
def begin_upload(
    registry: str, body: s.UploadCreate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.UploadOut:
    return render.upload(svc.artifacts.begin_upload(who, registry, digest=body.digest, size=body.size))


@router.get("/uploads", response_model=s.UploadList)
def list_uploads(
    registry: str | None = None, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.UploadList:
    """The caller's own open upload sessions (an interrupted push leaves one; pushing again resumes it)."""
    return s.UploadList(items=[render.upload(u) for u in svc.artifacts.list_uploads(who, registry=registry)])


@router.get("/uploads/{upload_id}", response_model=s.UploadOut)
def get_upload(upload_id: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.UploadOut:
    """The session, with the offset to resume from."""
    return render.upload(svc.artifacts.get_upload(upload_id, actor=who))


@router.patch("/uploads/{upload_id}", response_model=s.UploadOut)
async def write_upload(
    upload_id: str,
    request: Request,
    upload_offset: int = Header(0, alias="Upload-Offset", ge=0),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.UploadOut:
    """Append the request body at ``Upload-Offset`` (the session's current size)."""
    writer = await anyio.to_thread.run_sync(
        lambda: svc.artifacts.open_upload_writer(upload_id, offset=upload_offset, actor=who)
    )
    return render.upload(await receive_upload(request, who, writer))


@router.post("/uploads/{upload_id}/commit", response_model=s.BlobOut)
def commit_upload(upload_id: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.BlobOut:
    """Verify size and sha256 of what was received; the blob becomes available."""
    info = svc.artifacts.commit_upload(upload_id, actor=who)
    return s.BlobOut(digest=str(info.digest), size=info.size)


@router.delete("/uploads/{upload_id}", status_code=204)
def abort_upload(upload_id: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> Response:
    svc.artifacts.abort_upload(upload_id, actor=who)
    return Response(status_code=204)


def _download(
    svc: Services,
    who: Actor,
    registry: str,
    collection: str,
    ref: str,
    path: str,
    range_header: str | None,
    head: bool,
) -> Response:
    dl = svc.artifacts.open_file(registry, collection, ref, path, range_header=range_header, actor=who)
    headers = {
        "ETag": f'"{dl.file.digest}"',
        "Digest": f"sha-256={dl.file.digest.split(':', 1)[1]}",
        "X-Modelyard-Digest": dl.file.digest,
        "Accept-Ranges": "bytes",
        "Content-Length": str(dl.length),
    }
    status = 200
    if range_header is not None:
        status = 206
        headers["Content-Range"] = f"bytes {dl.start}-{dl.end}/{dl.file.size}"
    if head:
        return Response(status_code=status, headers=headers, media_type="application/octet-stream")
    return StreamingResponse(dl.chunks, status_code=status, headers=headers, media_type="application/octet-stream")


@router.get("/registries/{registry}/collections/{collection}/versions/{ref}/files/{path:path}")
def download_file(
    registry: str,
    collection: str,
    ref: str,
    path: str,
    range_header: str | None = Header(None, alias="Range"),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    """The bytes of one file. Supports a single HTTP Range; the ETag is the file's digest."""
    return _download(svc, who, registry, collection, ref, path, range_header, head=False)


@router.head("/registries/{registry}/collections/{collection}/versions/{ref}/files/{path:path}")
def head_file(
    registry: str,
    collection: str,
    ref: str,
    path: str,
    range_header: str | None = Header(None, alias="Range"),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    return _download(svc, who, registry, collection, ref, path, range_header, head=True)
