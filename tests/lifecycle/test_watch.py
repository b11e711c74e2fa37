"""Watch streams: current version first, then every change; resume with Last-Event-ID; several
server processes on one database."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelyard import Client, InvalidArgumentError, NotFoundError
from modelyard.schemas.automations import WatchEvent

from .conftest import Live, Receiver, push_version, start_process, wait_until


class Watcher:
    """Consumes ``client.watch`` in a thread into a queue (so tests can time out)."""

    def __init__(self, url: str, target: str, last_event_id: int | None = None) -> None:
        self.client = Client(url)
        self.queue: queue.Queue[WatchEvent] = queue.Queue()
        self.error: Exception | None = None
        self._stream = self.client.watch(target, last_event_id=last_event_id)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for change in self._stream:
                self.queue.put(change)
        except Exception as exc:  # the client closed under it at the end of the test, or a real error
            self.error = exc

    def next(self, timeout: float = 15.0) -> WatchEvent:
        return self.queue.get(timeout=timeout)

    def close(self) -> None:
        self.client.close()
        self.thread.join(10)


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    made: list[Watcher] = []
    yield made
    for w in made:
        w.close()


def test_current_version_then_every_change(live: Live, tmp_path: Path, watchers: list[Watcher]) -> None:
    v1 = push_version(live.client, tmp_path, "models/fraud", {"w": 1}, aliases=["production"])
    v2 = push_version(live.client, tmp_path, "models/fraud", {"w": 2})
    w = Watcher(live.url, "models/fraud@production")
    watchers.append(w)
    current = w.next()
    assert (current.event, current.version, current.target) == ("current", v1, "models/fraud@production")
    live.client.set_alias("models/fraud", "staging", v2)  # another alias: not in this stream
    live.client.set_alias("models/fraud", "production", v2)
    moved = w.next()
    assert (moved.event, moved.version, moved.previous_version, moved.actor) == ("alias.set", v2, v1, "local")
    assert moved.event_id > current.event_id
    live.client.unset_alias("models/fraud", "production")
    removed = w.next()
    assert (removed.event, removed.version, removed.previous_version) == ("alias.unset", None, v2)
    assert w.queue.empty()


def test_resume_with_last_event_id_loses_nothing(live: Live, tmp_path: Path, watchers: list[Watcher]) -> None:
    v1 = push_version(live.client, tmp_path, "models/resume", {"w": 1}, aliases=["production"])
    v2 = push_version(live.client, tmp_path, "models/resume", {"w": 2})
    v3 = push_version(live.client, tmp_path, "models/resume", {"w": 3})
    first = Watcher(live.url, "models/resume@production")
    assert first.next().version == v1
    live.client.set_alias("models/resume", "production", v2)
    seen = first.next()
    first.close()  # the serving process goes away ...
    live.client.set_alias("models/resume", "production", v3)  # ... and misses these
    live.client.set_alias("models/resume", "production", v1)
    again = Watcher(live.url, "models/resume@production", last_event_id=seen.event_id)
    watchers.append(again)
    replayed = [again.next(), again.next()]
    assert [(c.event, c.version) for c in replayed] == [("alias.set", v3), ("alias.set", v1)]
    assert replayed[0].event_id > seen.event_id
    with pytest.raises(queue.Empty):
        again.next(timeout=0.5)  # no 'current', no duplicates


def test_raw_sse_wire_format(live: Live, tmp_path: Path) -> None:
    push_version(live.client, tmp_path, "models/wire", {"w": 1}, aliases=["production"])
    with httpx.stream("GET", f"{live.url}/api/v1/watch", params={"target": "models/wire@production"}, timeout=10) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert lines[0] == "retry: 1000" and lines[2].startswith("id: ") and lines[3] == "event: current"
    assert '"version":1' in lines[4]


def test_latest_and_collection_targets(live: Live, tmp_path: Path, watchers: list[Watcher]) -> None:
    v1 = push_version(live.client, tmp_path, "models/lat", {"w": 1})
    latest = Watcher(live.url, "models/lat:latest")
    everything = Watcher(live.url, "models/lat")
    watchers.extend([latest, everything])
    assert latest.next().version == v1 and everything.next().event == "current"
    v2 = push_version(live.client, tmp_path, "models/lat", {"w": 2})
    assert (latest.next().event,) == ("version.created",)
    live.client.delete_version(f"models/lat:{v2}")
    deleted = latest.next()
    assert (deleted.event, deleted.version, deleted.previous_version) == ("version.deleted", v1, v2)
    assert [everything.next().event for _ in range(2)] == ["version.created", "version.deleted"]


def test_watch_errors_are_raised_not_retried(live: Live, tmp_path: Path) -> None:
    push_version(live.client, tmp_path, "models/err", {"w": 1})
    with pytest.raises(NotFoundError):
        next(live.client.watch("models/nope@production"))
    with pytest.raises(InvalidArgumentError, match="never changes"):
        next(live.client.watch("models/err:1"))
    r = httpx.get(f"{live.url}/api/v1/watch", params={"target": "models/err@x"}, headers={"Last-Event-ID": "abc"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_ARGUMENT"


# -- several server processes on one database --------------------------------------------------------------


@pytest.fixture
def shared_database(backend: str, settings, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """This test's database (tests/conftest.py made it) as a URL two server processes can share."""
    return settings.resolved_database_url()


def test_two_server_processes_share_changes(
    shared_database: str, tmp_path: Path, receiver: Receiver, watchers: list[Watcher]
) -> None:
    a = start_process(shared_database, tmp_path / "a")
    b = start_process(shared_database, tmp_path / "b")
    try:
        ca, cb = Client(a.url), Client(b.url)
        v1 = push_version(ca, tmp_path, "models/multi", {"w": 1}, aliases=["production"])
        v2 = push_version(ca, tmp_path, "models/multi", {"w": 2})
        w = Watcher(b.url, "models/multi@production")  # watcher on B ...
        watchers.append(w)
        assert w.next().version == v1
        ca.set_alias("models/multi", "production", v2)  # ... change through A
        assert w.next().version == v2
        # both processes run a delivery worker: every event is delivered once, in order
        cb.create_webhook("models", "multi", receiver.url, events=["alias.set"], collection="multi")
        for i in range(30):
            (ca if i % 2 else cb).set_alias("models/multi", "production", v2 if i % 2 else v1)  # each one a move
        wait_until(lambda: len(receiver.ok()) >= 30, timeout=30)
        ids = [r.json["event_id"] for r in receiver.ok()]
        assert ids == sorted(ids) and len(set(ids)) == 30
        assert len({r.headers["X-Modelyard-Delivery"] for r in receiver.requests}) == len(receiver.requests)
        ca.close()
        cb.close()
    finally:
        a.stop()
        b.stop()
