"""Routes for the audit trail: query events, export JSON Lines, verify the chain, and the
alias-at-a-time question."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.domain.permissions import Action
from modelyard.errors import AliasNotFoundError
from modelyard.services.authz import require_org

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["audit"])


@router.get("/events", response_model=s.Page[s.EventOut])
def list_events(
    principal: str | None = Query(None, description="Only events by this user or service account."),
    action: str | None = Query(None, description="Exact action, or a pattern with '*' (alias.*)."),
    target: str | None = Query(None, description="Exact target, e.g. models/fraud@production."),
    target_prefix: str | None = Query(None, description="Targets starting with this, e.g. models/fraud."),
    registry: str | None = Query(None),
    since: datetime | None = Query(None, description="At or after this time (ISO 8601 with timezone)."),
    until: datetime | None = Query(None, description="Before this time."),
    order: str = Query("asc", pattern="^(asc|desc)$"),
    page_size: int = Query(100),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.Page[s.EventOut]:
    """The event log (audit trail), oldest first unless ``order=desc``."""
    page = svc.audit.list_events(
        who,
        principal=principal,
        action=action,
        target=target,
        target_prefix=target_prefix,
        registry=registry,
        since=since,
        until=until,
        descending=order == "desc",
        page_size=page_size,
        page_token=page_token,
    )
    return s.Page[s.EventOut](items=[render.event(e) for e in page.items], next_page_token=page.next_page_token)


@router.get("/events/export", response_class=StreamingResponse)
def export_events(
    principal: str | None = Query(None),
    action: str | None = Query(None),
    target_prefix: str | None = Query(None),
    registry: str | None = Query(None),
    since: datetime | None = Query(None),
    until: datetime | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> StreamingResponse:
    """Matching events as JSON Lines (``application/x-ndjson``), for SIEM ingestion."""
    svc.audit.list_events(
        who,
        principal=principal,
        action=action,
        target_prefix=target_prefix,
        registry=registry,
        since=since,
        until=until,
        page_size=1,
    )  # validate before streaming
    lines = svc.audit.export_jsonl(
        who,
        principal=principal,
        action=action,
        target_prefix=target_prefix,
        registry=registry,
        since=since,
        until=until,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")


@router.get("/audit/verify", response_model=s.ChainReportOut)
def verify(svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.ChainReportOut:
    """Recompute the hash chain over every event (org admins)."""
    require_org(who, Action.MANAGE_ORG)
    r = svc.audit.verify_chain()
    return s.ChainReportOut(
        ok=r.ok,
        checked=r.checked,
        head_id=r.head_id,
        head_hash=r.head_hash,
        first_broken_id=r.first_broken_id,
        reason=r.reason,
    )


@router.get("/registries/{registry}/collections/{collection}/aliases/{alias}/at", response_model=s.AliasChangeOut)
def alias_at(
    registry: str,
    collection: str,
    alias: str,
    time: datetime = Query(..., description="ISO 8601 with timezone, e.g. 2026-03-01T12:00Z."),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.AliasChangeOut:
    """What the alias pointed to at ``time``, and who moved it there."""
    change = svc.audit.alias_at(who, registry, collection, alias, time)
    if change is None or change.version is None:
        raise AliasNotFoundError(
            f"alias '{alias}' was not set on '{registry}/{collection}' at {time.isoformat()}",
            path=f"{registry}/{collection}",
            alias=alias,
        )
    return render.alias_change(change)
