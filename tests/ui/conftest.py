"""Fixtures for the UI suites: an auth-on app over the UI world (``ui_world.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ui_world import UiWorld, build_ui_world

from modelyard.bootstrap import Services, build_registry
from modelyard.settings import Settings


@pytest.fixture
def ui_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth": "on"})


@pytest.fixture
def ui_services(ui_settings: Settings) -> Iterator[Services]:
    svc = build_registry(ui_settings)
    yield svc
    svc.close()


@pytest.fixture
def world(ui_services: Services) -> UiWorld:
    return build_ui_world(ui_services)


@pytest.fixture
def client(ui_services: Services, world: UiWorld):  # type: ignore[no-untyped-def]
    """A sync client over the auth-on app, in process (no sockets)."""
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app

    with TestClient(create_app(services=ui_services), raise_server_exceptions=False) as c:
        yield c
