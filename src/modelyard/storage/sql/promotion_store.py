"""SQL reads and writes for version checks, promotion requests and reviews (a mixin of
``SqlMetadataStore``; same transaction, never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from modelyard.errors import AlreadyExistsError

from . import lifecycle_tables as lt
from . import tables as t
from .ids import fresh_id
from .upsert import upsert


class PromotionStoreMixin:
    conn: Connection
    dialect: str

    def set_check(
        self,
        version_id: int,
        name: str,
        *,
        status: str,
        summary: str,
        details_url: str,
        reported_by: str,
        now: datetime,
    ) -> str | None:
        """Record a check's latest status; returns the previous status (None if first report)."""
        values = {"status": status, "summary": summary, "details_url": details_url, "reported_by": reported_by}
        key = {"version_id": version_id, "name": name}
        return upsert(self.conn, lt.version_checks, key, values, now=now, old="status")  # type: ignore[no-any-return]

    def list_checks(self, version_id: int) -> list[RowMapping]:
        c = lt.version_checks.c
        return list(
            self.conn.execute(select(lt.version_checks).where(c.version_id == version_id).order_by(c.name)).mappings()
        )

    def insert_request(self, **values: Any) -> int:
        table = lt.promotion_requests
        values = {**fresh_id(self.conn, self.dialect, table), **values}
        return int(self.conn.execute(insert(table).values(**values)).inserted_primary_key[0])  # type: ignore[index]

    def find_request(self, request_id: int, *, for_update: bool = False) -> RowMapping | None:
        q = select(lt.promotion_requests).where(lt.promotion_requests.c.id == request_id)
        if for_update and self.dialect == "postgresql":
            q = q.with_for_update()
        return self.conn.execute(q).mappings().first()

    def list_open_requests(self, registry_ids: list[int] | None, *, limit: int) -> list[RowMapping]:
        """Open requests, newest first, in these registries (None: all), with ``registry_id``."""
        r = lt.promotion_requests.c
        q = (
            select(lt.promotion_requests, t.collections.c.registry_id)
            .join(t.collections, t.collections.c.id == r.collection_id)
            .where(r.status == "open")
        )
        if registry_ids is not None:
            q = q.where(t.collections.c.registry_id.in_(registry_ids))
        return list(self.conn.execute(q.order_by(r.id.desc()).limit(limit)).mappings())

    def update_request(self, request_id: int, **values: Any) -> None:
        self.conn.execute(
            update(lt.promotion_requests).where(lt.promotion_requests.c.id == request_id).values(**values)
        )

    def list_requests(self, collection_id: int, *, status: str | None, limit: int) -> list[RowMapping]:
        r = lt.promotion_requests.c
        q = select(lt.promotion_requests).where(r.collection_id == collection_id)
        if status:
            q = q.where(r.status == status)
        return list(self.conn.execute(q.order_by(r.id.desc()).limit(limit)).mappings())

    def insert_review(
        self, request_id: int, *, reviewer: str, reviewer_role: str, decision: str, comment: str, now: datetime
    ) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(lt.promotion_reviews).values(
                        request_id=request_id,
                        reviewer=reviewer,
                        reviewer_role=reviewer_role,
                        decision=decision,
                        comment=comment,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"'{reviewer}' already reviewed request {request_id}", reviewer=reviewer) from exc

    def list_reviews(self, request_id: int) -> list[RowMapping]:
        v = lt.promotion_reviews.c
        return list(
            self.conn.execute(select(lt.promotion_reviews).where(v.request_id == request_id).order_by(v.id)).mappings()
        )
