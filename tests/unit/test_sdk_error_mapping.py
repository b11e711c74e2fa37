"""The SDK turns every server error body back into the same error class (``httpx.MockTransport``)."""

from __future__ import annotations

import httpx
import pytest

from modelyard import Client
from modelyard import errors as e
from modelyard.api.errors import status_for


def _all_error_classes() -> list[type[e.ModelyardError]]:
    out: list[type[e.ModelyardError]] = []
    todo = [e.ModelyardError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted((c for c in out if c is not e.ModelyardError), key=lambda c: c.__name__)


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
