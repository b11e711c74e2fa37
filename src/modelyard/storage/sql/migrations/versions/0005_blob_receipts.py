"""blob receipts: which principal uploaded which digest itself (dedup within permission boundaries)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import modelyard.storage.sql.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("principal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("created_at", modelyard.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.Column("updated_at", modelyard.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_blob_receipts_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_receipts")),
        sa.UniqueConstraint("principal_id", "digest", name=op.f("uq_blob_receipts_principal_id_digest")),
    )
    with op.batch_alter_table("blob_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_receipts_digest"), ["digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("blob_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_receipts_digest"))
    op.drop_table("blob_receipts")
