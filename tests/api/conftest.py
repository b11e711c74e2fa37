"""Helpers for the /api/v1 suites: the ``api`` helper fixture and route-coverage bookkeeping.

``@pytest.mark.covers("GET /api/v1/health", ...)`` claims that a test exercises a route.
The claim is checked when the test runs (the app records the route template of every
request), and ``test_route_coverage.py`` checks that every route in the OpenAPI document
is claimed by some test. Together: every route has at least one test that really hits it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, text

from modelyard.bootstrap import Services
from modelyard.storage.sql.schema import head_revision

ROUTES_HIT: set[str] = set()
_TABLES: dict[tuple[str, str], list[str]] = {}  # table names per (dialect, schema head): the schema is fixed per run
_CONVERTER = re.compile(r"\{(\w+):\w+\}")  # "{key:path}" -> "{key}", as in the OpenAPI document


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "covers(*routes): the test exercises these 'METHOD /path' routes")


class RouteRecorder:
    """Pure ASGI middleware: remembers the route template each request was dispatched to."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            if scope["type"] == "http" and route is not None:
                template = _CONVERTER.sub(r"{\1}", route.path)
                ROUTES_HIT.add(f"{scope['method']} {template}")


@pytest.fixture
def app(services: Services):  # type: ignore[no-untyped-def]
    from modelyard.api.app import create_app

    application = create_app(services=services)
    application.add_middleware(RouteRecorder)
    return application


@pytest.fixture(autouse=True)
def _claimed_routes_are_hit(request: pytest.FixtureRequest) -> Iterator[None]:
    ROUTES_HIT.clear()
    yield
    claimed = {r for m in request.node.iter_markers("covers") for r in m.args}
    missing = claimed - ROUTES_HIT
    assert not missing, f"{request.node.nodeid} claims to cover {sorted(missing)} but never requested them"


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class Api:
    """Small conveniences over the ``http`` TestClient; every call goes through HTTP."""

    def __init__(self, http: Any, services: Services) -> None:
        self.http = http
        self.services = services

    # -- errors ----------------------------------------------------------------------------------

    @staticmethod
    def error(response: Any, status: int, code: str, reason: str) -> dict[str, Any]:
        """Assert the one JSON error shape, the status, the code and the reason; return details."""
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"code", "message", "details"}, body
        assert body["code"] == code, body
        assert isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["details"], dict), body
        assert body["details"]["reason"] == reason, body
        assert body["details"]["request_id"] == response.headers["X-Request-ID"]
        return body["details"]  # type: ignore[no-any-return]

    # -- state -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every row of every table plus the blob store's blobs and uploads: to prove nothing changed."""
        out: dict[str, Any] = {}
        engine = self.services.db.engine
        key = (engine.dialect.name, head_revision())
        if key not in _TABLES:
            _TABLES[key] = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version")
        names = _TABLES[key]
        with engine.connect() as conn:
            for name in names:
                rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
                out[name] = sorted(repr(tuple(r)) for r in rows)
        out["@blobs"] = sorted(str(b.digest) for b in self.services.blobs.iter_blobs())
        out["@uploads"] = sorted(u for u, _ in self.services.blobs.iter_uploads())
        return out

    def events(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            q = dict(params, page_size=1000)
            if token:
                q["page_token"] = token
            r = self.http.get("/api/v1/events", params=q)
            assert r.status_code == 200, r.text
            body = r.json()
            items.extend(body["items"])
            token = body["next_page_token"]
            if not token:
                return items

    # -- building blocks -----------------------------------------------------------------------

    def upload(self, data: bytes, *, registry: str = "models") -> str:
        digest = sha(data)
        r = self.http.post(f"/api/v1/registries/{registry}/uploads", json={"digest": digest, "size": len(data)})
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
        if data:
            r = self.http.patch(f"/api/v1/uploads/{uid}", content=data, headers={"Upload-Offset": "0"})
            assert r.status_code == 200, r.text
        r = self.http.post(f"/api/v1/uploads/{uid}/commit")
        assert r.status_code == 200, r.text
        return digest

    def version(
        self, registry: str, collection: str, files: dict[str, bytes] | None = None, **body: Any
    ) -> dict[str, Any]:
        files = {"model.bin": b"weights-" + collection.encode()} if files is None else files
        specs = []
        for path, data in files.items():
            specs.append({"path": path, "digest": self.upload(data, registry=registry), "size": len(data)})
        url = f"/api/v1/registries/{registry}/collections/{collection}/versions"
        r = self.http.post(url, json={"files": specs, **body})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def collection(self, registry: str, name: str, **body: Any) -> dict[str, Any]:
        r = self.http.post(f"/api/v1/registries/{registry}/collections", json={"name": name, **body})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def registry(self, name: str, **body: Any) -> dict[str, Any]:
        r = self.http.post("/api/v1/registries", json={"name": name, **body})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(http: Any, services: Services) -> Api:
    return Api(http, services)
