"""collections and aliases are matched by their exact name (as MLflow); longer names; webhook
descriptions (MLflow's webhooks API)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Names were unique case-insensitively, so they are unique exactly too: no row conflicts.
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=128), type_=sa.String(length=256))
        batch_op.alter_column("name_norm", existing_type=sa.String(length=128), type_=sa.String(length=1024))
        batch_op.drop_constraint(batch_op.f("uq_collections_registry_id_name_norm"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_collections_registry_id_name"), ["registry_id", "name"])
    with op.batch_alter_table("aliases", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=64), type_=sa.String(length=255))
        batch_op.alter_column("name_norm", existing_type=sa.String(length=64), type_=sa.String(length=255))
    # An alias's key is now its exact name (names.alias_key).
    op.execute(sa.text("UPDATE aliases SET name_norm = name"))
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("description")
    op.execute(sa.text("UPDATE aliases SET name_norm = lower(name)"))
    with op.batch_alter_table("aliases", schema=None) as batch_op:
        batch_op.alter_column("name_norm", existing_type=sa.String(length=255), type_=sa.String(length=64))
        batch_op.alter_column("name", existing_type=sa.String(length=255), type_=sa.String(length=64))
    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_collections_registry_id_name"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_collections_registry_id_name_norm"), ["registry_id", "name_norm"]
        )
        batch_op.alter_column("name_norm", existing_type=sa.String(length=1024), type_=sa.String(length=128))
        batch_op.alter_column("name", existing_type=sa.String(length=256), type_=sa.String(length=128))
