"""id_counters: registry, collection and promotion-request ids are never re-used on SQLite

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 11:40:00.000000

SQLite (without ``AUTOINCREMENT``) gives a new row the highest id + 1, so a collection created
after the newest one was deleted got the deleted one's id and, with it, its alias history and
events. From now on the store takes these ids from ``id_counters``, a high-water mark that only
rises (storage/sql/ids.py). On SQLite the marks start above every id the tables hold *and*
every id the event log still refers to (``events.collection_id``, ``events.registry_id``, the
``request_id`` of promotion events), so not even a row deleted before this upgrade has its id
handed out again. PostgreSQL sequences never go back: the table stays empty there.

Not a rebuild with ``AUTOINCREMENT``: migrations run with ``foreign_keys=ON`` in a transaction,
where a batch rebuild's ``DROP TABLE`` cascades to every child row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# table -> the ids that count towards its mark (SQLite): its own, and those the event log keeps.
_SEEDS = {
    "registries": ["SELECT MAX(id) FROM registries", "SELECT MAX(registry_id) FROM events"],
    "collections": ["SELECT MAX(id) FROM collections", "SELECT MAX(collection_id) FROM events"],
    "promotion_requests": [
        "SELECT MAX(id) FROM promotion_requests",
        "SELECT MAX(CAST(json_extract(\"after\", '$.request_id') AS INTEGER)) FROM events"
        " WHERE action LIKE 'promotion.%'",
    ],
}


def upgrade() -> None:
    op.create_table(
        "id_counters",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_id_counters")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, queries in _SEEDS.items():
        mark = max((bind.execute(sa.text(q)).scalar() or 0) for q in queries)
        bind.execute(
            sa.text("INSERT INTO id_counters (table_name, last_id) VALUES (:t, :m)"), {"t": table, "m": int(mark)}
        )


def downgrade() -> None:
    op.drop_table("id_counters")
