"""The SDK turns every server error body back into the same error class (``httpx.MockTransport``)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from modelyard import Client
from modelyard import errors as e
from modelyard.api.errors import status_for


def _all_error_classes() -> list[type[e.ModelyardError]]:
    """The cases: every error class ``modelyard.errors`` exports, so the list does not depend on
    which server modules happened to be imported at collection time (an SDK-only install has only
    ``modelyard.errors`` to rebuild from)."""
    classes = [getattr(e, name) for name in e.__all__]
    return sorted(
        (c for c in classes if isinstance(c, type) and issubclass(c, e.ModelyardError) and c is not e.ModelyardError),
        key=lambda c: c.__name__,
    )


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_every_error_class_anywhere_is_defined_and_exported_by_modelyard_errors() -> None:
    """Import every module of the package (a fresh process), then walk ``ModelyardError``'s
    subclasses: each must live in ``modelyard.errors`` and be in its ``__all__``. A class defined
    in a server module could not be rebuilt by an SDK-only install."""
    code = """
import importlib, pkgutil, modelyard
from modelyard import errors as e
for m in pkgutil.walk_packages(modelyard.__path__, "modelyard."):
    if ".migrations" not in m.name:
        importlib.import_module(m.name)
todo, seen = [e.ModelyardError], []
while todo:
    cls = todo.pop()
    seen.append(cls)
    todo.extend(cls.__subclasses__())
print("\\n".join(sorted(f"{c.__module__}.{c.__qualname__}" for c in seen
                         if c.__module__ != "modelyard.errors" or c.__name__ not in e.__all__ + ["ModelyardError"])))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"define these in modelyard/errors.py and list them in __all__: {out.stdout}"


def test_an_sdk_only_install_rebuilds_every_exported_error_class() -> None:
    """With the server packages unimportable, each exported class comes back from its wire
    ``(code, reason)``, and the cases above are exactly those classes."""
    blocked = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "pydantic_settings", "cryptography")
    code = f"""
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from modelyard import Client, errors as e
classes = [getattr(e, n) for n in e.__all__]
classes = [c for c in classes if isinstance(c, type) and issubclass(c, e.ModelyardError) and c is not e.ModelyardError]
wrong = [c.__name__ for c in classes if e.error_class_for(c.code, c.reason) is not c]
print(len(classes), ",".join(wrong))
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr[-2000:]
    count, wrong = out.stdout.strip().split(" ", 1) if " " in out.stdout.strip() else (out.stdout.strip(), "")
    assert wrong == "", f"an SDK-only install cannot rebuild: {wrong}"
    assert int(count) == len(_all_error_classes()) > 30


def _client(handler) -> Client:  # type: ignore[no-untyped-def]
    return Client("http://modelyard.test", transport=httpx.MockTransport(handler))


def _instance(cls: type[e.ModelyardError]) -> e.ModelyardError:
    try:
        return cls("boom", extra="x")  # type: ignore[call-arg]
    except TypeError:
        return cls(message="boom", extra="x")  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_each_server_error_comes_back_as_its_own_class(cls: type[e.ModelyardError]) -> None:
    server_error = _instance(cls)
    body = server_error.to_dict()
    body["details"]["request_id"] = "rid-1"
    status = status_for(server_error)
    with _client(lambda request: httpx.Response(status, json=body)) as client:
        with pytest.raises(e.ModelyardError) as info:
            client.get_registry("models")
    err = info.value
    assert type(err) is cls and type(err) is e.error_class_for(body["code"], body["details"]["reason"])
    # a 401 speaks to the person holding the SDK (token advice), not to an HTTP client; see test_401_*
    expected = "boom" if cls is not e.UnauthenticatedError else "set MODELYARD_TOKEN, or pass token="
    assert expected in err.message and err.details["extra"] == "x" and err.details["request_id"] == "rid-1"
    assert err.status_code == status  # type: ignore[attr-defined]


def test_a_reason_from_another_code_falls_back_to_the_codes_base_class() -> None:
    body = {"code": "CONFLICT", "message": "m", "details": {"reason": "version_not_found"}}
    with _client(lambda request: httpx.Response(409, json=body)) as client, pytest.raises(e.ConflictError) as info:
        client.get_registry("models")
    assert type(info.value) is e.ConflictError


def test_an_unknown_reason_falls_back_to_the_codes_base_class() -> None:
    body = {"code": "NOT_FOUND", "message": "m", "details": {"reason": "from_a_newer_server"}}
    with _client(lambda request: httpx.Response(404, json=body)) as client, pytest.raises(e.NotFoundError) as info:
        client.get_registry("models")
    assert type(info.value) is e.NotFoundError


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_non_json_5xx_is_unavailable(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"})

    with _client(handler) as client, pytest.raises(e.UnavailableError) as info:
        client.health()
    assert info.value.details["status"] == status


def test_json_5xx_without_our_shape_is_unavailable() -> None:
    with _client(lambda request: httpx.Response(500, json={"detail": "oops"})) as client:
        with pytest.raises(e.UnavailableError):
            client.health()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (404, e.NotFoundError),
        (401, e.UnauthenticatedError),
        (403, e.PermissionDeniedError),
        (400, e.InvalidArgumentError),
        (413, e.InvalidArgumentError),
    ],
)
def test_a_non_json_4xx_maps_by_status(status: int, cls: type[e.ModelyardError]) -> None:
    with _client(lambda request: httpx.Response(status, text="nope")) as client, pytest.raises(cls) as info:
        client.health()
    assert type(info.value) is cls


def test_a_connection_failure_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(handler) as client, pytest.raises(e.UnavailableError) as info:
        client.health()
    assert info.value.details["url"] == "http://modelyard.test"


def test_errors_while_streaming_a_file_are_mapped_too() -> None:
    body = {"code": "NOT_FOUND", "message": "m", "details": {"reason": "file_not_found", "file": "x"}}
    with _client(lambda request: httpx.Response(404, json=body)) as client:
        with pytest.raises(e.FileNotFoundInVersionError):
            b"".join(client.iter_file("models/c:1", "x"))
