"""Governance schema: principals (users, service accounts), teams, API tokens, registry
grants, alias policies (protection now; approvals and checks later), and the event-chain head."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from .tables import Id, UTCDateTime, _timestamps, metadata

principals = Table(
    "principals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # user | service_account
    Column("name", String(128), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False, default=""),
    Column("email", String(255), nullable=False, default=""),
    Column("org_admin", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    *_timestamps(),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    *_timestamps(),
)

team_members = Table(
    "team_members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("principal_id", Id, ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    *_timestamps(),
    UniqueConstraint("team_id", "principal_id"),
    Index(None, "principal_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("principal_id", Id, ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    UniqueConstraint("principal_id", "name"),
)

registry_grants = Table(
    "registry_grants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("registry_id", Id, ForeignKey("registries.id", ondelete="CASCADE"), nullable=False),
    Column("principal_id", Id, ForeignKey("principals.id", ondelete="CASCADE"), nullable=True),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    Column("role", String(32), nullable=False),
    *_timestamps(),
    UniqueConstraint("registry_id", "principal_id"),
    UniqueConstraint("registry_id", "team_id"),
    Index(None, "principal_id"),
    Index(None, "team_id"),
)

alias_policies = Table(
    "alias_policies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("registry_id", Id, ForeignKey("registries.id", ondelete="CASCADE"), nullable=False),
    # NULL: the registry-wide policy; set: an override for one collection
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=True),
    Column("alias_norm", String(64), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("protected", Boolean, nullable=False, default=True),
    # Promotion requirements (approvals, checks, metadata rules); empty until the lifecycle issue uses it.
    Column("requirements", JSON, nullable=False),
    Column("created_by", String(255), nullable=False, default=""),
    *_timestamps(),
    UniqueConstraint("registry_id", "collection_id", "alias_norm"),
)

event_chain_head = Table(
    "event_chain_head",
    metadata,
    Column("id", Id, primary_key=True),
    Column("last_id", Id, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

# Proof that a principal uploaded a digest's bytes itself (issue 8, item 2): the digest then
# counts as present for that principal even if no version it may download references it.
# A permission, not a reference: gc does not keep a blob alive for a receipt, and drops the
# receipts of the blobs it sweeps.
blob_receipts = Table(
    "blob_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("principal_id", Id, ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(71), nullable=False),
    *_timestamps(),
    UniqueConstraint("principal_id", "digest"),
    Index(None, "digest"),
)
