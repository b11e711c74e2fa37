"""``GET /api/v1/watch``: Server-Sent Events of an alias's (or a collection's) changes."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.errors import InvalidArgumentError
from modelyard.events.watch import WatchHub, sse_stream

from ..deps import actor, credential, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["watch"])


def _hub(request: Request) -> WatchHub:
    hub = getattr(request.app.state, "watch_hub", None)
    if hub is None:
        hub = request.app.state.watch_hub = services(request).watch_hub()
    return hub  # type: ignore[no-any-return]


@router.get(
    "/watch",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless SSE stream."}},
)
async def watch(
    request: Request,
    target: str = Query(..., description="models/fraud@production, models/fraud:latest or models/fraud."),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", description="Resume after this event id."),
    max_seconds: float | None = Query(
        None,
        gt=0,
        le=86400,
        description="Close the stream after this long (long polling, or proxies with idle limits); "
        "reconnect with Last-Event-ID to continue without losing anything.",
    ),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
    token: str | None = Depends(credential),
) -> StreamingResponse:
    """Stream the current version at once (``event: current``), then every change, as Server-Sent Events.

    Reconnect with ``Last-Event-ID`` to receive every change after that event, replayed from the log.
    The token and read access are re-checked while the stream runs: once either is gone, the stream
    ends with an ``event: error`` message carrying the error body.
    """
    resume = None
    if last_event_id is not None and last_event_id.strip():
        if not last_event_id.strip().isdigit():
            raise InvalidArgumentError("Last-Event-ID must be an event id (a number)", field="Last-Event-ID")
        resume = int(last_event_id.strip())
    spec = await run_in_threadpool(svc.watch.resolve, who, target)
    stream = sse_stream(
        svc.db,
        _hub(request),
        spec,
        last_event_id=resume,
        is_disconnected=request.is_disconnected,
        max_seconds=max_seconds,
        authorize=partial(svc.watch.reauthorize, who, spec, token=token),
        reauth_seconds=svc.settings.watch_reauth_seconds,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "X-Modelyard-Watch-Target": spec.target},
    )
