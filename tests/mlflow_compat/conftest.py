"""A real modelyard server process per backend (SQLite, PostgreSQL), driven by the real ``mlflow``
client. One server per backend per session; tests use unique model and experiment names.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

PG_ADMIN = os.environ.get("MODELYARD_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SRC = Path(__file__).resolve().parents[2] / "src"

# mlflow warns about deprecated stages, pip inference and friends; these are mlflow's, not ours.
MLFLOW_WARNINGS = [
    "ignore::FutureWarning",
    "ignore::DeprecationWarning",
    "ignore::UserWarning",
    "ignore::PendingDeprecationWarning",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            for spec in MLFLOW_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


@dataclass
class Server:
    backend: str
    url: str
    data_dir: Path

    def name(self, prefix: str = "m") -> str:
        return f"{prefix}-{secrets.token_hex(4)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed with the process
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
        ],
        env={**os.environ, "PYTHONPATH": str(SRC), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/3.0/mlflow/server-info", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"modelyard-{backend}")
    # file: sources are refused unless under an allowed root; the tests' own tmp folders are.
    roots = json.dumps([str(tmp_path_factory.getbasetemp())])
    env = {
        "MODELYARD_DATA_DIR": str(data_dir),
        "MODELYARD_MLFLOW_FILE_SOURCE_ROOTS": roots,
        # the webhook tests' receiver listens on 127.0.0.1
        "MODELYARD_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }
    db_name = f"modelyard_mlflow_{secrets.token_hex(6)}"
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["MODELYARD_DATABASE_URL"] = f"{PG_ADMIN.rsplit('/', 1)[0]}/{db_name}"
    proc, url = _start(env, data_dir)
    try:
        yield Server(backend, url, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if backend == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture
def uri(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the MLflow client at the server (and nothing else) for one test."""
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    # The client remembers the active experiment id across servers; start each test in its own.
    mlflow.set_experiment(server.name("experiment"))
    yield server.url
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` (SQLite backend, local artifact root) on a free port: the oracle that
    side-by-side tests compare modelyard with, and for behaviour the MLflow client alone does not
    pin down. Slow to start (it migrates its database), so one per session (tests use unique
    names) and only for the tests that ask for it."""
    data_dir = tmp_path_factory.mktemp("mlflow-oracle")
    port = _free_port()
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{data_dir / 'mlflow.db'}",
            # a local artifact root, not --artifacts-destination: with proxied artifacts this mlflow
            # server cannot serve its own /model-versions/get-artifact (it resolves mlflow-artifacts:
            # URIs against its sqlite tracking URI and answers 500)
            "--default-artifact-root",
            str(data_dir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,  # its proxied uploads (./mlartifacts) land in the tmp folder, not the checkout
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(data_dir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start in 300 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
