"""Shared fixtures: every service and API test runs against SQLite and PostgreSQL.

PostgreSQL: a real server (``MODELYARD_TEST_PG``, default ``postgresql://postgres@127.0.0.1:5432``).
Each xdist worker creates its own database once, migrates it with Alembic once, and
truncates every table before each test; the database is dropped at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from modelyard.bootstrap import Services, build_registry
from modelyard.settings import BlobSettings, Settings
from modelyard.storage.sql import schema
from modelyard.storage.sql.tables import metadata

# Property tests: no per-example deadline (a loaded 2-core CI box is slow, and speed is bench/'s
# job), and a fixed seed unless HYPOTHESIS_PROFILE=explore asks for fresh random examples, so a
# run is reproducible.
hypothesis_settings.register_profile("default", deadline=None, derandomize=True)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_SERVER = os.environ.get("MODELYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this worker, migrated to head; dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"modelyard_test_{worker}_{secrets.token_hex(4)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    engine = create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    """Empty every table and restart every sequence (DELETE is ~10x faster than TRUNCATE on tiny tables)."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per worker; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "modelyard.db"
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "postgresql":
        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
    else:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "modelyard.db")
        url = f"sqlite:///{tmp_path / 'modelyard.db'}"
    return Settings(data_dir=tmp_path, database_url=url, blobs=BlobSettings(root=tmp_path / "blobs"))


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = build_registry(settings)
    yield svc
    svc.close()


@pytest.fixture
def app(services: Services):  # type: ignore[no-untyped-def]
    from modelyard.api.app import create_app

    return create_app(services=services)


@pytest.fixture
def http(app):  # type: ignore[no-untyped-def]
    """A sync HTTP client driving the ASGI app in-process (no sockets)."""
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    with client:
        yield client


@pytest.fixture
def sdk(http):  # type: ignore[no-untyped-def]
    """The SDK Client over the in-process app."""
    from modelyard import Client

    client = Client("http://testserver", transport=http._transport)
    yield client
    client.close()
