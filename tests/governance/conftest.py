"""Fixtures for the governance suite: an auth-on app and a cast of principals, one per role.

``world`` builds, through the services directly (no HTTP), two registries with the same
content — ``open`` (visibility ``organization``) and ``secret`` (``restricted``) — and these
principals, each with an API token:

==========  ================  ==============================================================
name        kind              holds (on both registries)
==========  ================  ==============================================================
root        user              org admin
radmin      user              ``admin``
member      user              ``member``
viewer      user              ``viewer``
rviewer     user              ``restricted_viewer``
outsider    user              nothing
teamuser    user              ``restricted_viewer`` directly, ``member`` through team ``ml``
ci          service_account   ``member``
bystander   user              nothing; the subject that membership routes act on
==========  ================  ==============================================================

Each registry holds collection ``c`` with versions 1 and 2 (file ``model.bin``), alias
``champion`` -> 1, collection and version tags ``k=v``, the alias policy ``guarded``, a
promotion policy on alias ``gate`` (20 approvals: requests stay open) and one on ``manual``
(no requirements, no auto-promote: requests wait for ``complete``), and one open request on
``gate`` for version 1 by ``system``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gov_world import World, build_world

from modelyard.bootstrap import build_registry
from modelyard.settings import BlobSettings, Settings


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for PostgreSQL too (``@pytest.mark.parametrize("backend", [...])``):
    a PostgreSQL world is built from scratch per test, which takes seconds."""
    return str(request.param)


@dataclass(frozen=True)
class WorldTemplate:
    """A SQLite world built once per worker: each test copies its database file and blob folder."""

    root: Path
    tokens: dict[str, str]
    open_requests: dict[str, int]


@pytest.fixture(scope="session")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> WorldTemplate:
    root = tmp_path_factory.mktemp("world")
    shutil.copyfile(sqlite_template, root / "modelyard.db")
    svc = build_registry(_settings_for(root, f"sqlite:///{root / 'modelyard.db'}"))
    try:
        w = build_world(svc, None)
    finally:
        svc.close()
    return WorldTemplate(root, dict(w.tokens), dict(w.open_requests))


def _settings_for(root: Path, url: str) -> Settings:
    return Settings(data_dir=root, database_url=url, blobs=BlobSettings(root=root / "blobs"), auth="on")


@pytest.fixture
def world(backend: str, settings: Settings, request: pytest.FixtureRequest) -> Iterator[World]:
    """The cast and content described above, behind an auth-on app.

    SQLite copies a world built once per worker (building one takes seconds); PostgreSQL
    builds it in the test's freshly emptied database.
    """
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app

    template: WorldTemplate | None = None
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_world")
        shutil.copyfile(template.root / "modelyard.db", settings.data_dir / "modelyard.db")
        shutil.copytree(template.root / "blobs", settings.data_dir / "blobs", dirs_exist_ok=True)
    # No delivery worker: it would write delivery rows during the "nothing changed" snapshots.
    svc = build_registry(settings.model_copy(update={"auth": "on", "webhook_delivery": False}))
    try:
        with TestClient(create_app(services=svc), raise_server_exceptions=False) as client:
            if template is None:
                w = build_world(svc, client)
            else:
                w = World(svc, client, dict(template.tokens), dict(template.open_requests))
                for secret in w.tokens.values():
                    svc.identity.authenticate(secret)  # writes last_used_at only if the template is old
            yield w
    finally:
        svc.close()
