"""SQL reads and writes for automations: webhooks and their delivery log (a mixin of
``SqlMetadataStore``; same connection, same transaction, never commits).

Work claiming across server processes: on PostgreSQL the worker's selects take row locks with
``FOR UPDATE SKIP LOCKED`` (two processes never pick the same webhook or delivery); on SQLite
writers are serialized by ``BEGIN IMMEDIATE`` already. A claimed delivery also gets a lease
(``next_attempt_at`` in the future), so no transaction is held open while a receiver is called.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from modelyard.errors import AlreadyExistsError

from . import governance_tables as gt
from . import lifecycle_tables as lt
from . import tables as t


class AutomationStoreMixin:
    conn: Connection
    dialect: str

    # -- webhooks -----------------------------------------------------------------------------------

    def insert_webhook(self, *, now: datetime, **values: Any) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(lt.webhooks).values(created_at=now, updated_at=now, **values)
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(
                f"a webhook named '{values.get('name')}' already exists", webhook=values.get("name")
            ) from exc

    def _webhook_select(self) -> Any:
        w = lt.webhooks
        return (
            select(*w.c, t.registries.c.name.label("registry"), t.collections.c.name.label("collection"))
            .join(t.registries, t.registries.c.id == w.c.registry_id)
            .outerjoin(t.collections, t.collections.c.id == w.c.collection_id)
        )

    def find_webhook(self, registry_id: int, name: str) -> dict[str, Any] | None:
        w = lt.webhooks
        row = (
            self.conn.execute(self._webhook_select().where(w.c.registry_id == registry_id, w.c.name == name))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def find_webhook_by_id(self, webhook_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(self._webhook_select().where(lt.webhooks.c.id == webhook_id)).mappings().first()
        return dict(row) if row else None

    def list_webhooks(self, registry_id: int) -> list[dict[str, Any]]:
        w = lt.webhooks
        rows = self.conn.execute(self._webhook_select().where(w.c.registry_id == registry_id).order_by(w.c.name))
        return [dict(r) for r in rows.mappings()]

    def update_webhook(self, webhook_id: int, *, now: datetime, **fields: Any) -> None:
        self.conn.execute(update(lt.webhooks).where(lt.webhooks.c.id == webhook_id).values(updated_at=now, **fields))

    def set_webhook_cursor(self, webhook_id: int, cursor: int) -> None:
        self.conn.execute(update(lt.webhooks).where(lt.webhooks.c.id == webhook_id).values(cursor=cursor))

    def bump_webhook_failures(self, webhook_id: int) -> int:
        """Count one more failed delivery; returns the new number of consecutive failures."""
        w = lt.webhooks
        return int(
            self.conn.execute(
                update(w)
                .where(w.c.id == webhook_id)
                .values(consecutive_failures=w.c.consecutive_failures + 1)
                .returning(w.c.consecutive_failures)
            ).scalar_one()
        )

    def reset_webhook_failures(self, webhook_id: int) -> None:
        w = lt.webhooks
        self.conn.execute(
            update(w).where(w.c.id == webhook_id, w.c.consecutive_failures != 0).values(consecutive_failures=0)
        )

    def delete_webhook(self, webhook_id: int) -> None:
        self.conn.execute(delete(lt.webhooks).where(lt.webhooks.c.id == webhook_id))

    # -- the outbox: event log -> deliveries --------------------------------------------------------

    def event_head_id(self) -> int:
        """The id of the newest event (0 for an empty log)."""
        head = self.conn.execute(select(gt.event_chain_head.c.last_id).where(gt.event_chain_head.c.id == 1)).first()
        return int(head[0]) if head else 0

    def webhooks_behind(self, head: int) -> list[int]:
        """Ids of active webhooks whose cursor is before ``head``."""
        w = lt.webhooks
        return list(
            self.conn.execute(select(w.c.id).where(w.c.active.is_(True), w.c.cursor < head).order_by(w.c.id)).scalars()
        )

    def lock_webhook(self, webhook_id: int) -> dict[str, Any] | None:
        """The webhook row, locked for this transaction (None if another process holds it or it is gone)."""
        q = select(lt.webhooks).where(lt.webhooks.c.id == webhook_id)
        if self.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def scoped_events(
        self, *, registry_id: int, collection_id: int | None, after_id: int, upto_id: int, limit: int
    ) -> list[dict[str, Any]]:
        """Events of a registry (or one collection of it) with ``after_id < id <= upto_id``, oldest
        first. Matched on ids, never names: a re-used name never reaches another registry's events."""
        e = t.events
        q = select(e.c.id, e.c.action, e.c.target, e.c.collection_id, e.c.before, e.c.after).where(
            e.c.id > after_id, e.c.id <= upto_id
        )
        q = q.where(e.c.registry_id == registry_id)
        if collection_id is not None:
            q = q.where(e.c.collection_id == collection_id)
        return [dict(r) for r in self.conn.execute(q.order_by(e.c.id).limit(limit)).mappings()]

    def events_by_ids(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        rows = self.conn.execute(select(t.events).where(t.events.c.id.in_(ids))).mappings()
        return {r["id"]: dict(r) for r in rows}

    def find_event_row(self, event_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.events).where(t.events.c.id == event_id)).mappings().first()
        return dict(row) if row else None

    # -- deliveries -----------------------------------------------------------------------------------

    def insert_deliveries(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(lt.webhook_deliveries), rows)

    def has_due_work(self, now: datetime) -> bool:
        d = lt.webhook_deliveries
        return (
            self.conn.execute(
                select(d.c.id).where(d.c.status == "pending", d.c.next_attempt_at <= now).limit(1)
            ).first()
            is not None
        )

    def claim_due_deliveries(self, now: datetime, *, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
        """Take up to ``limit`` due deliveries, each the oldest pending one of its order key.

        Claimed rows get ``attempts + 1`` and ``next_attempt_at = lease_until``: if this process
        dies mid-send the lease runs out and another process retries (at least once).
        """
        d = lt.webhook_deliveries
        w = lt.webhooks
        p = d.alias("earlier")
        earlier_pending = (
            select(p.c.id).where(p.c.order_key == d.c.order_key, p.c.status == "pending", p.c.id < d.c.id).exists()
        )
        q = (
            select(d.c.id, d.c.next_attempt_at)
            .join(w, w.c.id == d.c.webhook_id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= now, w.c.active.is_(True), ~earlier_pending)
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            q = q.with_for_update(of=d, skip_locked=True)
        claimed = []
        for row in self.conn.execute(q).all():
            res = self.conn.execute(
                update(d)
                .where(d.c.id == row[0], d.c.status == "pending", d.c.next_attempt_at == row[1])
                .values(next_attempt_at=lease_until, attempts=d.c.attempts + 1, updated_at=now)
            )
            if res.rowcount == 1:
                claimed.append(row[0])
        if not claimed:
            return []
        rows = self.conn.execute(select(d).where(d.c.id.in_(claimed)).order_by(d.c.id)).mappings()
        return [dict(r) for r in rows]

    def update_delivery(self, delivery_pk: int, *, now: datetime, **fields: Any) -> None:
        d = lt.webhook_deliveries
        self.conn.execute(update(d).where(d.c.id == delivery_pk).values(updated_at=now, **fields))

    def find_delivery(self, webhook_id: int, delivery_id: str) -> dict[str, Any] | None:
        d = lt.webhook_deliveries
        row = (
            self.conn.execute(select(d).where(d.c.webhook_id == webhook_id, d.c.delivery_id == delivery_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def list_deliveries(
        self, webhook_id: int, *, before_id: int | None, limit: int, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Deliveries of a webhook, newest first (``limit + 1`` rows, keyset by id)."""
        d = lt.webhook_deliveries
        e = t.events
        q = (
            select(*d.c, e.c.action.label("event"), e.c.target.label("target"))
            .outerjoin(e, e.c.id == d.c.event_id)
            .where(d.c.webhook_id == webhook_id)
        )
        if status:
            q = q.where(d.c.status == status)
        if before_id is not None:
            q = q.where(d.c.id < before_id)
        return [dict(r) for r in self.conn.execute(q.order_by(d.c.id.desc()).limit(limit + 1)).mappings()]

    def delivery_counts(self, webhook_id: int) -> dict[str, int]:
        d = lt.webhook_deliveries
        rows = self.conn.execute(
            select(d.c.status, func.count()).where(d.c.webhook_id == webhook_id).group_by(d.c.status)
        ).all()
        return {str(r[0]): int(r[1]) for r in rows}

    def pending_deliveries_exist(self, webhook_id: int) -> bool:
        d = lt.webhook_deliveries
        return (
            self.conn.execute(
                select(d.c.id).where(and_(d.c.webhook_id == webhook_id, d.c.status == "pending")).limit(1)
            ).first()
            is not None
        )
