"""The audit trail: exact events for compound changes, alias-at-time, JSON Lines export, and
tamper detection (editing, deleting a middle row, deleting or rewriting the last row) by
``verify_chain`` and by ``modelyard audit verify --local``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from gov_world import FILES, World
from sqlalchemy import delete, insert, select, update

from modelyard.bootstrap import Services
from modelyard.domain.actor import SYSTEM, Actor
from modelyard.domain.audit import event_hash
from modelyard.storage.sql.governance_tables import event_chain_head
from modelyard.storage.sql.tables import events

C = "/api/v1/registries/open/collections"
SPEC = [{"path": f.path, "digest": f.digest, "size": f.size} for f in FILES]


def _new_actions(world: World, before: int) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in world.events()[before:]]


# -- compound changes record exactly the documented events --------------------------------------------


def test_create_version_with_aliases_into_a_new_collection(world: World) -> None:
    n = world.event_count()
    r = world.request("POST", C + "/fresh/versions", "member", json={"files": SPEC, "aliases": ["a", "b"]})
    assert r.status_code == 201
    assert _new_actions(world, n) == [
        ("collection.created", "open/fresh"),
        ("version.created", "open/fresh:1"),
        ("alias.set", "open/fresh@a"),
        ("alias.set", "open/fresh@b"),
    ]


def test_delete_version_records_the_aliases_it_drops(world: World) -> None:
    world.services.registry.set_alias(SYSTEM, "open", "c", "b", 2)
    world.services.registry.set_alias(SYSTEM, "open", "c", "a", 2)
    n = world.event_count()
    assert world.request("DELETE", C + "/c/versions/2", "member").status_code == 204
    actions = _new_actions(world, n)
    assert sorted(actions[:2]) == [("alias.unset", "open/c@a"), ("alias.unset", "open/c@b")]
    assert actions[2:] == [("version.deleted", "open/c:2")]


def test_stage_with_archive_existing_records_both_moves(world: World) -> None:
    world.services.registry.set_stage(SYSTEM, "open", "c", 1, "Production")
    n = world.event_count()
    r = world.request(
        "PUT", C + "/c/versions/2/stage", "member", json={"stage": "Production", "archive_existing_versions": True}
    )
    assert r.status_code == 200
    assert _new_actions(world, n) == [("version.stage_changed", "open/c:1"), ("version.stage_changed", "open/c:2")]
    assert [(e.before, e.after) for e in world.events()[n:]] == [
        ({"stage": "Production"}, {"stage": "Archived"}),
        ({"stage": "None"}, {"stage": "Production"}),
    ]


def test_no_op_changes_record_nothing(world: World) -> None:
    n = world.event_count()
    assert world.request("PUT", C + "/c/aliases/champion", "member", json={"version": 1}).status_code == 200
    body = {"subject_kind": "user", "subject": "member", "role": "member"}
    assert world.request("PUT", "/api/v1/registries/open/members", "radmin", json=body).status_code == 200
    assert world.request("PATCH", "/api/v1/registries/open", "radmin", json={}).status_code == 200
    assert world.event_count() == n


def test_event_holds_before_and_after(world: World) -> None:
    n = world.event_count()
    world.request("PUT", C + "/c/aliases/champion", "radmin", json={"version": 2})
    (e,) = world.events()[n:]
    assert (e.actor, e.token_name, e.target) == ("radmin", "t", "open/c@champion")
    assert e.before == {"alias": "champion", "version": 1} and e.after == {"alias": "champion", "version": 2}


# -- alias at a time ------------------------------------------------------------------------------------


def test_alias_at_time_says_what_it_pointed_to_and_who_moved_it(world: World) -> None:
    url = C + "/c/aliases/star"
    t0 = datetime.now(UTC)
    time.sleep(0.01)
    world.request("PUT", url, "member", json={"version": 1})
    time.sleep(0.01)
    t1 = datetime.now(UTC)
    time.sleep(0.01)
    world.request("PUT", url, "radmin", json={"version": 2})
    time.sleep(0.01)
    t2 = datetime.now(UTC)
    time.sleep(0.01)
    world.request("DELETE", url, "member")
    t3 = datetime.now(UTC) + timedelta(seconds=1)
    at = lambda t: world.request("GET", url + "/at", "viewer", params={"time": t.isoformat()})  # noqa: E731
    r = at(t1)
    assert r.status_code == 200 and (r.json()["version"], r.json()["actor"]) == (1, "member")
    r = at(t2).json()
    assert (r["version"], r["previous_version"], r["actor"]) == (2, 1, "radmin")
    for t in (t0, t3):  # before it existed, after it was removed
        r = at(t)
        assert r.status_code == 404 and r.json()["details"]["reason"] == "alias_not_found"
    r = world.request("GET", url + "/at", "viewer", params={"time": "2026-01-01T00:00:00"})
    assert r.status_code == 400  # a time without a timezone is ambiguous


# -- export -----------------------------------------------------------------------------------------------


def test_jsonl_export_has_every_event_with_every_field(world: World) -> None:
    r = world.request("GET", "/api/v1/events/export", "root")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [e["id"] for e in lines] == list(range(1, world.event_count() + 1))
    assert set(lines[0]) >= {
        "id",
        "at",
        "actor",
        "action",
        "target",
        "registry",
        "before",
        "after",
        "request_id",
        "client_address",
        "token_name",
    }
    only = world.request("GET", "/api/v1/events/export", "root", params={"action": "grant.*", "registry": "secret"})
    assert {json.loads(x)["action"] for x in only.text.splitlines()} == {"grant.set"}


# -- tamper detection ----------------------------------------------------------------------------------------


def _seed(services: Services, n: int = 6) -> None:
    actor = Actor(name="alice", token_name="laptop", request_id="r1", client_address="10.0.0.1", org_admin=True)
    services.registry.create_registry(SYSTEM, "tamper")
    for i in range(n):
        services.registry.create_collection(actor, "tamper", f"c{i}")


def _rows(services: Services) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.id))]


def _exec(services: Services, stmt: Any) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(stmt)


def _cli_verify(services: Services, settings: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    from modelyard.cli import main

    monkeypatch.setenv("MODELYARD_DATABASE_URL", settings.database_url)
    r = CliRunner().invoke(main, ["audit", "verify", "--local", str(settings.data_dir), "--json"])
    return r.exit_code, r.output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_verify_detects_every_kind_of_tampering(
    services: Services, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(services)
    rows = _rows(services)
    last = rows[-1]["id"]
    mid = rows[len(rows) // 2]
    report = services.audit.verify_chain()
    assert report.ok and report.checked == last and report.head_id == last
    code, out = _cli_verify(services, settings, monkeypatch)
    assert code == 0 and json.loads(out)["ok"] is True

    def restore(row: dict[str, Any]) -> None:
        _exec(services, delete(events).where(events.c.id == row["id"]))
        _exec(services, insert(events).values(**row))
        assert services.audit.verify_chain().ok

    def expect_broken(first: int, words: str) -> None:
        r = services.audit.verify_chain()
        assert not r.ok and r.first_broken_id == first and words in r.reason, r
        code, out = _cli_verify(services, settings, monkeypatch)
        assert code == 1 and json.loads(out)["first_broken_id"] == first

    # edit 'before' / 'actor' / 'after' of a middle row
    for values in (
        {"before": {"latest_version": 9}},
        {"actor": "mallory"},
        {"after": {"x": 1}},
        {"created_at": mid["created_at"] + timedelta(seconds=1)},
    ):
        _exec(services, update(events).where(events.c.id == mid["id"]).values(**values))
        expect_broken(mid["id"], "modified")
        restore(mid)
    # delete a middle row
    _exec(services, delete(events).where(events.c.id == mid["id"]))
    expect_broken(mid["id"], "missing")
    restore(mid)
    # delete the last row
    _exec(services, delete(events).where(events.c.id == last))
    expect_broken(last, "deleted")
    restore(rows[-1])
    # rewrite the last row and recompute its hash: only the chain head notices
    forged = dict(rows[-1], actor="mallory")
    forged["hash"] = event_hash(forged["prev_hash"], forged)
    _exec(services, update(events).where(events.c.id == last).values(actor="mallory", hash=forged["hash"]))
    expect_broken(last, "chain head")
    restore(rows[-1])
    # a forged row appended after the head
    extra = dict(rows[-1], id=last + 1, prev_hash=rows[-1]["hash"], actor="mallory")
    extra["hash"] = event_hash(extra["prev_hash"], extra)
    _exec(services, insert(events).values(**extra))
    expect_broken(last + 1, "chain head")
    _exec(services, delete(events).where(events.c.id == last + 1))
    assert services.audit.verify_chain().ok
    with services.db.engine.connect() as conn:
        assert conn.execute(select(event_chain_head.c.last_id)).scalar_one() == last
