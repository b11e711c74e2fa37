"""Watch streams: Server-Sent Events of the changes to one alias (or ``latest``, or a whole
collection), read from the event log.

Each server process runs one ``WatchHub``: a task that reads the event log's head id every
``poll_seconds`` and wakes the streams when it moves. A woken stream reads its collection's
events after its cursor. Because the log lives in the shared database, a change made through
any server process reaches watchers on every other one.

Wire format: every message carries the event id as its SSE ``id``; the first message of a
fresh stream is ``event: current`` (the state now, with the log position it was read at), then
one message per change. A client reconnecting with ``Last-Event-ID`` gets every change after
that id, replayed from the log, and no ``current``: nothing is lost, nothing repeats.
Comment lines (``: keepalive``) keep idle connections open through proxies.

A stream is authorized again before every delivery and at least every ``reauth_seconds`` while
idle (the ``authorize`` callable: token still valid, principal still allowed to read). When that
fails, the stream ends with one ``event: error`` message whose data is the error body of
``/api/v1`` (``{"code", "message", "details"}``) and no ``id``: nothing after the revocation is
delivered, and a reconnect is refused like any request with that token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from modelyard.domain import events as ev
from modelyard.errors import ModelyardError
from modelyard.storage.interfaces import Database

log = logging.getLogger("modelyard.watch")

KEEPALIVE_SECONDS = 10.0
REPLAY_BATCH = 1000
RETRY_MS = 1000
REAUTH_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WatchSpec:
    """What a stream follows. ``kind``: ``alias`` (one alias), ``latest`` or ``collection`` (every event)."""

    registry: str
    registry_id: int  # the events read are matched on the ids, never on the names
    collection: str
    collection_id: int
    kind: str
    alias: str | None = None

    @property
    def target(self) -> str:
        base = f"{self.registry}/{self.collection}"
        if self.kind == "alias":
            return f"{base}@{self.alias}"
        if self.kind == "latest":
            return f"{base}:latest"
        return base

    def wants(self, action: str, target: str) -> bool:
        if self.kind == "collection":
            return True
        if action == ev.COLLECTION_DELETED:
            return True
        if self.kind == "latest":
            return action in (ev.VERSION_CREATED, ev.VERSION_DELETED)
        assert self.alias is not None
        return (
            action in (ev.ALIAS_SET, ev.ALIAS_UNSET)
            and "@" in target
            and target.rsplit("@", 1)[1].lower() == self.alias.lower()
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def snapshot(db: Database, spec: WatchSpec) -> tuple[int, dict[str, Any]]:
    """(log position, current state). The position is read first: a change racing the read is
    delivered again afterwards rather than lost."""
    with db.unit_of_work(write=False) as store:
        head = store.event_head_id()  # type: ignore[attr-defined]
    with db.unit_of_work(write=False) as store:
        version: int | None = None
        if spec.kind == "alias":
            found = store.find_alias(spec.collection_id, (spec.alias or "").lower())
            version = found[2] if found else None
        else:
            c = store.get_collection_by_id(spec.collection_id)
            version = c.latest_version
    return head, {
        "event_id": head,
        "event": "current",
        "target": spec.target,
        "version": version,
        "previous_version": None,
        "actor": None,
        "time": _now(),
    }


def changes(db: Database, spec: WatchSpec, after_id: int, upto_id: int) -> tuple[list[dict[str, Any]], int]:
    """Messages for events of the spec in ``(after_id, upto_id]``, and the new cursor."""
    with db.unit_of_work(write=False) as store:
        rows = store.scoped_events(  # type: ignore[attr-defined]
            registry_id=spec.registry_id,
            collection_id=spec.collection_id,
            after_id=after_id,
            upto_id=upto_id,
            limit=REPLAY_BATCH,
        )
        cursor = rows[-1]["id"] if len(rows) == REPLAY_BATCH else upto_id
        full = store.events_by_ids([r["id"] for r in rows if spec.wants(r["action"], r["target"])])  # type: ignore[attr-defined]
        latest: int | None = None
        if spec.kind == "latest" and any(r["action"] == ev.VERSION_DELETED for r in full.values()):
            latest = store.get_collection_by_id(spec.collection_id).latest_version
    out = []
    for eid in sorted(full):
        e = full[eid]
        before, after = e["before"] or {}, e["after"] or {}
        if e["action"] == ev.VERSION_DELETED:
            version, previous = latest, before.get("version")
        elif e["action"] == ev.COLLECTION_DELETED:
            version, previous = None, None
        else:
            version, previous = after.get("version"), before.get("version")
        out.append(
            {
                "event_id": eid,
                "event": e["action"],
                "target": spec.target if spec.kind != "collection" else e["target"],
                "version": version,
                "previous_version": previous,
                "actor": e["actor"],
                "time": e["created_at"].isoformat(),
            }
        )
    return out, cursor


def format_sse(event_id: int, event: str, data: dict[str, Any]) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def format_sse_error(error: ModelyardError) -> str:
    """The last message of a stream whose access is gone (no ``id``: the client's cursor stays put)."""
    return f"event: error\ndata: {json.dumps(error.to_dict(), separators=(',', ':'), default=str)}\n\n"


class WatchHub:
    """Per-process log-head poller that wakes every stream when the event log grows."""

    def __init__(self, db: Database, *, poll_seconds: float = 0.2) -> None:
        self._db = db
        self.poll_seconds = poll_seconds
        self._head = -1
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poke: asyncio.Event | None = None
        self.subscribers = 0
        db.add_commit_listener(self.nudge)

    def nudge(self) -> None:
        """A write just committed in this process: poll now instead of at the next tick.

        Called from any thread; other processes' writes are still found by polling.
        """
        loop, poke = self._loop, self._poke
        if loop is not None and poke is not None and self.subscribers > 0 and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(poke.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _read_head(self) -> int:
        with self._db.unit_of_work(write=False) as store:
            return int(store.event_head_id())  # type: ignore[attr-defined]

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._head = -1
            self._changed = asyncio.Event()
            self._poke = asyncio.Event()
            self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        while self.subscribers > 0:
            try:
                head = await anyio.to_thread.run_sync(self._read_head)
            except Exception:  # a database hiccup: the streams keep waiting, the next poll retries
                log.exception("watch hub could not read the event log")
                await asyncio.sleep(1.0)
                continue
            if head != self._head:
                self._head = head
                assert self._changed is not None
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()
            assert self._poke is not None
            try:
                await asyncio.wait_for(self._poke.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            self._poke.clear()

    async def wait(self, seen: int, timeout: float) -> int:
        """The log head once it is past ``seen`` (or whatever it is after ``timeout`` seconds)."""
        self._ensure_running()
        if self._head > seen:
            return self._head
        assert self._changed is not None
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
        return self._head

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None


async def sse_stream(
    db: Database,
    hub: WatchHub,
    spec: WatchSpec,
    *,
    last_event_id: int | None,
    is_disconnected: Callable[[], Awaitable[bool]],
    keepalive: float = KEEPALIVE_SECONDS,
    max_seconds: float | None = None,
    authorize: Callable[[], None] | None = None,
    reauth_seconds: float = REAUTH_SECONDS,
) -> AsyncIterator[str]:
    """The SSE text of one watch stream, until the client goes away (or ``max_seconds`` pass).

    ``authorize`` (blocking; run in a thread) raises a ``ModelyardError`` once the stream's
    principal may no longer read what it watches; it is called before every delivery and after
    ``reauth_seconds`` without one. The stream then ends with an ``error`` message.
    """
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    hub.subscribers += 1
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if last_event_id is None:
            cursor, current = await anyio.to_thread.run_sync(snapshot, db, spec)
            yield format_sse(cursor, "current", current)
        else:
            cursor = last_event_id
        last_write = last_auth = time.monotonic()
        while True:
            wait = min(keepalive, reauth_seconds, 2.0)
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            head = await hub.wait(cursor, timeout=wait)
            if await is_disconnected():
                return
            if authorize is not None and time.monotonic() - last_auth >= reauth_seconds:
                denied = await _denied(authorize)
                if denied is not None:
                    yield format_sse_error(denied)
                    return
                last_auth = time.monotonic()
            while head > cursor:
                messages, cursor = await anyio.to_thread.run_sync(changes, db, spec, cursor, head)
                if messages and authorize is not None:
                    denied = await _denied(authorize)  # before every delivery: nothing after a revocation
                    if denied is not None:
                        yield format_sse_error(denied)
                        return
                    last_auth = time.monotonic()
                for m in messages:
                    yield format_sse(m["event_id"], m["event"], m)
                    last_write = time.monotonic()
            if deadline is not None and time.monotonic() >= deadline:
                return
            if time.monotonic() - last_write >= keepalive:
                yield ": keepalive\n\n"
                last_write = time.monotonic()
    finally:
        hub.subscribers -= 1


async def _denied(authorize: Callable[[], None]) -> ModelyardError | None:
    """The error ``authorize`` raises (access is gone), or None while the stream may go on."""
    try:
        await anyio.to_thread.run_sync(authorize)
    except ModelyardError as exc:
        return exc
    return None
