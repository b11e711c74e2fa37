"""Fixtures for lifecycle tests: a real HTTP server (uvicorn in a thread, or separate processes),
a real webhook receiver (``http.server`` on 127.0.0.1), and helpers to wait for outcomes.

Webhook tests must reach a receiver on 127.0.0.1, so they turn on
``webhook_allow_private_targets`` explicitly; the SSRF tests check the default refuses it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from modelyard import Client
from modelyard.bootstrap import Services, build_registry
from modelyard.events.crypto import generate_key
from modelyard.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
SECRET_KEY = generate_key()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


# -- the webhook receiver -------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """A real HTTP endpoint. ``respond`` decides each status from the attempt's payload."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    respond: Callable[[dict[str, Any], int], int] = lambda payload, n: 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def events(self) -> list[str]:
        return [r.json["event"] for r in self.ok()]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                n = len(rec.requests)
            if rec.delay:
                time.sleep(rec.delay)
            try:
                status = rec.respond(json.loads(body), n)
            except Exception:  # a broken test callback is a 500, visible in the delivery log
                status = 500
            with rec.lock:
                rec.requests.append(Received(dict(self.headers.items()), body, time.monotonic(), status))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield rec
    server.shutdown()
    server.server_close()


# -- a real server in this process ---------------------------------------------------------------------


FAST_WEBHOOKS = {
    "webhook_allow_private_targets": True,
    "webhook_secret_key": SecretStr(SECRET_KEY),
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_seconds": 0.5,
    "webhook_timeout_seconds": 2.0,
    "watch_poll_seconds": 0.05,
}


@dataclass
class Live:
    url: str
    services: Services
    client: Client


class UvicornThread:
    """uvicorn serving ``app`` on a free port in a background thread (lifespan on: the worker runs)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=20)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture
def make_live(settings: Settings) -> Iterator[Callable[..., Live]]:
    """Start a live server on this test's database with extra settings (once per test)."""
    started: list[tuple[UvicornThread, Live]] = []

    def factory(**overrides: Any) -> Live:
        from modelyard.api.app import create_app

        svc = build_registry(settings.model_copy(update={**FAST_WEBHOOKS, **overrides}))
        runner = UvicornThread(create_app(services=svc))
        url = runner.__enter__()
        live = Live(url, svc, Client(url, timeout=30))
        started.append((runner, live))
        return live

    yield factory
    for runner, live in reversed(started):
        live.client.close()
        runner.__exit__(None, None, None)
        live.services.close()


@pytest.fixture
def live(make_live: Callable[..., Live]) -> Live:
    return make_live()


# -- real server processes ----------------------------------------------------------------------------


@dataclass
class Process:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_process(database_url: str, data_dir: Path, **env: str) -> Process:
    """``uvicorn --factory modelyard.api.app:app_from_env`` as a separate OS process."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    full_env.update(
        {
            "PYTHONPATH": str(SRC),
            "MODELYARD_DATA_DIR": str(data_dir),
            "MODELYARD_DATABASE_URL": database_url,
            "MODELYARD_BLOBS__ROOT": str(data_dir.parent / "shared-blobs"),
            "MODELYARD_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "MODELYARD_WEBHOOK_SECRET_KEY": SECRET_KEY,
            "MODELYARD_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
            "MODELYARD_WATCH_POLL_SECONDS": "0.05",
            **env,
        }
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "modelyard.api.app:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "2",
            ],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return Process(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-3000:]}")


def push_version(
    client: Client, tmp: Path, path: str, content: dict[str, Any], aliases: list[str] | None = None
) -> int:
    """Push a one-file version (``model.json``) and return its number."""
    folder = tmp / f"v-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps(content))
    return client.push(folder, path, aliases=aliases or []).number
