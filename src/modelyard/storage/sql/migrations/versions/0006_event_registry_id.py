"""events.registry_id: access to an event follows the registry's identity, not its name

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-29 10:45:00.000000

Backfill: an event gets the id of the registry that holds its registry name now, but only if
it was recorded during that registry's lifetime, i.e. at or after the latest
``registry.created`` event for that name. Events of a registry that was deleted (whether or
not the name was re-used since) keep NULL and are visible to org admins only. Nothing that the
hash chain covers changes (``registry_id`` is not hashed), so ``modelyard audit verify`` still
passes on the upgraded log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("registry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_events_registry_id_id"), ["registry_id", "id"], unique=False)
    op.execute(
        sa.text(
            """
            UPDATE events SET registry_id = (
                SELECT r.id FROM registries r WHERE r.name = events.registry
            )
            WHERE events.registry IS NOT NULL
              AND EXISTS (SELECT 1 FROM registries r WHERE r.name = events.registry)
              AND events.id >= COALESCE((
                  SELECT MAX(c.id) FROM events c
                  WHERE c.action = 'registry.created' AND c.registry = events.registry
              ), 0)
            """
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_registry_id_id"))
        batch_op.drop_column("registry_id")
