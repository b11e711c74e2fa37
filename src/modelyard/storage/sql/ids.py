"""Row ids that are never handed out twice, on SQLite as on PostgreSQL.

Events, alias history, watch streams and promotion links refer to a registry, a collection or
a promotion request by id, and keep that id after the row is deleted (the log is append-only).
PostgreSQL sequences never go back. SQLite without ``AUTOINCREMENT`` gives a new row the
highest id + 1, so deleting the newest collection and creating another hands the new one the
old id, with the old one's alias history and events. Rebuilding the tables with
``AUTOINCREMENT`` was not safe here: migrations ran with ``foreign_keys=ON`` inside a
transaction, where the ``DROP TABLE`` of a batch rebuild cascades to every child row (measured:
a rebuilt ``collections`` loses all its versions; ``schema.upgrade`` now turns them off on
SQLite while migrations run). So on SQLite the store takes these ids from
``id_counters``, a high-water mark that only rises; writers are serialized by ``BEGIN
IMMEDIATE``, so two transactions never read the same mark. See docs/decisions/0010.
"""

from __future__ import annotations

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection

from .tables import id_counters

# The tables whose ids outlive their rows (referenced without a foreign key, or shown to users).
NEVER_REUSED = ("registries", "collections", "promotion_requests")


def fresh_id(conn: Connection, dialect: str, table: Table) -> dict[str, int]:
    """The ``id`` to insert a new row of ``table`` with: ``{"id": n}`` on SQLite, where ``n`` is
    above every id the table ever held; ``{}`` on PostgreSQL, whose sequence assigns it."""
    assert table.name in NEVER_REUSED, table.name
    if dialect != "sqlite":
        return {}
    c = id_counters.c
    mark = conn.execute(select(c.last_id).where(c.table_name == table.name)).scalar()
    # max(id) too: a row inserted by anything that bypassed the counter still moves the mark.
    highest = conn.execute(select(func.max(table.c.id))).scalar() or 0
    new = max(mark or 0, highest) + 1
    if mark is None:
        conn.execute(insert(id_counters).values(table_name=table.name, last_id=new))
    else:
        conn.execute(update(id_counters).where(c.table_name == table.name).values(last_id=new))
    return {"id": new}
