"""Wire models for automations (webhooks, deliveries) and watch streams. Imports only pydantic (and ``_base``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ._base import _In, _Out


class WebhookFilter(_In):
    alias: str | None = Field(None, description="Alias name pattern, e.g. 'prod*' (case-insensitive).")
    tag: str | None = Field(None, description="'key' or 'key=value': only tag events for that tag.")


class WebhookCreate(_In):
    name: str
    url: str = Field(description="http(s) URL that receives a POST per event.")
    events: list[str] = Field(description="Event actions or patterns: 'version.created', 'alias.*', '*'.")
    collection: str | None = Field(None, description="Only events of this collection (default: the whole registry).")
    filter: WebhookFilter | None = None
    secret: str | None = Field(
        None, description="Signs every delivery (HMAC-SHA256). Stored encrypted; never returned."
    )
    active: bool = True


class WebhookUpdate(_In):
    url: str | None = None
    events: list[str] | None = None
    filter: WebhookFilter | None = None
    secret: str | None = None
    remove_secret: bool = False
    active: bool | None = Field(None, description="false pauses it; true re-enables it (it resumes where it stopped).")


class WebhookOut(_Out):
    registry: str
    name: str
    url: str
    events: list[str]
    collection: str | None = None
    filter: dict[str, str] = Field(default_factory=dict)
    has_secret: bool
    active: bool
    disabled_reason: str = ""
    consecutive_failures: int = 0
    created_by: str = ""
    created_at: datetime
    updated_at: datetime


class WebhookList(_Out):
    items: list[WebhookOut]


class DeliveryOut(_Out):
    delivery_id: str
    webhook: str
    event_id: int
    event: str
    target: str
    status: str = Field(description="pending, succeeded or failed.")
    attempts: int
    next_attempt_at: datetime | None = None
    response_code: int | None = None
    latency_ms: float | None = None
    error: str = ""
    created_at: datetime
    updated_at: datetime


class DeliveryPage(_Out):
    items: list[DeliveryOut]
    next_page_token: str | None = None


class WatchEvent(_Out):
    """One message of a watch stream: ``current`` first, then one per change."""

    event_id: int
    event: str
    target: str
    version: int | None = None
    previous_version: int | None = None
    actor: str | None = None
    time: datetime | None = None
