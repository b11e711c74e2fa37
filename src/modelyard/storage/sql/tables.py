"""The metadata schema (SQLAlchemy Core tables). Changed only together with an Alembic migration.

Table names are plural snake_case; every constraint is named through the naming convention.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns timezone-aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the metadata store; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    ]


Id = BigInteger().with_variant(Integer(), "sqlite")

registries = Table(
    "registries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("artifact_types", JSON, nullable=False),
    Column("visibility", String(32), nullable=False, default="organization"),
    *_timestamps(),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("registry_id", Id, ForeignKey("registries.id", ondelete="CASCADE"), nullable=False),
    # ``name`` is the identity (exact, as MLflow's registered models); ``name_norm`` the case-folded
    # search and sort key (casefold can lengthen a name, hence the wider column).
    Column("name", String(256), nullable=False),
    Column("name_norm", String(1024), nullable=False),
    Column("artifact_type", String(64), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("next_version", Integer, nullable=False, default=1),
    Column("latest_version", Integer, nullable=True),
    Column("created_by", String(255), nullable=False, default=""),
    *_timestamps(),
    UniqueConstraint("registry_id", "name"),
    Index(None, "name_norm"),
    Index(None, "updated_at"),
    Index(None, "created_at"),
)

collection_tags = Table(
    "collection_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    *_timestamps(),
    UniqueConstraint("collection_id", "key"),
    Index(None, "key"),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("artifact_type", String(64), nullable=False),
    Column("stage", String(16), nullable=False, default="None"),
    Column("description", Text, nullable=False, default=""),
    Column("run_id", String(255), nullable=False, default=""),
    Column("run_url", Text, nullable=False, default=""),
    Column("params", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("datasets", JSON, nullable=False),
    Column("framework", String(128), nullable=False, default=""),
    Column("flavor", String(128), nullable=False, default=""),
    Column("signature", JSON, nullable=True),
    Column("source", Text, nullable=False, default=""),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("created_by", String(255), nullable=False, default=""),
    *_timestamps(),
    UniqueConstraint("collection_id", "number"),
    Index(None, "run_id"),
)

version_files = Table(
    "version_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    UniqueConstraint("version_id", "path"),
    Index(None, "digest"),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    *_timestamps(),
    UniqueConstraint("version_id", "key"),
    Index(None, "key"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("name_norm", String(255), nullable=False),  # names.alias_key(name): the exact name
    Column("version_id", Id, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", String(255), nullable=False, default=""),
    *_timestamps(),
    UniqueConstraint("collection_id", "name_norm"),
    Index(None, "name_norm"),
    Index(None, "version_id"),
)

upload_sessions = Table(
    "upload_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("registry", String(64), nullable=False),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False, default=""),
    Column("expires_at", UTCDateTime(), nullable=False),
    *_timestamps(),
    Index(None, "digest"),
    Index(None, "expires_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("actor_kind", String(32), nullable=False),
    Column("token_name", String(255), nullable=False, default=""),
    Column("action", String(64), nullable=False),
    Column("target", String(512), nullable=False),
    Column("registry", String(64), nullable=True),
    Column("collection_id", Id, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("request_id", String(64), nullable=False, default=""),
    Column("client_address", String(64), nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The registry's identity, which access to the event follows (the name above is what was
    # recorded and hashed). Not hashed, and not a foreign key: it is set NULL when the registry is
    # deleted, so a re-used name (or, on SQLite, a re-used id) never reveals the old history;
    # events without one are visible to org admins only. See docs/decisions/0010.
    Column("registry_id", Id, nullable=True),
    Index(None, "target", "id"),
    Index(None, "actor", "id"),
    Index(None, "action", "id"),
    Index(None, "collection_id", "id"),
    Index(None, "registry_id", "id"),
    Index(None, "created_at"),
)
# The high-water mark of the ids of tables whose ids must never be re-used (SQLite only; unused
# on PostgreSQL, whose sequences never go back). See storage/sql/ids.py.
id_counters = Table(
    "id_counters",
    metadata,
    Column("table_name", String(64), primary_key=True),
    Column("last_id", Id, nullable=False),
)

from . import governance_tables as _governance_tables  # noqa: E402,F401  (identities, grants, policies)
from . import lifecycle_tables as _lifecycle_tables  # noqa: E402,F401  (checks, promotions, webhooks)
from . import tracking_tables as _tracking_tables  # noqa: E402,F401  (MLflow adapter tables, same metadata)
