"""One JSON error shape for every failure, including ones no route raises itself."""

from __future__ import annotations

import pytest


def test_unknown_endpoint(http, api) -> None:
    api.error(http.get("/api/v1/nothing-here"), 404, "NOT_FOUND", "not_found")


def test_method_not_allowed(http, api) -> None:
    api.error(http.post("/api/v1/health"), 405, "METHOD_NOT_ALLOWED", "method_not_allowed")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b'{"name": "x"}', "text/plain"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_unparseable_bodies(http, api, content, content_type) -> None:
    before = api.snapshot()
    r = http.post("/api/v1/registries", content=content, headers={"content-type": content_type})
    api.error(r, 400, "INVALID_ARGUMENT", "invalid_request")
    assert api.snapshot() == before


def test_unexpected_errors_are_500_with_a_request_id_and_no_internals(http, api, services, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services.registry, "list_registries", explode)
    r = http.get("/api/v1/registries", headers={"X-Request-ID": "trace-me"})
    details = api.error(r, 500, "INTERNAL", "internal")
    assert "secret" not in r.text and "trace-me" in r.json()["message"] and details["request_id"] == "trace-me"
