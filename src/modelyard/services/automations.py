"""Use cases for automations: webhooks of a registry or collection, their delivery log,
manual redelivery and test pings. Registry admins only.

Sending happens in ``events.delivery.DeliveryWorker``, never here: these methods only write rows
(a redelivery or ping is a new ``pending`` delivery), so an API call never waits on a receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from modelyard.domain import events as ev
from modelyard.domain.actor import Actor
from modelyard.domain.automations import DELIVERY_STATUSES, Delivery, Webhook
from modelyard.domain.models import Page, Registry
from modelyard.domain.names import validate_webhook_name
from modelyard.domain.permissions import Action
from modelyard.domain.search import check_page_size, decode_page_token, encode_page_token
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidArgumentError,
    InvalidPageTokenError,
    NotFoundError,
    WebhookNotFoundError,
)
from modelyard.events import matching
from modelyard.events.crypto import SecretBox
from modelyard.events.delivery import new_delivery_id
from modelyard.events.ssrf import check_url
from modelyard.storage.interfaces import Database, MetadataStore

from .registry import RegistryService, utcnow

MAX_WEBHOOK_DESCRIPTION = 1000
MAX_SECRET = 256


def _secret(secret: str | None) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not 8 <= len(secret) <= MAX_SECRET:
        raise InvalidArgumentError(f"a webhook secret has 8 to {MAX_SECRET} characters", field="secret")
    return secret


class AutomationService:
    def __init__(
        self,
        db: Database,
        registry: RegistryService,
        box: SecretBox,
        *,
        allow_private_targets: bool = False,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._registry = registry
        self._box = box
        self._allow_private = allow_private_targets
        self._clock = clock
        self.on_change = on_change

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _admin_registry(self, store: MetadataStore, registry: str, actor: Actor | None) -> Registry:
        return self._registry._registry(store, registry, actor, Action.ADMINISTER)

    @staticmethod
    def _row(store: Any, reg: Registry, name: str) -> dict[str, Any]:
        row: dict[str, Any] | None = store.find_webhook(reg.id, name)
        if row is None:
            raise WebhookNotFoundError(
                f"registry '{reg.name}' has no webhook '{name[:80]}'", registry=reg.name, webhook=name[:80]
            )
        return row

    def _event(
        self,
        store: MetadataStore,
        actor: Actor,
        action: str,
        reg: Registry,
        name: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        now: datetime,
    ) -> None:
        self._registry._event(
            store, actor, action, f"webhook:{reg.name}/{name}", registry=reg.name, before=before, after=after, now=now
        )

    # -- webhooks -------------------------------------------------------------------------------------

    def create_webhook(
        self,
        actor: Actor,
        registry: str,
        name: str,
        *,
        url: str,
        events: Sequence[str],
        collection: str | None = None,
        filter: Mapping[str, Any] | None = None,
        secret: str | None = None,
        active: bool = True,
        description: str = "",
    ) -> Webhook:
        """Create a webhook. It fires on events after its creation (the event log's current end)."""
        validate_webhook_name(name)
        description = _description(description)
        patterns = matching.validate_patterns(events)
        flt = matching.validate_filter(filter)
        secret = _secret(secret)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._admin_registry(store, registry, actor)
            collection_id = None
            if collection:
                collection_id = self._registry._collection_row(store, reg, collection)["id"]
            check_url(url, allow_private=self._allow_private)
            ciphertext = self._box.encrypt(secret) if secret is not None else None
            s: Any = store
            wid = s.insert_webhook(
                now=now,
                name=name,
                registry_id=reg.id,
                collection_id=collection_id,
                url=url,
                events=patterns,
                filter=flt,
                secret_ciphertext=ciphertext,
                active=active,
                description=description,
                disabled_reason="",
                consecutive_failures=0,
                cursor=s.event_head_id(),
                created_by=actor.name,
            )
            row = s.find_webhook_by_id(wid)
            self._event(store, actor, ev.WEBHOOK_CREATED, reg, name, after=_public(row), now=now)
        self._notify()
        return _webhook(row)

    def list_webhooks(self, actor: Actor | None, registry: str) -> list[Webhook]:
        with self._db.unit_of_work(write=False) as store:
            reg = self._admin_registry(store, registry, actor)
            return [_webhook(r) for r in store.list_webhooks(reg.id)]  # type: ignore[attr-defined]

    def get_webhook_by_id(self, actor: Actor | None, registry: str, webhook_id: int) -> Webhook:
        """The webhook with this id in ``registry`` (the MLflow API addresses webhooks by id)."""
        with self._db.unit_of_work(write=False) as store:
            reg = self._admin_registry(store, registry, actor)
            row = store.find_webhook_by_id(webhook_id)  # type: ignore[attr-defined]
            if row is None or row["registry_id"] != reg.id:
                raise WebhookNotFoundError(
                    f"registry '{reg.name}' has no webhook with id {webhook_id}",
                    registry=reg.name,
                    webhook=str(webhook_id),
                )
            return _webhook(row)

    def get_webhook(self, actor: Actor | None, registry: str, name: str) -> Webhook:
        with self._db.unit_of_work(write=False) as store:
            reg = self._admin_registry(store, registry, actor)
            return _webhook(self._row(store, reg, name))

    def update_webhook(
        self,
        actor: Actor,
        registry: str,
        name: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        secret: str | None = None,
        remove_secret: bool = False,
        active: bool | None = None,
        description: str | None = None,
        new_name: str | None = None,
    ) -> Webhook:
        """Change a webhook. ``active=True`` re-enables a disabled one: it resumes where it stopped."""
        fields: dict[str, Any] = {}
        if description is not None:
            fields["description"] = _description(description)
        if new_name is not None and new_name != name:
            fields["name"] = validate_webhook_name(new_name)
        if events is not None:
            fields["events"] = matching.validate_patterns(events)
        if filter is not None:
            fields["filter"] = matching.validate_filter(filter)
        secret = _secret(secret)
        if secret is not None and remove_secret:
            raise InvalidArgumentError("give a new secret or remove it, not both", field="secret")
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            if url is not None:
                fields["url"] = check_url(url, allow_private=self._allow_private)
            if secret is not None:
                fields["secret_ciphertext"] = self._box.encrypt(secret)
            if remove_secret:
                fields["secret_ciphertext"] = None
            if active is not None:
                fields["active"] = active
                if active:
                    fields.update(disabled_reason="", consecutive_failures=0)
                elif row["active"]:
                    fields["disabled_reason"] = f"disabled by {actor.name}"
            if fields:
                s: Any = store
                if "name" in fields and store.find_webhook(reg.id, fields["name"]) is not None:  # type: ignore[attr-defined]
                    raise AlreadyExistsError(
                        f"a webhook named '{fields['name']}' already exists", webhook=fields["name"]
                    )
                s.update_webhook(row["id"], now=now, **fields)
                new = s.find_webhook_by_id(row["id"])
                before, after = _public(row), _public(new)
                changed = [k for k in after if before.get(k) != after.get(k)]
                if secret is not None:
                    changed.append("secret")
                self._event(
                    store,
                    actor,
                    ev.WEBHOOK_UPDATED,
                    reg,
                    name,
                    now=now,
                    before={k: before.get(k) for k in changed if k != "secret"},
                    after={k: after.get(k) if k != "secret" else "(changed)" for k in changed},
                )
                row = new
        self._notify()
        return _webhook(row)

    def delete_webhook(self, actor: Actor, registry: str, name: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            store.delete_webhook(row["id"])  # type: ignore[attr-defined]
            self._event(store, actor, ev.WEBHOOK_DELETED, reg, name, before=_public(row), now=now)

    # -- deliveries -----------------------------------------------------------------------------------

    def list_deliveries(
        self,
        actor: Actor | None,
        registry: str,
        name: str,
        *,
        status: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[Delivery]:
        """The delivery log of a webhook, newest first."""
        check_page_size(page_size)
        if status is not None and status not in DELIVERY_STATUSES:
            raise InvalidArgumentError(f"status must be one of {', '.join(DELIVERY_STATUSES)}", field="status")
        before = None
        if page_token:
            payload = decode_page_token(page_token)
            if not isinstance(payload.get("d"), int):
                raise InvalidPageTokenError("page_token is not a token this server issued", page_token=page_token[:80])
            before = payload["d"]
        with self._db.unit_of_work(write=False) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            rows = store.list_deliveries(row["id"], before_id=before, limit=page_size, status=status)  # type: ignore[attr-defined]
        token = None
        if len(rows) > page_size:
            rows = rows[:page_size]
            token = encode_page_token({"d": rows[-1]["id"]})
        return Page([_delivery(r, row) for r in rows], token)

    def get_delivery(self, actor: Actor | None, registry: str, name: str, delivery_id: str) -> Delivery:
        with self._db.unit_of_work(write=False) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            d = self._delivery_row(store, row, delivery_id)
            return _delivery(d, row)

    @staticmethod
    def _delivery_row(store: Any, webhook: dict[str, Any], delivery_id: str) -> dict[str, Any]:
        d: dict[str, Any] | None = store.find_delivery(webhook["id"], delivery_id)
        if d is None:
            raise NotFoundError(
                f"webhook '{webhook['name']}' has no delivery '{delivery_id[:80]}'", delivery=delivery_id[:80]
            )
        ev_row = store.find_event_row(d["event_id"]) if d["event_id"] else None
        d["event"] = ev_row["action"] if ev_row else None
        d["target"] = ev_row["target"] if ev_row else None
        return d

    def redeliver(self, actor: Actor, registry: str, name: str, delivery_id: str) -> Delivery:
        """Send a delivery's event again, as a new delivery (new id, fresh attempts)."""
        with self._db.unit_of_work(write=True) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            old = self._delivery_row(store, row, delivery_id)
            new = self._enqueue(store, row, old["event_id"], f"{row['id']}:manual")
        self._notify()
        return new

    def ping(self, actor: Actor, registry: str, name: str) -> Delivery:
        """Queue a test delivery (event ``ping``); poll it with ``get_delivery``."""
        with self._db.unit_of_work(write=True) as store:
            reg = self._admin_registry(store, registry, actor)
            row = self._row(store, reg, name)
            new = self._enqueue(store, row, 0, f"{row['id']}:ping")
        self._notify()
        return new

    def ping_and_wait(
        self, actor: Actor, registry: str, name: str, *, timeout: float = 10.0, poll: float = 0.1
    ) -> Delivery:
        """Queue a ping and wait (at most ``timeout`` seconds) for the delivery worker to send it.

        MLflow's ``test_webhook`` answers with the receiver's response, so this one call waits on a
        receiver; the delivery itself still goes through the worker (SSRF guard, signing, log).
        """
        delivery = self.ping(actor, registry, name)
        deadline = time.monotonic() + timeout
        while delivery.status == "pending" and time.monotonic() < deadline:
            time.sleep(poll)
            delivery = self.get_delivery(actor, registry, name, delivery.delivery_id)
        return delivery

    def _enqueue(self, store: Any, webhook: dict[str, Any], event_id: int, key: str) -> Delivery:
        if not webhook["active"]:
            raise ConflictError(
                f"webhook '{webhook['name']}' is disabled ({webhook['disabled_reason'] or 'inactive'}); "
                "enable it first",
                webhook=webhook["name"],
            )
        now = self._clock()
        did = new_delivery_id()
        store.insert_deliveries(
            [
                {
                    "webhook_id": webhook["id"],
                    "event_id": event_id,
                    "delivery_id": did,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "error": "",
                    "order_key": key,
                    "created_at": now,
                    "updated_at": now,
                }
            ]
        )
        return _delivery(self._delivery_row(store, webhook, did), webhook)


def _description(text: str | None) -> str:
    if text is None:
        return ""
    if not isinstance(text, str) or len(text) > MAX_WEBHOOK_DESCRIPTION:
        raise InvalidArgumentError(
            f"a webhook description has at most {MAX_WEBHOOK_DESCRIPTION} characters", field="description"
        )
    return text


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A webhook row as recorded in events: never the secret."""
    return {
        "name": row["name"],
        "url": row["url"],
        "events": list(row["events"]),
        "collection": row.get("collection"),
        "filter": dict(row["filter"] or {}),
        "has_secret": bool(row["secret_ciphertext"]),
        "active": bool(row["active"]),
        **({"description": row["description"]} if row.get("description") else {}),
    }


def _webhook(row: dict[str, Any]) -> Webhook:
    return Webhook(
        id=row["id"],
        registry=row["registry"],
        name=row["name"],
        url=row["url"],
        events=tuple(row["events"]),
        collection=row.get("collection"),
        filter=dict(row["filter"] or {}),
        has_secret=bool(row["secret_ciphertext"]),
        active=bool(row["active"]),
        description=row.get("description") or "",
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _delivery(d: dict[str, Any], webhook: dict[str, Any]) -> Delivery:
    return Delivery(
        delivery_id=d["delivery_id"],
        webhook=webhook["name"],
        event_id=d["event_id"],
        event=d.get("event") or matching.PING,
        target=d.get("target") or f"webhook:{webhook['registry']}/{webhook['name']}",
        status=d["status"],
        attempts=d["attempts"],
        next_attempt_at=d["next_attempt_at"],
        response_code=d["response_code"],
        latency_ms=d["latency_ms"],
        error=d["error"],
        created_at=d["created_at"],
        updated_at=d["updated_at"],
    )
