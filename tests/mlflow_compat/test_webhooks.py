"""MLflow 3's webhooks API on modelyard: a webhook made through either API is the same webhook
(issue 10, "Breaks working code today"). CRUD answers are compared side by side with a real
``mlflow server``; delivery (``test_webhook``) runs against a real local receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.exceptions import MlflowException

from .conftest import Server
from .test_side_by_side import Pair, pair  # noqa: F401 - the fixture

# A public address that needs no DNS: neither server sends anything to it in these tests.
URL = "https://1.1.1.1/hook"


def shape(w: object) -> dict[str, object]:
    return {
        "name": w.name,  # type: ignore[attr-defined]
        "url": w.url,  # type: ignore[attr-defined]
        "events": sorted((e.entity.value, e.action.value) for e in w.events),  # type: ignore[attr-defined]
        "status": str(w.status),  # type: ignore[attr-defined]
        "description": w.description,  # type: ignore[attr-defined]
    }


def test_webhook_crud_side_by_side(pair: Pair) -> None:  # noqa: F811
    ids: dict[str, str] = {}

    def create(s):  # type: ignore[no-untyped-def]
        w = s.client.create_webhook(
            "Hook-1",
            URL,
            events=[WebhookEvent("model_version", "created"), WebhookEvent("model_version_alias", "created")],
            description="d",
        )
        ids[s.url] = w.webhook_id
        return shape(w)

    pair.same("create", create)
    pair.same("get", lambda s: shape(s.client.get_webhook(ids[s.url])))
    pair.same("list", lambda s: [shape(w) for w in s.client.list_webhooks() if w.webhook_id == ids[s.url]])
    pair.same(
        "update",
        lambda s: shape(
            s.client.update_webhook(ids[s.url], name="Hook-2", status=WebhookStatus.DISABLED, description="e")
        ),
    )
    pair.same(
        "update events",
        lambda s: shape(s.client.update_webhook(ids[s.url], events=[WebhookEvent("model_version_tag", "set")])),
    )
    pair.same("missing id", lambda s: s.client.get_webhook("123456789"))
    pair.same("bad status", lambda s: s.client.create_webhook("h", URL, events=[], description="x"))
    pair.same("delete", lambda s: s.client.delete_webhook(ids[s.url]))
    pair.same("get deleted", lambda s: s.client.get_webhook(ids[s.url]))


def test_one_webhook_two_apis(server: Server, uri: str) -> None:
    client = MlflowClient()
    native = f"{server.url}/api/v1/registries/models/webhooks"
    made = client.create_webhook("from-mlflow", URL, events=[WebhookEvent("model_version_alias", "deleted")])
    got = httpx.get(f"{native}/from-mlflow").json()
    assert (got["url"], got["events"], got["active"]) == (URL, ["alias.unset"], True)

    r = httpx.post(native, json={"name": "from-native", "url": URL, "events": ["alias.*", "version.stage_changed"]})
    assert r.status_code == 201, r.text
    listed = {w.name: w for w in client.list_webhooks()}
    assert {"from-mlflow", "from-native"} <= set(listed)
    assert sorted((e.entity.value, e.action.value) for e in listed["from-native"].events) == [
        ("model_version_alias", "created"),
        ("model_version_alias", "deleted"),
    ]
    assert client.get_webhook(listed["from-native"].webhook_id).name == "from-native"

    client.update_webhook(made.webhook_id, status=WebhookStatus.DISABLED)
    assert httpx.get(f"{native}/from-mlflow").json()["active"] is False
    client.delete_webhook(made.webhook_id)
    assert httpx.get(f"{native}/from-mlflow").status_code == 404
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_webhook(made.webhook_id)
    with pytest.raises(MlflowException, match="INVALID_PARAMETER_VALUE"):
        client.create_webhook("prompts", URL, events=[WebhookEvent("prompt", "created")])


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    got: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", got
    finally:
        httpd.shutdown()


def test_test_webhook_delivers_a_ping(server: Server, uri: str, receiver: tuple[str, list[dict[str, object]]]) -> None:
    url, got = receiver
    client = MlflowClient()
    hook = client.create_webhook(server.name("ping"), url, events=[WebhookEvent("model_version", "created")])
    result = client.test_webhook(hook.webhook_id)
    assert (result.success, result.response_status) == (True, 200)
    assert [p["event"] for p in got] == ["ping"]
    client.update_webhook(hook.webhook_id, status=WebhookStatus.DISABLED)
    with pytest.raises(MlflowException, match="RESOURCE_CONFLICT"):
        client.test_webhook(hook.webhook_id)
