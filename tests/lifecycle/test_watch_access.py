"""Watch streams are re-authorized while they run (issue 8, item 4): once the token is revoked,
the account disabled, the grant removed or read access lost otherwise, the stream delivers
nothing more and ends with one ``event: error`` message, whether a change is pending or not.

A real uvicorn server (auth on) and a real HTTP client read the raw SSE text.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from modelyard import Client, UnauthenticatedError
from modelyard.bootstrap import Services
from modelyard.domain.actor import SYSTEM
from modelyard.domain.digest import Digest
from modelyard.domain.models import FileEntry

from .conftest import Live

DATA = b"watched-weights"
DIGEST = f"sha256:{hashlib.sha256(DATA).hexdigest()}"
REAUTH = 0.3  # seconds between the re-checks of an idle stream in these tests
END = {"event": "<end>"}


def _put_blob(services: Services) -> None:
    sid = "seed-" + DIGEST[7:23]
    services.blobs.begin_upload(sid)
    services.blobs.write_chunk(sid, 0, iter([DATA]))
    services.blobs.commit(sid, expected_digest=Digest.parse(DIGEST), expected_size=len(DATA))


class Stream:
    """Reads one watch stream's SSE messages into a queue in a thread; ``END`` when it closes."""

    def __init__(self, url: str, token: str, target: str) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, read=30.0))
        self._args = {"params": {"target": target}, "headers": {"Authorization": f"Bearer {token}"}}
        self.status = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/watch", **self._args) as r:  # type: ignore[arg-type]
                self.status = r.status_code
                msg: dict[str, Any] = {}
                for line in r.iter_lines():
                    if line == "":
                        if "event" in msg:
                            self.messages.put(msg)
                        msg = {}
                    elif line.startswith(("event: ", "id: ", "data: ")):
                        key, _, value = line.partition(": ")
                        msg[key] = json.loads(value) if key == "data" else value
        except httpx.HTTPError:
            pass  # closed by the test
        self.messages.put(END)

    def next(self, timeout: float = 15.0) -> dict[str, Any]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self._client.close()
        self._thread.join(10)


@pytest.fixture
def world(make_live: Callable[..., Live]) -> Iterator[tuple[Live, str, list[Stream]]]:
    """An auth-on live server; ``alice`` (token returned) is a viewer of restricted ``sec`` and,
    like everyone, of organization ``pub``; both hold ``c`` with versions 1 and 2, production -> 1."""
    live = make_live(auth="on", watch_reauth_seconds=REAUTH)
    svc = live.services
    svc.identity.create_principal(SYSTEM, "root", org_admin=True)  # the first token must be an org admin's
    svc.identity.create_token(SYSTEM, name="admin", principal="root")
    svc.identity.create_principal(SYSTEM, "alice")
    token = svc.identity.create_token(SYSTEM, name="laptop", principal="alice").secret
    _put_blob(svc)
    files = [FileEntry("model.bin", DIGEST, len(DATA))]
    for name, visibility in (("sec", "restricted"), ("pub", "organization")):
        svc.registry.create_registry(SYSTEM, name, visibility=visibility)
        svc.registry.create_version(SYSTEM, name, "c", files=files, aliases=["production"])
        svc.registry.create_version(SYSTEM, name, "c", files=files)
    svc.identity.grant(SYSTEM, "sec", subject_kind="user", subject="alice", role="viewer")
    streams: list[Stream] = []
    yield live, token, streams
    for s in streams:
        s.close()


def _revoke_token(svc: Services, registry: str) -> None:
    (info,) = svc.identity.list_tokens(SYSTEM, principal="alice")
    svc.identity.revoke_token(SYSTEM, info.id)


def _disable_account(svc: Services, registry: str) -> None:
    svc.identity.update_principal(SYSTEM, "alice", disabled=True)


def _remove_grant(svc: Services, registry: str) -> None:
    svc.identity.revoke_grant(SYSTEM, registry, subject_kind="user", subject="alice")


def _restrict_registry(svc: Services, registry: str) -> None:
    svc.registry.update_registry(SYSTEM, registry, visibility="restricted")  # alice holds no grant on pub


# (how access is lost, the registry watched, the error the stream ends with)
LOSSES = [
    pytest.param(_revoke_token, "sec", "UNAUTHENTICATED", id="token-revoked"),
    pytest.param(_disable_account, "sec", "UNAUTHENTICATED", id="account-disabled"),
    pytest.param(_remove_grant, "sec", "NOT_FOUND", id="grant-removed"),
    pytest.param(_restrict_registry, "pub", "NOT_FOUND", id="below-read"),
]


@pytest.mark.parametrize(("lose", "registry", "code"), LOSSES)
def test_a_change_after_access_is_lost_is_not_delivered_and_the_stream_ends(
    world: tuple[Live, str, list[Stream]], lose: Callable[[Services, str], None], registry: str, code: str
) -> None:
    live, token, streams = world
    svc = live.services
    s = Stream(live.url, token, f"{registry}/c@production")
    streams.append(s)
    assert s.next()["event"] == "current"
    svc.registry.set_alias(SYSTEM, registry, "c", "production", 2)
    assert s.next()["data"]["version"] == 2  # the stream is live
    lose(svc, registry)
    svc.registry.set_alias(SYSTEM, registry, "c", "production", 1)  # at once: before any idle re-check
    last = s.next()
    assert last["event"] == "error" and "id" not in last, last
    assert last["data"]["code"] == code
    if code == "NOT_FOUND":  # invisible now: exactly the answer for a registry that does not exist
        assert last["data"]["message"] == f"registry '{registry}' does not exist"
    assert s.next() is END


@pytest.mark.parametrize(("lose", "registry", "code"), LOSSES)
def test_an_idle_stream_ends_soon_after_access_is_lost(
    world: tuple[Live, str, list[Stream]], lose: Callable[[Services, str], None], registry: str, code: str
) -> None:
    live, token, streams = world
    s = Stream(live.url, token, f"{registry}/c:latest")
    streams.append(s)
    assert s.next()["event"] == "current"
    started = time.monotonic()
    lose(live.services, registry)
    last = s.next()
    assert last["event"] == "error" and last["data"]["code"] == code, last
    assert s.next() is END
    assert time.monotonic() - started < REAUTH + 5.0  # a re-check interval (plus a wait tick), not never


def test_a_stream_with_access_keeps_running_past_many_rechecks(world: tuple[Live, str, list[Stream]]) -> None:
    live, token, streams = world
    s = Stream(live.url, token, "sec/c@production")
    streams.append(s)
    assert s.next()["event"] == "current"
    with pytest.raises(queue.Empty):
        s.next(timeout=REAUTH * 5)  # several idle re-checks pass: nothing ends the stream
    live.services.registry.set_alias(SYSTEM, "sec", "c", "production", 2)
    assert s.next()["data"]["version"] == 2


def test_the_sdk_raises_when_the_server_ends_the_stream(world: tuple[Live, str, list[Stream]]) -> None:
    live, token, _ = world
    client = Client(live.url, token=token)
    outcome: queue.Queue[Any] = queue.Queue()

    def consume() -> None:
        try:
            for change in client.watch("sec/c@production"):
                outcome.put(change)
        except Exception as exc:  # what the caller of watch() sees
            outcome.put(exc)

    threading.Thread(target=consume, daemon=True).start()
    try:
        assert outcome.get(timeout=15).event == "current"
        _revoke_token(live.services, "sec")
        raised = outcome.get(timeout=10)  # keepalives would hold a stream that is never ended open for good
        assert isinstance(raised, UnauthenticatedError) and "revoked" in str(raised), raised
    finally:
        client.close()
