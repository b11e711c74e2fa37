"""Liveness/readiness and the event log (read-only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from modelyard import schemas as s
from modelyard._version import __version__
from modelyard.bootstrap import Services
from modelyard.domain.search import check_page_size, decode_page_token, encode_page_token
from modelyard.errors import InvalidPageTokenError

from .. import render
from ..deps import services

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health", response_model=s.Health)
def health(svc: Services = Depends(services)) -> s.Health:
    with svc.db.unit_of_work(write=False) as store:
        store.list_registries()
    return s.Health(status="ok", version=__version__, database=svc.db.dialect)


@router.get("/events", response_model=s.Page[s.EventOut])
def list_events(
    actor: str | None = Query(None),
    action: str | None = Query(None, description="Exact action, or a pattern with '*' (alias.*)."),
    target: str | None = Query(None),
    registry: str | None = Query(None),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    page_size: int = Query(100),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
) -> s.Page[s.EventOut]:
    """The event log, oldest first."""
    check_page_size(page_size)
    after = None
    if page_token:
        payload = decode_page_token(page_token)
        if not isinstance(payload.get("e"), int):
            raise InvalidPageTokenError("page_token is not a token this server issued")
        after = payload["e"]
    with svc.db.unit_of_work(write=False) as store:
        items = store.list_events(
            actor=actor, action=action, target=target, registry=registry, since=since, until=until,
            after_id=after, limit=page_size,
        )
    token = None
    if len(items) > page_size:
        items = items[:page_size]
        token = encode_page_token({"e": items[-1].id})
    return s.Page[s.EventOut](items=[render.event(e) for e in items], next_page_token=token)
