"""Automations: webhooks and the log of their deliveries (frozen value types, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

DELIVERY_STATUSES = ("pending", "succeeded", "failed")


@dataclass(frozen=True, slots=True)
class Webhook:
    """An HTTP webhook of a registry (or of one collection in it). The secret is never exposed."""

    id: int
    registry: str
    name: str
    url: str
    events: tuple[str, ...]
    collection: str | None = None
    filter: dict[str, str] = field(default_factory=dict)
    has_secret: bool = False
    active: bool = True
    description: str = ""
    disabled_reason: str = ""
    consecutive_failures: int = 0
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event (or ping) sent, or to be sent, to one webhook; retries update the same row."""

    delivery_id: str
    webhook: str
    event_id: int
    event: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    response_code: int | None
    latency_ms: float | None
    error: str
    created_at: datetime
    updated_at: datetime
