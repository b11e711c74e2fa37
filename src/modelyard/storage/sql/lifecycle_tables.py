"""Lifecycle schema: checks reported on versions, promotion requests and their reviews,
webhooks (automations) and their deliveries."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from .tables import Id, UTCDateTime, _timestamps, metadata

version_checks = Table(
    "version_checks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # pending | success | failure | error
    Column("summary", Text, nullable=False, default=""),
    Column("details_url", Text, nullable=False, default=""),
    Column("reported_by", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("version_id", "name"),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("target_kind", String(16), nullable=False),  # alias | stage
    Column("target", String(64), nullable=False),
    Column("archive_existing", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),  # open | rejected | cancelled | completed
    Column("requested_by", String(255), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("resolved_by", String(255), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    Index(None, "collection_id", "status"),
)

promotion_reviews = Table(
    "promotion_reviews",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", Id, ForeignKey("promotion_requests.id", ondelete="CASCADE"), nullable=False),
    Column("reviewer", String(255), nullable=False),
    Column("reviewer_role", String(32), nullable=False),
    Column("decision", String(16), nullable=False),  # approve | reject
    Column("comment", Text, nullable=False, default=""),
    *_timestamps(),
    UniqueConstraint("request_id", "reviewer"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("registry_id", Id, ForeignKey("registries.id", ondelete="CASCADE"), nullable=False),
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=True),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),  # list of event actions (or patterns like "alias.*")
    Column("filter", JSON, nullable=False),  # {"alias": "prod*", "tag": "key=value"}
    Column("secret_ciphertext", Text, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("description", Text, nullable=False, default="", server_default=""),
    Column("disabled_reason", Text, nullable=False, default=""),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("cursor", Id, nullable=False, default=0),  # last event id considered
    Column("created_by", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("registry_id", "name"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", Id, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", Id, nullable=False),
    Column("delivery_id", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # pending | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("error", Text, nullable=False, default=""),
    Column("order_key", String(255), nullable=False),  # per-collection ordering
    *_timestamps(),
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "id"),
    Index(None, "order_key", "id"),
)
