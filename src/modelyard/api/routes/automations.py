"""Routes for automations: webhooks of a registry, their delivery log, redelivery and pings."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.domain.automations import Delivery, Webhook
from modelyard.schemas import automations as sa

from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1/registries/{registry}/webhooks", tags=["automations"])


def webhook_out(w: Webhook) -> sa.WebhookOut:
    return sa.WebhookOut(
        registry=w.registry,
        name=w.name,
        url=w.url,
        events=list(w.events),
        collection=w.collection,
        filter=dict(w.filter),
        has_secret=w.has_secret,
        active=w.active,
        disabled_reason=w.disabled_reason,
        consecutive_failures=w.consecutive_failures,
        created_by=w.created_by,
        created_at=w.created_at,
        updated_at=w.updated_at,
    )


def delivery_out(d: Delivery) -> sa.DeliveryOut:
    return sa.DeliveryOut(
        delivery_id=d.delivery_id,
        webhook=d.webhook,
        event_id=d.event_id,
        event=d.event,
        target=d.target,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        response_code=d.response_code,
        latency_ms=d.latency_ms,
        error=d.error,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


@router.post("", status_code=201, response_model=sa.WebhookOut)
def create_webhook(
    registry: str, body: sa.WebhookCreate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> sa.WebhookOut:
    """Create a webhook (registry admins). Fires on events after its creation."""
    w = svc.automations.create_webhook(
        who,
        registry,
        body.name,
        url=body.url,
        events=body.events,
        collection=body.collection,
        filter=body.filter.model_dump(exclude_none=True) if body.filter else None,
        secret=body.secret,
        active=body.active,
    )
    return webhook_out(w)


@router.get("", response_model=sa.WebhookList)
def list_webhooks(registry: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> sa.WebhookList:
    return sa.WebhookList(items=[webhook_out(w) for w in svc.automations.list_webhooks(who, registry)])


@router.get("/{name}", response_model=sa.WebhookOut)
def get_webhook(
    registry: str, name: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> sa.WebhookOut:
    return webhook_out(svc.automations.get_webhook(who, registry, name))


@router.patch("/{name}", response_model=sa.WebhookOut)
def update_webhook(
    registry: str, name: str, body: sa.WebhookUpdate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> sa.WebhookOut:
    """Change a webhook; ``active: true`` re-enables one that was disabled after failures."""
    w = svc.automations.update_webhook(
        who,
        registry,
        name,
        url=body.url,
        events=body.events,
        filter=body.filter.model_dump(exclude_none=True) if body.filter else None,
        secret=body.secret,
        remove_secret=body.remove_secret,
        active=body.active,
    )
    return webhook_out(w)


@router.delete("/{name}", status_code=204)
def delete_webhook(
    registry: str, name: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> Response:
    svc.automations.delete_webhook(who, registry, name)
    return Response(status_code=204)


@router.get("/{name}/deliveries", response_model=sa.DeliveryPage)
def list_deliveries(
    registry: str,
    name: str,
    status: str | None = Query(None, description="pending, succeeded or failed."),
    page_size: int = Query(50),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> sa.DeliveryPage:
    """The delivery log, newest first: status, response code, latency, attempts, last error."""
    page = svc.automations.list_deliveries(
        who, registry, name, status=status, page_size=page_size, page_token=page_token
    )
    return sa.DeliveryPage(items=[delivery_out(d) for d in page.items], next_page_token=page.next_page_token)


@router.get("/{name}/deliveries/{delivery_id}", response_model=sa.DeliveryOut)
def get_delivery(
    registry: str, name: str, delivery_id: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> sa.DeliveryOut:
    return delivery_out(svc.automations.get_delivery(who, registry, name, delivery_id))


@router.post("/{name}/deliveries/{delivery_id}/redeliver", status_code=202, response_model=sa.DeliveryOut)
def redeliver(
    registry: str, name: str, delivery_id: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> sa.DeliveryOut:
    """Queue the delivery's event again as a new delivery (new delivery id)."""
    return delivery_out(svc.automations.redeliver(who, registry, name, delivery_id))


@router.post("/{name}/ping", status_code=202, response_model=sa.DeliveryOut)
def ping(registry: str, name: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> sa.DeliveryOut:
    """Queue a test delivery (event ``ping``); poll it under deliveries."""
    return delivery_out(svc.automations.ping(who, registry, name))
