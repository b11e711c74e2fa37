"""Webhooks end to end: a live server, its delivery worker, and a real HTTP receiver on 127.0.0.1.

Every test runs on SQLite and PostgreSQL (the ``settings`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from modelyard import ConflictError, InvalidArgumentError, NotFoundError
from modelyard.events import signing
from modelyard.events.ssrf import GuardedBackend, address_refusal, check_url, guarded_client
from modelyard.settings import Settings

from .conftest import Live, Receiver, push_version, wait_until

SECRET = "s3cret-for-tests"


def _hook(live: Live, receiver: Receiver, name: str = "ci", **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("events", ["version.created", "alias.*"])
    return live.client.create_webhook("models", name, receiver.url, **kw)  # type: ignore[arg-type]


def test_deliveries_are_signed_and_verify_at_the_receiver(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    hook = _hook(live, receiver, secret=SECRET)
    assert hook.has_secret and "secret" not in hook.model_dump()
    n = push_version(live.client, tmp_path, "models/fraud", {"w": 1}, aliases=["production"])
    wait_until(lambda: len(receiver.ok()) == 2)
    created, alias_set = receiver.ok()
    for r in (created, alias_set):
        ts, sig = r.headers["X-Modelyard-Timestamp"], r.headers["X-Modelyard-Signature"]
        # the receiver's own check, exactly as docs/webhooks.md shows it
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{ts}.".encode() + r.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, sig)
        assert signing.verify(SECRET, body=r.body, timestamp=ts, signature=sig)
        assert not signing.verify(SECRET, body=r.body + b" ", timestamp=ts, signature=sig)
        assert not signing.verify("wrong-secret", body=r.body, timestamp=ts, signature=sig)
        assert not signing.verify(SECRET, body=r.body, timestamp=str(int(ts) - 3600), signature=sig)
        assert r.headers["X-Modelyard-Event"] == r.json["event"]
        assert r.headers["X-Modelyard-Delivery"] == r.json["delivery_id"]
        assert r.headers["Content-Type"] == "application/json"
    body = alias_set.json
    assert body["event"] == "alias.set" and body["target"] == "models/fraud@production"
    assert body["before"] is None and body["after"] == {"alias": "production", "version": n}
    assert body["actor"] == "local" and body["registry"] == "models" and body["collection"] == "fraud"
    assert body["event_id"] > created.json["event_id"] and body["time"].endswith("+00:00")
    assert created.json["event"] == "version.created" and created.json["target"] == f"models/fraud:{n}"
    log = wait_until(
        lambda: (
            (ds := list(live.client.list_deliveries("models", "ci")))
            and all(d.status == "succeeded" for d in ds)
            and ds
        )
    )
    assert len(log) == 2
    assert all(d.response_code == 200 and d.attempts == 1 and d.latency_ms is not None for d in log)


def test_unsigned_webhook_has_no_signature_header(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    _hook(live, receiver, events=["version.created"])
    push_version(live.client, tmp_path, "models/plain", {"w": 1})
    (r,) = wait_until(receiver.ok)
    assert "X-Modelyard-Signature" not in r.headers and r.headers["X-Modelyard-Timestamp"].isdigit()


def test_secret_is_stored_encrypted(live: Live, receiver: Receiver, settings: Settings) -> None:
    _hook(live, receiver, secret=SECRET)
    engine = create_engine(
        settings.resolved_database_url().replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool
    )
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_ciphertext FROM webhooks")).scalar_one()
    engine.dispose()
    assert SECRET not in stored and stored.startswith("gAAAA")  # a Fernet token


def test_secret_refused_without_a_configured_key(make_live, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    live = make_live(webhook_secret_key=None)
    with pytest.raises(InvalidArgumentError, match="MODELYARD_WEBHOOK_SECRET_KEY"):
        _hook(live, receiver, secret=SECRET)
    assert live.client.list_webhooks("models") == []  # nothing stored in the clear
    assert _hook(live, receiver).has_secret is False  # without a secret it works


def test_retries_with_backoff_until_the_receiver_recovers(make_live, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live = make_live(webhook_retry_base_seconds=0.3, webhook_retry_max_seconds=5)
    receiver.respond = lambda payload, n: 503 if n < 3 else 200
    _hook(live, receiver, events=["version.created"])
    push_version(live.client, tmp_path, "models/flaky", {"w": 1})
    wait_until(receiver.ok)
    times = [r.at for r in receiver.requests]
    assert [r.status for r in receiver.requests] == [503, 503, 503, 200]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.24 and gaps[2] > gaps[0] * 1.5, f"backoff should grow: {gaps}"  # 0.3, 0.6, 1.2 s (+-20 %)
    assert len({r.headers["X-Modelyard-Delivery"] for r in receiver.requests}) == 1  # one delivery, retried
    (d,) = wait_until(lambda: [d for d in live.client.list_deliveries("models", "ci") if d.status == "succeeded"])
    assert (d.status, d.attempts, d.response_code, d.error) == ("succeeded", 4, 200, "")


def test_events_of_a_collection_arrive_in_order(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    # the first event fails twice: nothing after it may overtake it
    first: list[int] = []

    def respond(payload: dict, n: int) -> int:  # type: ignore[type-arg]
        if not first:
            first.append(payload["event_id"])
        return 500 if payload["event_id"] == first[0] and n < 2 else 200

    receiver.respond = respond
    _hook(live, receiver, events=["version.created", "alias.set", "version.tag_set"])
    n = push_version(live.client, tmp_path, "models/ordered", {"w": 1})
    for i in range(4):
        live.client.set_alias("models/ordered", f"a{i}", n)
        live.client.set_version_tag(f"models/ordered:{n}", "k", str(i))
    wait_until(lambda: len(receiver.ok()) == 9)
    ids = [r.json["event_id"] for r in receiver.requests if r.status == 200]
    assert ids == sorted(ids)
    attempted = [r.json["event_id"] for r in receiver.requests]
    assert attempted[:3] == [first[0]] * 3  # retried before anything newer was sent


def test_failed_deliveries_disable_the_webhook(make_live, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live = make_live(webhook_max_attempts=2, webhook_disable_after_failures=2)
    receiver.respond = lambda payload, n: 500
    _hook(live, receiver, events=["version.created"], active=False)  # paused: events wait in the log
    for i in range(3):
        push_version(live.client, tmp_path, "models/dead", {"w": i})
    live.client.update_webhook("models", "ci", active=True)
    hook = wait_until(lambda: (h := live.client.get_webhook("models", "ci")) and not h.active and h)
    assert "2 consecutive failed deliveries" in hook.disabled_reason and "HTTP 500" in hook.disabled_reason
    statuses = [d.status for d in live.client.list_deliveries("models", "ci")]  # newest first
    assert statuses == ["pending", "failed", "failed"]
    time.sleep(0.5)
    assert len(receiver.requests) == 4  # 2 deliveries x 2 attempts; nothing is sent while disabled
    events = list(live.client.list_events(action="webhook.disabled"))
    assert events and events[-1].target == "webhook:models/ci" and events[-1].actor == "system"
    with pytest.raises(ConflictError, match="disabled"):
        live.client.ping_webhook("models", "ci")
    receiver.respond = lambda payload, n: 200
    assert live.client.update_webhook("models", "ci", active=True).active  # resumes where it stopped
    wait_until(lambda: [d.status for d in live.client.list_deliveries("models", "ci")][0] == "succeeded")
    assert receiver.ok()[-1].json["target"] == "models/dead:3"


def test_redelivery_and_ping(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    _hook(live, receiver, secret=SECRET)
    push_version(live.client, tmp_path, "models/again", {"w": 1})
    (first,) = wait_until(receiver.ok)
    (d,) = wait_until(lambda: [d for d in live.client.list_deliveries("models", "ci") if d.status == "succeeded"])
    again = live.client.redeliver("models", "ci", d.delivery_id)
    assert again.delivery_id != d.delivery_id and again.event_id == d.event_id and again.status == "pending"
    wait_until(lambda: len(receiver.ok()) == 2)
    second = receiver.ok()[1]
    assert second.json["event_id"] == first.json["event_id"]
    assert second.headers["X-Modelyard-Delivery"] == again.delivery_id
    ping = live.client.ping_webhook("models", "ci", wait=10)
    assert (ping.status, ping.event, ping.response_code) == ("succeeded", "ping", 200)
    last = receiver.ok()[-1]
    assert last.headers["X-Modelyard-Event"] == "ping"
    assert last.json["after"] == {"events": ["version.created", "alias.*"]}
    assert signing.verify(
        SECRET,
        body=last.body,
        timestamp=last.headers["X-Modelyard-Timestamp"],
        signature=last.headers["X-Modelyard-Signature"],
    )
    with pytest.raises(NotFoundError):
        live.client.redeliver("models", "ci", "no-such-delivery")


def test_a_slow_receiver_does_not_slow_the_api(make_live, receiver: Receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live = make_live(webhook_timeout_seconds=1.0)
    receiver.delay = 3.0  # longer than the timeout: every attempt times out
    _hook(live, receiver, events=["alias.set"])
    n = push_version(live.client, tmp_path, "models/slow", {"w": 1})
    latencies = []
    for i in range(10):
        start = time.perf_counter()
        live.client.set_alias("models/slow", f"x{i}", n)
        latencies.append(time.perf_counter() - start)
    assert max(latencies) < 0.75, latencies
    d = wait_until(lambda: [d for d in live.client.list_deliveries("models", "ci") if d.attempts >= 1 and d.error])
    assert "Timeout" in d[-1].error


def test_scope_and_filters(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    live.client.create_collection("models/scoped")
    _hook(live, receiver, name="prod-only", events=["alias.*"], collection="scoped", alias_filter="prod*")
    _hook(live, receiver, name="tags", events=["version.tag_set"], tag_filter="approved=yes")
    n = push_version(live.client, tmp_path, "models/scoped", {"w": 1})
    other = push_version(live.client, tmp_path, "models/other", {"w": 1})
    live.client.set_alias("models/other", "production", other)  # other collection: out of scope
    live.client.set_alias("models/scoped", "staging", n)  # alias filter: no
    live.client.set_alias("models/scoped", "Production", n)  # yes (case-insensitive)
    live.client.set_version_tag(f"models/scoped:{n}", "approved", "no")  # tag filter: no
    live.client.set_version_tag(f"models/scoped:{n}", "approved", "yes")  # yes
    live.client.unset_alias("models/scoped", "Production")  # yes: removed
    wait_until(lambda: len(receiver.ok()) == 3)
    time.sleep(0.3)
    got = [
        (r.json["webhook"], r.json["event"], r.json["target"])
        for r in sorted(receiver.ok(), key=lambda r: r.json["event_id"])
    ]
    assert got == [
        ("prod-only", "alias.set", "models/scoped@Production"),
        ("tags", "version.tag_set", f"models/scoped:{n}"),
        ("prod-only", "alias.unset", "models/scoped@Production"),
    ]


def test_webhook_crud_and_validation(live: Live, receiver: Receiver) -> None:
    hook = _hook(live, receiver, secret=SECRET)
    assert [h.name for h in live.client.list_webhooks("models")] == ["ci"]
    updated = live.client.update_webhook("models", "ci", events=["version.deleted"], remove_secret=True)
    assert updated.events == ["version.deleted"] and not updated.has_secret and updated.url == hook.url
    with pytest.raises(InvalidArgumentError, match="matches no webhook trigger"):
        _hook(live, receiver, name="bad", events=["webhook.created"])
    with pytest.raises(InvalidArgumentError):
        _hook(live, receiver, name="Bad Name")
    with pytest.raises(NotFoundError):
        _hook(live, receiver, name="nocoll", collection="does-not-exist")
    audit = [e.action for e in live.client.list_events(action="webhook.*")]
    assert audit == ["webhook.created", "webhook.updated"]
    live.client.delete_webhook("models", "ci")
    assert live.client.list_webhooks("models") == []
    with pytest.raises(NotFoundError):
        live.client.get_webhook("models", "ci")


# -- SSRF -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.1.2.3/x",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://127.0.0.1/",
        "http:///nohost",
    ],
)
def test_unsafe_targets_are_refused_by_default(make_live, url: str) -> None:  # type: ignore[no-untyped-def]
    live = make_live(webhook_allow_private_targets=False)
    with pytest.raises(InvalidArgumentError):
        live.client.create_webhook("models", "ssrf", url, events=["*"])
    assert live.client.list_webhooks("models") == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_metadata_addresses_stay_refused_when_private_targets_are_allowed(live: Live) -> None:
    for url in ("http://169.254.169.254/", "http://[fe80::1]/", "http://100.100.100.200/", "http://[fd00:ec2::254]/"):
        with pytest.raises(InvalidArgumentError, match="metadata|link-local"):
            live.client.create_webhook("models", "meta", url, events=["*"])
    assert address_refusal(__import__("ipaddress").ip_address("127.0.0.1"), allow_private=True) is None
    check_url("https://example.com/hook", allow_private=False, resolve_host=False)


def test_connect_time_guard_blocks_what_the_check_would(receiver: Receiver) -> None:
    """DNS can change after the URL was checked: the connection itself is checked too."""
    with guarded_client(allow_private=False, timeout=2) as client:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            client.post(receiver.url, content=b"{}")
        with pytest.raises(httpx.ConnectError, match="loopback"):
            client.post(receiver.url.replace("127.0.0.1", "localhost"), content=b"{}")
    assert receiver.requests == []
    with guarded_client(allow_private=True, timeout=2) as client:
        assert client.post(receiver.url, content=b"{}").status_code == 200
    assert isinstance(GuardedBackend(allow_private=False), GuardedBackend)


def test_cli_webhook_commands(live: Live, receiver: Receiver, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from modelyard.cli import main

    runner = CliRunner()
    base = ["--url", live.url, "--json"]
    r = runner.invoke(
        main,
        [
            "webhooks",
            "create",
            "models",
            "cli-hook",
            receiver.url,
            "--event",
            "version.created",
            "--secret",
            SECRET,
            *base,
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["has_secret"] is True
    r = runner.invoke(main, ["webhooks", "list", "models", *base])
    assert [h["name"] for h in json.loads(r.output)] == ["cli-hook"]
    push_version(live.client, tmp_path, "models/clicoll", {"w": 1})
    wait_until(lambda: [d for d in live.client.list_deliveries("models", "cli-hook") if d.status == "succeeded"])
    r = runner.invoke(main, ["webhooks", "deliveries", "models", "cli-hook", *base])
    (d,) = json.loads(r.output)
    assert d["status"] == "succeeded" and d["event"] == "version.created"
    r = runner.invoke(main, ["webhooks", "redeliver", "models", "cli-hook", d["delivery_id"], *base])
    assert r.exit_code == 0 and json.loads(r.output)["event_id"] == d["event_id"]
    r = runner.invoke(main, ["webhooks", "ping", "models", "cli-hook", "--wait", "10", *base])
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "succeeded"
    r = runner.invoke(main, ["webhooks", "ping", "models", "nope", "--url", live.url])
    assert r.exit_code == 1 and "no webhook 'nope'" in r.output
    r = runner.invoke(main, ["webhooks", "delete", "models", "cli-hook", *base])
    assert r.exit_code == 0 and live.client.list_webhooks("models") == []
