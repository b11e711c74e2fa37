"""governance: principals, teams, tokens, grants, alias policies, event chain head

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import modelyard.storage.sql.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = modelyard.storage.sql.tables.UTCDateTime


def _ts() -> list[sa.Column]:
    return [sa.Column("created_at", UTC(), nullable=False), sa.Column("updated_at", UTC(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("org_admin", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
        sa.UniqueConstraint("name", name=op.f("uq_principals_name")),
    )
    op.create_table(
        "teams",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_ts(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("team_id", Id, nullable=False),
        sa.Column("principal_id", Id, nullable=False),
        *_ts(),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_team_members_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint("team_id", "principal_id", name=op.f("uq_team_members_team_id_principal_id")),
    )
    op.create_index(op.f("ix_team_members_principal_id"), "team_members", ["principal_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("principal_id", Id, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("last_used_at", UTC(), nullable=True),
        *_ts(),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_api_tokens_principal_id_principals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.UniqueConstraint("principal_id", "name", name=op.f("uq_api_tokens_principal_id_name")),
    )
    op.create_table(
        "registry_grants",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("registry_id", Id, nullable=False),
        sa.Column("principal_id", Id, nullable=True),
        sa.Column("team_id", Id, nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        *_ts(),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["registries.id"],
            name=op.f("fk_registry_grants_registry_id_registries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_registry_grants_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_registry_grants_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_grants")),
        sa.UniqueConstraint("registry_id", "principal_id", name=op.f("uq_registry_grants_registry_id_principal_id")),
        sa.UniqueConstraint("registry_id", "team_id", name=op.f("uq_registry_grants_registry_id_team_id")),
    )
    op.create_index(op.f("ix_registry_grants_principal_id"), "registry_grants", ["principal_id"])
    op.create_index(op.f("ix_registry_grants_team_id"), "registry_grants", ["team_id"])
    op.create_table(
        "alias_policies",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("registry_id", Id, nullable=False),
        sa.Column("collection_id", Id, nullable=True),
        sa.Column("alias_norm", sa.String(64), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        *_ts(),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["registries.id"],
            name=op.f("fk_alias_policies_registry_id_registries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_alias_policies_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_policies")),
        sa.UniqueConstraint(
            "registry_id",
            "collection_id",
            "alias_norm",
            name=op.f("uq_alias_policies_registry_id_collection_id_alias_norm"),
        ),
    )
    op.create_table(
        "event_chain_head",
        sa.Column("id", Id, nullable=False),
        sa.Column("last_id", Id, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_chain_head")),
    )
    # Anchor the chain at whatever the event log already holds.
    conn = op.get_bind()
    last = conn.execute(sa.text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).first()
    conn.execute(
        sa.text("INSERT INTO event_chain_head (id, last_id, last_hash) VALUES (1, :i, :h)"),
        {"i": last[0] if last else 0, "h": last[1] if last else "0" * 64},
    )


def downgrade() -> None:
    for table in (
        "event_chain_head",
        "alias_policies",
        "registry_grants",
        "api_tokens",
        "team_members",
        "teams",
        "principals",
    ):
        op.drop_table(table)
