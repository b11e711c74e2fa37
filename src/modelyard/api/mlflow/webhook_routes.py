"""MLflow 3's model-registry webhooks API (``WebhookService``) over modelyard's webhooks.

A webhook made here is a modelyard webhook of the addressed registry (``/mlflow/<registry>``,
default ``models``), and every modelyard webhook shows here: one row, two APIs. MLflow's ids
are modelyard's webhook ids as strings. MLflow events map onto modelyard event actions:

=====================================  ======================
MLflow ``entity.action``               modelyard event
=====================================  ======================
``registered_model.created``           ``collection.created``
``model_version.created``              ``version.created``
``model_version_tag.set`` / ``.deleted``  ``version.tag_set`` / ``version.tag_unset``
``model_version_alias.created`` / ``.deleted``  ``alias.set`` / ``alias.unset``
=====================================  ======================

A native webhook's patterns show as the MLflow events they cover (``alias.*`` as both alias
events); prompt and budget events have no modelyard counterpart and are refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from modelyard.api.deps import actor
from modelyard.domain.actor import Actor
from modelyard.domain.automations import Delivery, Webhook
from modelyard.errors import InvalidArgumentError
from modelyard.events.matching import action_matches

from .errors import MlflowRoute
from .routes import MlflowServices, mlflow_services, registry_of
from .translate import Params, ms, read_params

router = APIRouter(route_class=MlflowRoute)

EVENTS: dict[tuple[str, str], str] = {
    ("REGISTERED_MODEL", "CREATED"): "collection.created",
    ("MODEL_VERSION", "CREATED"): "version.created",
    ("MODEL_VERSION_TAG", "SET"): "version.tag_set",
    ("MODEL_VERSION_TAG", "DELETED"): "version.tag_unset",
    ("MODEL_VERSION_ALIAS", "CREATED"): "alias.set",
    ("MODEL_VERSION_ALIAS", "DELETED"): "alias.unset",
}


def _events(p: Params) -> list[str] | None:
    """MLflow ``events`` ([{entity, action}]) -> modelyard actions; None when not given."""
    raw = p.list("events")
    if not raw:
        return None
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidArgumentError("events must be a list of {entity, action}", field="events")
        key = (str(item.get("entity", "")).upper(), str(item.get("action", "")).upper())
        if key not in EVENTS:
            supported = ", ".join(f"{e.lower()}.{a.lower()}" for e, a in EVENTS)
            raise InvalidArgumentError(
                f"Invalid webhook event {key[0].lower()}.{key[1].lower()}: this server supports {supported}",
                field="events",
            )
        if EVENTS[key] not in out:
            out.append(EVENTS[key])
    return out


def _status(p: Params) -> bool | None:
    status = p.opt("status")
    if status is None or status == "":
        return None
    if status.upper() not in ("ACTIVE", "DISABLED"):
        raise InvalidArgumentError(f"Invalid webhook status '{status[:40]}': use ACTIVE or DISABLED", field="status")
    return status.upper() == "ACTIVE"


def _webhook_id(webhook_id: str) -> int:
    if not webhook_id.isdigit():
        return 0  # no webhook has it: RESOURCE_DOES_NOT_EXIST, as MLflow answers unknown ids
    return int(webhook_id) if int(webhook_id) < 2**62 else 0


def webhook_json(w: Webhook) -> dict[str, Any]:
    events = [{"entity": e, "action": a} for (e, a), action in EVENTS.items() if action_matches(w.events, action)]
    out: dict[str, Any] = {
        "webhook_id": str(w.id),
        "name": w.name,
        "url": w.url,
        "events": events,
        "status": "ACTIVE" if w.active else "DISABLED",
        "creation_timestamp": ms(w.created_at),
        "last_updated_timestamp": ms(w.updated_at),
    }
    if w.description:
        out["description"] = w.description
    return out


def webhook_test_json(d: Delivery) -> dict[str, Any]:
    out: dict[str, Any] = {"success": d.status == "succeeded"}
    if d.response_code is not None:
        out["response_status"] = d.response_code
    if d.status == "pending":
        out["error_message"] = f"test delivery {d.delivery_id} is still queued; see the webhook's delivery log"
    elif d.error:
        out["error_message"] = d.error
    return out


@router.post("/webhooks")
def create_webhook(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    events = _events(p)
    if not events:
        raise InvalidArgumentError("Missing value for required parameter 'events'.", field="events")
    active = _status(p)
    w = svc.core.automations.create_webhook(
        who,
        registry_of(request),
        p.str("name", required=True),
        url=p.str("url", required=True),
        events=events,
        secret=p.opt("secret") or None,
        active=True if active is None else active,
        description=p.str("description"),
    )
    return {"webhook": webhook_json(w)}


@router.get("/webhooks")
def list_webhooks(
    request: Request, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    return {"webhooks": [webhook_json(w) for w in svc.core.automations.list_webhooks(who, registry_of(request))]}


@router.get("/webhooks/{webhook_id}")
def get_webhook(
    webhook_id: str, request: Request, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    w = svc.core.automations.get_webhook_by_id(who, registry_of(request), _webhook_id(webhook_id))
    return {"webhook": webhook_json(w)}


@router.patch("/webhooks/{webhook_id}")
def update_webhook(
    webhook_id: str,
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry = registry_of(request)
    current = svc.core.automations.get_webhook_by_id(who, registry, _webhook_id(webhook_id))
    w = svc.core.automations.update_webhook(
        who,
        registry,
        current.name,
        new_name=p.opt("name") or None,
        url=p.opt("url") or None,
        events=_events(p),
        secret=p.opt("secret") or None,
        remove_secret=p.opt("secret") == "",
        active=_status(p),
        description=p.opt("description"),
    )
    return {"webhook": webhook_json(w)}


@router.delete("/webhooks/{webhook_id}")
def delete_webhook(
    webhook_id: str, request: Request, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    registry = registry_of(request)
    current = svc.core.automations.get_webhook_by_id(who, registry, _webhook_id(webhook_id))
    svc.core.automations.delete_webhook(who, registry, current.name)
    return {}


@router.post("/webhooks/{webhook_id}/test")
def run_webhook_test(
    webhook_id: str, request: Request, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    registry = registry_of(request)
    current = svc.core.automations.get_webhook_by_id(who, registry, _webhook_id(webhook_id))
    return {"result": webhook_test_json(svc.core.automations.ping_and_wait(who, registry, current.name))}
