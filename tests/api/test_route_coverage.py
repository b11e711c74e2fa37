"""Promise keeping: every registry-core route of /api/v1 has at least one test that really requests it.

Tests claim routes with ``@pytest.mark.covers("METHOD /path")``; ``conftest.py`` fails a test
whose claimed routes it never requested. Here we check the claims, read statically from the
test modules of this folder, against the app's OpenAPI document.
"""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent
CORE_TAGS = {"registries", "versions", "files", "health"}
CORE_EXTRA = {"GET /api/v1/events"}  # the event log is part of the registry core's promise (one event per change)


def _claims() -> set[str]:
    claimed: set[str] = set()
    for module in HERE.glob("test_*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "covers"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "mark"
            ):
                claimed.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return claimed


def _routes(app) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """'METHOD /path' -> its OpenAPI tags."""
    out: dict[str, set[str]] = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            out[f"{method.upper()} {path}"] = set(operation.get("tags", []))
    return out


def test_every_registry_core_route_has_a_test(app) -> None:
    routes = _routes(app)
    core = {r for r, tags in routes.items() if tags & CORE_TAGS} | CORE_EXTRA
    assert len(core) >= 36  # guards against the tag names changing under us
    assert sorted(core - _claims()) == []


def test_every_claimed_route_exists(app) -> None:
    assert sorted(_claims() - set(_routes(app))) == []
