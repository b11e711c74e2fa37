"""Real server processes for the integration tier: ``modelyard serve`` in a subprocess.

Every test here runs against SQLite (a file in the data dir) and PostgreSQL (a fresh,
uniquely named database on the local server, dropped afterwards). The server is a real
process, so tests can SIGKILL it and restart it on the same data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

PG_SERVER = os.environ.get("MODELYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
STARTUP_TIMEOUT = 30.0
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is ``integration`` and ``slow`` (still run by plain pytest)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.slow)


def modelyard_command() -> list[str]:
    exe = shutil.which("modelyard")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from modelyard.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a server or ops command: no inherited MODELYARD_* settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"  # the access log reaches the log file as requests happen
    if database_url:
        env["MODELYARD_DATABASE_URL"] = database_url
    env.update(extra)
    return env


@dataclass
class Server:
    """One ``modelyard serve`` process on a fixed port and data dir; can be killed and restarted."""

    data_dir: Path
    database_url: str | None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"server-{self.port}.log"

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.data_dir, self.database_url, **{**self.extra_env, **extra})

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a ``modelyard`` command against this server's data (ops) or URL (client commands)."""
        result = subprocess.run(
            [*modelyard_command(), *args],
            env=self.env(MODELYARD_URL=self.url),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"modelyard {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to become healthy."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [*modelyard_command(), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1
        return self.proc

    def start(self) -> Server:
        proc = self.spawn()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited {proc.returncode} on start:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/api/v1/health", timeout=2)
                if r.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not healthy after {STARTUP_TIMEOUT}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no cleanup."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    """None for SQLite (the server's default file in its data dir); a fresh PostgreSQL database otherwise."""
    if backend == "sqlite":
        yield None
        return
    name = f"modelyard_it_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}".replace("postgresql+psycopg://", "postgresql://")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(backend: str) -> Iterator[str | None]:
    """This test's own database (SQLite file or PostgreSQL database)."""
    with _database(backend) as url:
        yield url


@pytest.fixture
def make_server(tmp_path: Path, database_url: str | None) -> Iterator[Callable[..., Server]]:
    """Build (not start) servers on this test's database; every one is stopped at teardown."""
    made: list[Server] = []

    def factory(**extra_env: str) -> Server:
        srv = Server(tmp_path / f"data{len(made)}", database_url, extra_env=dict(extra_env))
        made.append(srv)
        return srv

    yield factory
    for srv in made:
        srv.stop()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    """A running server of this test's own, on this test's backend (for tests that kill or restart it)."""
    return make_server().start()


@pytest.fixture(scope="session", params=BACKENDS)
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend shared by the tests that only talk HTTP; they isolate by registry."""
    with _database(str(request.param)) as url:
        srv = Server(tmp_path_factory.mktemp(f"shared-{request.param}") / "data", url).start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture
def registry(shared_server: Server) -> str:
    """A fresh registry on the shared server: this test's own namespace, events and search results."""
    name = f"it-{secrets.token_hex(4)}"
    r = httpx.post(f"{shared_server.url}/api/v1/registries", json={"name": name, "artifact_types": ["model"]})
    assert r.status_code == 201, r.text
    return name


def sqlalchemy_url(srv: Server) -> str:
    """The URL to open the server's metadata database directly (schema tests only)."""
    if srv.database_url:
        return srv.database_url.replace("postgresql://", "postgresql+psycopg://")
    return f"sqlite:///{(srv.data_dir / 'modelyard.db').resolve()}"
