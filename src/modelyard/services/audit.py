"""The audit trail: query the event log, answer "what did this alias point to at time T and
who moved it there", export JSON Lines, and verify the hash chain.

Org admins see every event; other principals see the events of registries they can read,
matched on the registry's id (org-level events such as token creation, and the events of
deleted registries, stay with org admins).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime

from modelyard.domain.actor import Actor
from modelyard.domain.audit import GENESIS_HASH, ChainReport, event_hash
from modelyard.domain.models import AliasChange, Event, Page
from modelyard.domain.search import check_page_size, decode_page_token, encode_page_token, is_row_id
from modelyard.errors import InvalidArgumentError, InvalidPageTokenError
from modelyard.storage.interfaces import Database

from . import authz
from .registry import RegistryService


class AuditService:
    def __init__(self, db: Database, registry: RegistryService) -> None:
        self._db = db
        self._registry = registry

    def list_events(
        self,
        actor: Actor | None,
        *,
        principal: str | None = None,
        action: str | None = None,
        target: str | None = None,
        target_prefix: str | None = None,
        registry: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        descending: bool = False,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[Event]:
        check_page_size(page_size)
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise InvalidArgumentError(f"'{name}' needs a timezone, e.g. 2026-03-01T12:00Z", field=name)
        if since and until and since >= until:
            raise InvalidArgumentError("'since' must be before 'until'", field="since")
        after = None
        if page_token:
            payload = decode_page_token(page_token)
            if not is_row_id(payload.get("e")):
                raise InvalidPageTokenError("page_token is not a token this server issued", page_token=page_token[:80])
            after = payload["e"]
        with self._db.unit_of_work(write=False) as store:
            # Access follows the registry's identity: a non-admin sees the events whose registry id
            # it can read, never those of a deleted registry whose name (or id) was re-used.
            visible = authz.visible_registry_ids(store, actor)
            registry_id = None
            if registry:
                current = store.find_registry(registry)
                if current is not None:
                    registry_id, registry = current.id, None  # this registry's events, not the name's
            items = store.list_events(
                actor=principal,
                action=action,
                target=target,
                target_prefix=target_prefix,
                registry=registry,
                registry_id=registry_id,
                registry_ids=visible,
                since=since,
                until=until,
                after_id=after,
                descending=descending,
                limit=page_size,
            )
        token = None
        if len(items) > page_size:
            items = items[:page_size]
            token = encode_page_token({"e": items[-1].id})
        return Page(items, token)

    def export_jsonl(self, actor: Actor | None, **filters: object) -> Iterator[str]:
        """Every matching event as one JSON line (for SIEM ingestion), oldest first, in constant memory."""
        token: str | None = None
        while True:
            page = self.list_events(actor, page_size=1000, page_token=token, **filters)  # type: ignore[arg-type]
            for e in page.items:
                record = asdict(e)
                record["at"] = e.at.isoformat()
                yield json.dumps(record, sort_keys=True, default=str) + "\n"
            token = page.next_page_token
            if not token:
                return

    def alias_at(
        self, actor: Actor | None, registry: str, collection: str, alias: str, at: datetime
    ) -> AliasChange | None:
        """The move that was in force at ``at`` (None if the alias was not set then).

        A result with ``version`` None means the alias had been removed.
        """
        if at.tzinfo is None:
            raise InvalidArgumentError("give the time with a timezone, e.g. 2026-03-01T12:00Z", field="at")
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor)
            crow = self._registry._collection_row(store, reg, collection)
            moves = store.alias_history(crow["id"], f"{registry}/{crow['name']}@{alias}", limit=1, at=at)
        return moves[0] if moves else None

    def verify_chain(self) -> ChainReport:
        """Walk every event: recompute each hash, check each link, ids without gaps, and the head."""
        with self._db.unit_of_work(write=False) as store:
            prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
            for row in store.iter_event_rows():
                if row["id"] != expected_id:
                    return ChainReport(
                        False,
                        checked,
                        expected_id - 1,
                        prev_hash,
                        expected_id,
                        f"event {expected_id} is missing (next is {row['id']})",
                    )
                if row["prev_hash"] != prev_hash:
                    return ChainReport(
                        False,
                        checked,
                        row["id"],
                        prev_hash,
                        row["id"],
                        f"event {row['id']} does not link to event {row['id'] - 1}",
                    )
                if event_hash(prev_hash, row) != row["hash"]:
                    return ChainReport(
                        False,
                        checked,
                        row["id"],
                        prev_hash,
                        row["id"],
                        f"event {row['id']} was modified after it was written",
                    )
                prev_hash, expected_id, checked = row["hash"], expected_id + 1, checked + 1
            head_id, head_hash = store.chain_head()
        if head_id > checked:
            return ChainReport(
                False,
                checked,
                checked,
                prev_hash,
                checked + 1,
                f"the chain head records event {head_id} but the log ends at {checked}: "
                "events were deleted from the end",
            )
        if head_id < checked:
            return ChainReport(
                False,
                checked,
                checked,
                prev_hash,
                head_id + 1,
                f"event {head_id + 1} was added after the chain head (event {head_id}) without going through the log",
            )
        if head_hash != prev_hash:
            return ChainReport(
                False,
                checked,
                checked,
                prev_hash,
                checked,
                f"event {checked} was rewritten: its hash does not match the chain head",
            )
        return ChainReport(True, checked, head_id, head_hash)
