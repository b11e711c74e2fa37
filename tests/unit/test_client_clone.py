"""``Client._clone()`` (the second client a ``ModelHandle`` watches through) keeps the caller's transport."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from modelyard import Client
from modelyard.serving import ModelHandle

_HEALTH = {"status": "ok", "version": "0", "database": "ok"}
_DENIED = {"code": "PERMISSION_DENIED", "message": "no", "details": {"reason": "permission_denied"}}


class _CountingTransport(httpx.MockTransport):
    def __init__(self, handler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(handler)
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_model_handle_watches_through_the_callers_transport(tmp_path: Path) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.append(request.url.path)
        return httpx.Response(403, json=_DENIED)

    client = Client("http://modelyard.invalid", token="t", transport=httpx.MockTransport(handler))
    handle = ModelHandle(client, "models/c@prod", cache_dir=tmp_path, retry_seconds=0.05)
    handle.start(timeout=None)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "/api/v1/watch" not in seen:
            time.sleep(0.02)
    finally:
        handle.close()
    assert "/api/v1/watch" in seen, f"the watch did not go through the caller's transport: {handle.last_error}"


def test_a_clone_sends_the_same_token_through_the_same_transport() -> None:
    auth: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth.append(request.headers.get("authorization"))
        return httpx.Response(200, json=_HEALTH)

    with Client("http://modelyard.invalid", token="secret-t", transport=httpx.MockTransport(handler)) as client:
        with client._clone() as clone, clone._clone() as clone_of_clone:
            clone.health()
            clone_of_clone.health()
    assert auth == ["Bearer secret-t", "Bearer secret-t"]


def test_closing_a_clone_leaves_the_callers_transport_open() -> None:
    transport = _CountingTransport(lambda request: httpx.Response(200, json=_HEALTH))
    client = Client("http://modelyard.invalid", token="", transport=transport)
    client._clone().close()
    assert transport.closed == 0
    client.health()  # the caller's client still works
    client.close()
    assert transport.closed == 1
