"""The one "create or replace a keyed row" step the stores share (tags, aliases, grants,
alias policies, checks). Runs inside the caller's transaction; the caller holds any lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection


def upsert(
    conn: Connection, table: Table, key: dict[str, Any], values: dict[str, Any], *, now: datetime, old: str
) -> Any:
    """Insert ``key + values`` or update ``values`` on the row matching ``key`` (None matches NULL).

    Returns the previous value of column ``old`` (None when the row was created).
    """
    where = [table.c[k].is_(None) if v is None else table.c[k] == v for k, v in key.items()]
    previous = conn.execute(select(table.c[old]).where(*where)).scalar_one_or_none()
    if previous is None:
        conn.execute(insert(table).values(**key, **values, created_at=now, updated_at=now))
    else:
        conn.execute(update(table).where(*where).values(**values, updated_at=now))
    return previous
