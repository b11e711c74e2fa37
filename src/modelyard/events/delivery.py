"""The webhook delivery worker: event log (outbox) -> delivery rows -> signed HTTP POSTs.

One background thread per server process (``DeliveryWorker.start``; ``stop`` joins it). Each
round it

1. **fans out**: for every active webhook whose cursor is behind the event log, it locks the
   webhook row, turns the matching events after the cursor into ``pending`` delivery rows and
   advances the cursor, in one transaction. Event ids are consecutive and become visible in
   order (the hash chain serializes writers), so a cursor never skips an event;
2. **sends**: it claims due deliveries that are the oldest pending one of their *order key*
   (webhook + collection), so event k+1 of a collection is not sent before event k succeeded or
   was given up; claims take a lease, so no transaction stays open during the HTTP call and a
   crashed process's claims are retried by another (at least once);
3. **records** the outcome: status, response code, latency, attempts; retries with exponential
   backoff and jitter; after ``max_attempts`` the delivery is ``failed``, and after
   ``disable_after`` consecutive failed deliveries the webhook is disabled (an event records it).

Requests go through the SSRF guard (``ssrf.guarded_client``) with short timeouts, never from an
API request, so a slow or dead receiver never slows the API down.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from modelyard._version import __version__
from modelyard.domain import events as ev
from modelyard.storage.interfaces import Database

from . import matching
from .crypto import SecretBox
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from .ssrf import guarded_client

log = logging.getLogger("modelyard.webhooks")

FANOUT_BATCH = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def order_key(webhook_id: int, collection_id: int | None) -> str:
    return f"{webhook_id}:{collection_id if collection_id is not None else 'registry'}"


def new_delivery_id() -> str:
    return uuid.uuid4().hex


def collection_of(target: str) -> str | None:
    """``models/fraud@prod`` -> ``fraud``; registry-level targets have none."""
    if "/" not in target or target.startswith("webhook:"):
        return None
    rest = target.split("/", 1)[1]
    for sep in ("@", ":"):
        rest = rest.split(sep, 1)[0]
    return rest or None


def payload(event: dict[str, Any] | None, webhook: dict[str, Any], delivery_id: str, now: datetime) -> dict[str, Any]:
    """The JSON body of a delivery (``event`` None: a ping). docs/webhooks.md documents it."""
    if event is None:
        return {
            "event": matching.PING,
            "event_id": 0,
            "delivery_id": delivery_id,
            "webhook": webhook["name"],
            "registry": webhook["registry"],
            "collection": webhook.get("collection"),
            "target": f"webhook:{webhook['registry']}/{webhook['name']}",
            "actor": None,
            "actor_kind": None,
            "time": now.isoformat(),
            "before": None,
            "after": {"events": list(webhook["events"])},
        }
    return {
        "event": event["action"],
        "event_id": event["id"],
        "delivery_id": delivery_id,
        "webhook": webhook["name"],
        "registry": event["registry"],
        "collection": collection_of(event["target"]),
        "target": event["target"],
        "actor": event["actor"],
        "actor_kind": event["actor_kind"],
        "time": event["created_at"].isoformat(),
        "before": event["before"],
        "after": event["after"],
    }


@dataclass
class Outcome:
    ok: bool
    response_code: int | None
    latency_ms: float
    error: str


class DeliveryWorker:
    """Delivers webhooks from the event log. Safe to run in any number of processes at once."""

    def __init__(
        self,
        db: Database,
        *,
        box: SecretBox,
        allow_private: bool = False,
        timeout: float = 5.0,
        max_attempts: int = 8,
        retry_base: float = 2.0,
        retry_max: float = 600.0,
        disable_after: int = 5,
        poll_seconds: float = 0.25,
        concurrency: int = 8,
        batch: int = 64,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._box = box
        self._clock = clock
        self.max_attempts = max(1, max_attempts)
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.disable_after = max(1, disable_after)
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease = timedelta(seconds=timeout * 2 + 30)
        self._http = guarded_client(allow_private=allow_private, timeout=timeout, max_connections=concurrency * 2)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="modelyard-webhook")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_retry: float | None = None  # monotonic time of the earliest retry this process scheduled

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="modelyard-webhook-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the loop, wait for in-flight sends, close connections."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=True)
        self._http.close()

    def wake(self) -> None:
        """Skip the idle wait (after a change this process made)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the loop must survive a database hiccup; the next round retries
                log.exception("webhook delivery round failed")
                busy = 0
            if not busy:
                timeout = self.poll_seconds
                if self._next_retry is not None:
                    timeout = max(0.0, min(timeout, self._next_retry - time.monotonic()))
                    self._next_retry = None
                self._wake.wait(timeout)
                self._wake.clear()

    # -- one round ----------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Fan out new events, then send one batch of due deliveries. Returns the work done."""
        return self.fan_out() + self.deliver_due()

    def fan_out(self) -> int:
        with self._db.unit_of_work(write=False) as store:
            head = store.event_head_id()  # type: ignore[attr-defined]
            behind = store.webhooks_behind(head)  # type: ignore[attr-defined]
        created = 0
        for wid in behind:
            now = self._clock()
            with self._db.unit_of_work(write=True) as store:
                wh = store.lock_webhook(wid)  # type: ignore[attr-defined]
                if wh is None or not wh["active"] or wh["cursor"] >= head:
                    continue
                full = store.find_webhook_by_id(wid)  # type: ignore[attr-defined]
                events = store.scoped_events(  # type: ignore[attr-defined]
                    registry_id=full["registry_id"],
                    collection_id=wh["collection_id"],
                    after_id=wh["cursor"],
                    upto_id=head,
                    limit=FANOUT_BATCH,
                )
                flt = wh["filter"] or {}
                rows = [
                    {
                        "webhook_id": wid,
                        "event_id": e["id"],
                        "delivery_id": new_delivery_id(),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "error": "",
                        "order_key": order_key(wid, e["collection_id"]),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for e in events
                    if matching.event_matches(
                        wh["events"], flt, action=e["action"], target=e["target"], before=e["before"], after=e["after"]
                    )
                ]
                store.insert_deliveries(rows)  # type: ignore[attr-defined]
                cursor = events[-1]["id"] if len(events) == FANOUT_BATCH else head
                store.set_webhook_cursor(wid, cursor)  # type: ignore[attr-defined]
                created += len(rows) + (1 if len(events) == FANOUT_BATCH else 0)
        return created

    def deliver_due(self) -> int:
        now = self._clock()
        with self._db.unit_of_work(write=False) as store:
            if not store.has_due_work(now):  # type: ignore[attr-defined]
                return 0
        with self._db.unit_of_work(write=True) as store:
            claimed = store.claim_due_deliveries(now, lease_until=now + self.lease, limit=self.batch)  # type: ignore[attr-defined]
            if not claimed:
                return 0
            events = store.events_by_ids([d["event_id"] for d in claimed if d["event_id"]])  # type: ignore[attr-defined]
            hooks = {wid: store.find_webhook_by_id(wid) for wid in {d["webhook_id"] for d in claimed}}  # type: ignore[attr-defined]
        jobs = [(d, hooks[d["webhook_id"]], events.get(d["event_id"])) for d in claimed if hooks[d["webhook_id"]]]
        outcomes = list(self._pool.map(lambda job: self._send(*job), jobs))
        self._record(jobs, outcomes)
        return len(jobs)

    def _send(self, delivery: dict[str, Any], webhook: dict[str, Any], event: dict[str, Any] | None) -> Outcome:
        now = self._clock()
        if delivery["event_id"] and event is None:
            return Outcome(False, None, 0.0, f"event {delivery['event_id']} is no longer in the event log")
        body = json.dumps(
            payload(event, webhook, delivery["delivery_id"], now), separators=(",", ":"), default=str
        ).encode()
        ts = str(int(time.time()))
        headers = {
            EVENT_HEADER: event["action"] if event else matching.PING,
            DELIVERY_HEADER: delivery["delivery_id"],
            TIMESTAMP_HEADER: ts,
            "User-Agent": f"modelyard-webhooks/{__version__}",
        }
        start = time.perf_counter()
        try:
            if webhook["secret_ciphertext"]:
                headers[SIGNATURE_HEADER] = sign(self._box.decrypt(webhook["secret_ciphertext"]), ts, body)
            with self._http.stream("POST", webhook["url"], content=body, headers=headers) as r:
                head = b""
                for chunk in r.iter_bytes():
                    head += chunk
                    if len(head) >= 500:
                        break
                latency = (time.perf_counter() - start) * 1000
                if r.is_success:
                    return Outcome(True, r.status_code, latency, "")
                text = head[:300].decode("utf-8", "replace")
                return Outcome(False, r.status_code, latency, f"HTTP {r.status_code}: {text}".strip())
        except httpx.HTTPError as exc:
            return Outcome(False, None, (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}"[:500])
        except Exception as exc:  # a broken secret or anything unexpected must not kill the worker
            return Outcome(False, None, (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}"[:500])

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: base * 2^(n-1), capped, +-20%."""
        delay = min(self.retry_max, self.retry_base * (2 ** max(0, attempts - 1)))
        return float(delay * random.uniform(0.8, 1.2))

    def _record(self, jobs: list[tuple[dict[str, Any], dict[str, Any], Any]], outcomes: list[Outcome]) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            for (d, wh, _event), out in zip(jobs, outcomes, strict=True):
                fields: dict[str, Any] = {
                    "response_code": out.response_code,
                    "latency_ms": round(out.latency_ms, 2),
                    "error": out.error,
                }
                if out.ok:
                    store.update_delivery(d["id"], now=now, status="succeeded", next_attempt_at=None, **fields)  # type: ignore[attr-defined]
                    store.reset_webhook_failures(wh["id"])  # type: ignore[attr-defined]
                    continue
                if d["attempts"] < self.max_attempts:
                    delay = self.backoff(d["attempts"])
                    retry_at = now + timedelta(seconds=delay)
                    due = time.monotonic() + delay
                    self._next_retry = due if self._next_retry is None else min(self._next_retry, due)
                    store.update_delivery(d["id"], now=now, next_attempt_at=retry_at, **fields)  # type: ignore[attr-defined]
                    continue
                store.update_delivery(d["id"], now=now, status="failed", next_attempt_at=None, **fields)  # type: ignore[attr-defined]
                if not d["event_id"]:
                    continue  # a failed ping says the receiver is down; it does not count towards disabling
                failures = store.bump_webhook_failures(wh["id"])  # type: ignore[attr-defined]
                if failures >= self.disable_after:
                    self._disable(store, wh, failures, out.error, now)

    def _disable(self, store: Any, wh: dict[str, Any], failures: int, error: str, now: datetime) -> None:
        current = store.find_webhook_by_id(wh["id"])
        if current is None or not current["active"]:
            return
        reason = f"disabled after {failures} consecutive failed deliveries; last error: {error}"[:1000]
        store.update_webhook(wh["id"], now=now, active=False, disabled_reason=reason)
        store.append_event(
            now=now,
            actor="system",
            actor_kind="system",
            token_name="",
            action=ev.WEBHOOK_DISABLED,
            target=f"webhook:{wh['registry']}/{wh['name']}",
            registry=wh["registry"],
            collection_id=None,
            before={"active": True},
            after={"active": False, "reason": reason},
            request_id="",
            client_address="",
        )
        log.warning("webhook %s/%s %s", wh["registry"], wh["name"], reason)
