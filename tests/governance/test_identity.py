"""Protection and history follow identity, not names (issue 8, items 3 and 6).

- Renaming a collection that holds a protected alias needs the role that may move that alias,
  through the native API and the MLflow adapter alike; a collection-level policy stays with the
  renamed collection (it is bound to the collection's id), never with the freed name.
- Events are keyed by the registry's id: a deleted restricted registry's history stays hidden
  when an organization registry re-uses its name (list, export, watch); org admins see both.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from gov_world import FILES, World
from sqlalchemy import text

from modelyard.domain.actor import SYSTEM
from modelyard.storage.sql import schema

NATIVE = "/api/v1/registries/open/collections/{}"
MLFLOW_RENAME = "/mlflow/open/api/2.0/mlflow/registered-models/rename"


def _protected_collection(world: World, name: str) -> None:
    """``open/<name>`` with versions 1 and 2, version 1 behind ``production`` (protected for this collection only)
    and ``guarded`` (protected registry-wide by the world)."""
    reg = world.services.registry
    reg.create_collection(SYSTEM, "open", name)
    reg.create_version(SYSTEM, "open", name, files=FILES, aliases=["production", "guarded"])
    reg.create_version(SYSTEM, "open", name, files=FILES)
    world.services.identity.set_alias_policy(SYSTEM, "open", "production", collection=name)


def _rename(world: World, via: str, who: str, old: str, new: str) -> Any:
    if via == "native":
        return world.request("PATCH", NATIVE.format(old), who, json={"name": new})
    return world.request("POST", MLFLOW_RENAME, who, json={"name": old, "new_name": new})


def _denied(r: Any, via: str) -> bool:
    if via == "native":
        return r.status_code == 403 and r.json()["details"]["required_role"] == "admin"
    return r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("via", ["native", "mlflow"])
def test_only_who_may_move_a_protected_alias_renames_its_collection(world: World, via: str) -> None:
    name = world.uid("fraud")
    _protected_collection(world, name)
    for who in ("member", "ci", "teamuser"):
        before = world.snapshot()
        r = _rename(world, via, who, name, name + "-old")
        assert _denied(r, via), (who, r.status_code, r.text)
        assert world.snapshot() == before  # nothing renamed, no event
    # so the member can neither free the name nor re-create it under the consumers' feet
    assert (
        world.request("POST", "/api/v1/registries/open/collections", "member", json={"name": name}).status_code == 409
    )
    # a collection without a protected alias stays renamable by members, through both doors
    plain = world.uid("plain")
    world.services.registry.create_version(SYSTEM, "open", plain, files=FILES, aliases=["champion"])
    assert _rename(world, via, "member", plain, plain + "-b").status_code == 200
    # names are exact (as MLflow's): a case-only rename frees the name consumers resolve, so it is a
    # rename like any other, and members may not make it either
    before = world.snapshot()
    assert _denied(_rename(world, via, "member", name, name.upper()), via)
    assert world.snapshot() == before
    assert _rename(world, via, "radmin", name, name.upper()).status_code == 200
    assert _rename(world, via, "radmin", name.upper(), name + "-old").status_code == 200


@pytest.mark.parametrize("via", ["native", "mlflow"])
def test_collection_policy_follows_the_renamed_collection_not_the_freed_name(world: World, via: str) -> None:
    name = world.uid("fraud")
    _protected_collection(world, name)
    assert _rename(world, via, "radmin", name, name + "-v1").status_code == 200
    # the collection-level policy is bound to the collection's id: it lists under the new name ...
    policies = world.request("GET", "/api/v1/registries/open/alias-policies", "member").json()["items"]
    assert [p["collection"] for p in policies if p["alias"] == "production"] == [name + "-v1"]
    # ... and still guards the renamed collection's alias
    moved = world.request("PUT", NATIVE.format(name + "-v1") + "/aliases/production", "member", json={"version": 2})
    assert moved.status_code == 403, moved.text
    # the freed name is a new collection: the registry-wide protection still applies to it ...
    assert (
        world.request("POST", "/api/v1/registries/open/collections", "member", json={"name": name}).status_code == 201
    )
    world.services.registry.create_version(SYSTEM, "open", name, files=FILES)
    r = world.request("PUT", NATIVE.format(name) + "/aliases/guarded", "member", json={"version": 1})
    assert r.status_code == 403 and r.json()["details"]["required_role"] == "admin"
    # ... and history stays with identity: the old alias moves belong to the renamed collection
    history = world.request("GET", NATIVE.format(name + "-v1") + "/aliases/production/history", "member").json()
    assert [h["version"] for h in history["items"]] == [1]
    fresh = world.request("GET", NATIVE.format(name) + "/aliases/production/history", "member").json()
    assert fresh["items"] == []


# -- events follow the registry's identity (item 6) -----------------------------------------------------


def _reuse_a_deleted_restricted_name(world: World) -> tuple[set[int], set[int]]:
    """Restricted ``gone`` with history, deleted, then an organization ``gone``: (old ids, new ids)."""
    reg = world.services.registry
    world.make_registry("gone", "restricted")  # the world's members hold roles on it, outsider none
    reg.create_version(SYSTEM, "gone", "c", files=FILES, aliases=["production"])
    reg.set_collection_tag(SYSTEM, "gone", "c", "secret-plan", "x")
    reg.delete_collection(SYSTEM, "gone", "c")
    reg.delete_registry(SYSTEM, "gone")
    old = {e.id for e in world.events() if e.registry == "gone"}
    reg.create_registry(SYSTEM, "gone", visibility="organization")  # on SQLite it even gets the same id
    reg.create_version(SYSTEM, "gone", "c", files=FILES, aliases=["production"])
    new = {e.id for e in world.events() if e.registry == "gone"} - old
    assert old and new
    return old, new


def _gone_ids(world: World, who: str, **params: Any) -> tuple[set[int], set[int]]:
    """Ids of the ``gone`` events ``who`` gets from the list and from the export."""
    listed = world.request("GET", "/api/v1/events", who, params={"page_size": 1000, **params}).json()["items"]
    export = world.request("GET", "/api/v1/events/export", who, params=params).text.splitlines()
    exported = [json.loads(line) for line in export]
    return (
        {e["id"] for e in listed if e["registry"] == "gone"},
        {e["id"] for e in exported if e["registry"] == "gone"},
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_reused_registry_name_never_reveals_the_deleted_registrys_events(world: World) -> None:
    old, new = _reuse_a_deleted_restricted_name(world)
    for who in ("outsider", "member", "radmin"):  # radmin and member held roles on the old one: gone with it
        assert _gone_ids(world, who) == (new, new), who
        assert _gone_ids(world, who, registry="gone") == (new, new), who
        listed, exported = _gone_ids(world, who, target_prefix="gone/")
        assert listed == exported and listed and listed <= new, who
    assert _gone_ids(world, "root") == (old | new, old | new)  # org admins see both histories
    # the chain still verifies: the registry id is not part of what is hashed
    assert world.request("GET", "/api/v1/audit/verify", "root").json()["ok"] is True


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_watch_on_a_reused_name_replays_only_the_new_registrys_events(world: World) -> None:
    old, new = _reuse_a_deleted_restricted_name(world)  # on SQLite, gone/c even re-uses the collection id
    r = world.request(
        "GET",
        "/api/v1/watch",
        "outsider",
        params={"target": "gone/c", "max_seconds": 0.5},
        headers={"Last-Event-ID": "0"},
    )
    assert r.status_code == 200, r.text
    replayed = {int(line[4:]) for line in r.text.splitlines() if line.startswith("id: ")}
    assert replayed and replayed <= new, (replayed, old)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_backfills_registry_ids_within_each_registrys_lifetime(world: World) -> None:
    old, new = _reuse_a_deleted_restricted_name(world)
    engine = world.services.db.engine
    cfg = schema._config()
    with engine.begin() as conn:  # back to the schema before the column existed, then up again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    schema.upgrade(engine)
    with engine.connect() as conn:
        gone = dict(conn.execute(text("SELECT id, registry_id FROM events WHERE registry = 'gone'")).all())
        ids = dict(conn.execute(text("SELECT name, id FROM registries")).all())
        opened = set(conn.execute(text("SELECT registry_id FROM events WHERE registry = 'open'")).scalars())
    assert {i for i, rid in gone.items() if rid is None} == old  # the deleted registry's: org admins only
    assert {gone[i] for i in new} == {ids["gone"]}
    assert opened == {ids["open"]}
    assert _gone_ids(world, "outsider") == (new, new)
    assert world.request("GET", "/api/v1/audit/verify", "root").json()["ok"] is True


# -- a protected stage guards renames and deletes like a protected alias (issue 8, item 4 gap) ----------

MLFLOW_DELETE = "/mlflow/open/api/2.0/mlflow/registered-models/delete"


def _delete(world: World, via: str, who: str, name: str) -> Any:
    if via == "native":
        return world.request("DELETE", NATIVE.format(name), who)
    return world.request("DELETE", MLFLOW_DELETE, who, json={"name": name})


@pytest.mark.parametrize("via", ["native", "mlflow"])
def test_a_version_in_a_protected_stage_guards_renaming_and_deleting_its_collection(world: World, via: str) -> None:
    world.services.promotion.set_policy(SYSTEM, "open", target_kind="stage", target="Production", requirements={})
    reg = world.services.registry
    name, staged = world.uid("fraud"), world.uid("staged")
    for n in (name, staged):  # no alias at all: only the stage holds consumers (models:/<name>/Production)
        reg.create_version(SYSTEM, "open", n, files=FILES)
        reg.create_version(SYSTEM, "open", n, files=FILES)
    reg.set_stage(SYSTEM, "open", name, 1, "Production")
    reg.set_stage(SYSTEM, "open", staged, 1, "Staging")  # not protected: members keep the right
    for who in ("member", "ci", "teamuser"):
        before = world.snapshot()
        renamed, deleted = _rename(world, via, who, name, name + "-old"), _delete(world, via, who, name)
        assert _denied(renamed, via), (who, renamed.status_code, renamed.text)
        assert _denied(deleted, via), (who, deleted.status_code, deleted.text)
        assert world.snapshot() == before  # nothing renamed or deleted, no event
    assert _rename(world, via, "member", staged, staged + "-b").status_code == 200
    assert _delete(world, via, "member", staged + "-b").status_code in (200, 204)
    # the guard follows the stage: once no version is in Production, members may again
    reg.set_stage(SYSTEM, "open", name, 1, "Archived")
    assert _rename(world, via, "member", name, name + "-old").status_code == 200
    assert _delete(world, via, "member", name + "-old").status_code in (200, 204)
    # and the admin who may move the stage may always
    other = world.uid("other")
    reg.create_version(SYSTEM, "open", other, files=FILES)
    reg.set_stage(SYSTEM, "open", other, 1, "Production")
    assert _rename(world, via, "radmin", other, other + "-v1").status_code == 200
    assert _delete(world, via, "radmin", other + "-v1").status_code in (200, 204)


@pytest.mark.parametrize("via", ["native", "mlflow"])
def test_a_stage_guarded_only_by_its_alias_policy_guards_renaming_too(world: World, via: str) -> None:
    """``production`` is protected and Production has no policy of its own: the alias's guard covers
    the stage (domain.promotion.stage_guard), for renaming and deleting as for moving."""
    world.services.promotion.set_policy(SYSTEM, "open", target_kind="alias", target="production", requirements={})
    reg = world.services.registry
    name = world.uid("by-alias")
    reg.create_version(SYSTEM, "open", name, files=FILES)
    reg.set_stage(SYSTEM, "open", name, 1, "Production")
    before = world.snapshot()
    assert _denied(_rename(world, via, "member", name, name + "-old"), via)
    assert _denied(_delete(world, via, "member", name), via)
    assert world.snapshot() == before
    # an admin separating the stage from the alias gives members the right back
    world.services.promotion.set_policy(
        SYSTEM, "open", target_kind="alias", target="production", requirements={"guards_stage": False}
    )
    assert _rename(world, via, "member", name, name + "-old").status_code == 200


def test_a_collection_level_stage_policy_guards_only_its_collection(world: World) -> None:
    reg = world.services.registry
    guarded, plain = world.uid("guarded"), world.uid("plain")
    for n in (guarded, plain):
        reg.create_version(SYSTEM, "open", n, files=FILES)
        reg.set_stage(SYSTEM, "open", n, 1, "Archived")
    world.services.promotion.set_policy(
        SYSTEM, "open", target_kind="stage", target="archived", requirements={}, collection=guarded
    )
    assert _denied(_delete(world, "native", "member", guarded), "native")
    assert _denied(_rename(world, "mlflow", "member", guarded, guarded + "-x"), "mlflow")
    assert _rename(world, "native", "member", plain, plain + "-x").status_code == 200


# -- ids are never re-used, so nothing keyed by id is inherited (issue 8, item 3 gap) --------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_collection_never_gets_a_deleted_ones_id_or_history(world: World) -> None:
    reg, promotion = world.services.registry, world.services.promotion
    old = world.uid("old")
    reg.create_version(SYSTEM, "open", old, files=FILES, aliases=["production"])
    reg.create_version(SYSTEM, "open", old, files=FILES)
    reg.set_alias(SYSTEM, "open", old, "production", 2)
    old_id = reg.get_collection("open", old).id
    old_request = promotion.request(SYSTEM, "open", old, 1, target="gate").id  # 20 approvals: stays open
    reg.delete_collection(SYSTEM, "open", old)  # the newest collection and request: SQLite would re-use both ids
    new = world.uid("new")
    assert world.request("POST", "/api/v1/registries/open/collections", "member", json={"name": new}).status_code == 201
    reg.create_version(SYSTEM, "open", new, files=FILES)
    assert reg.get_collection("open", new).id > old_id
    # no alias history, through the API and the store's point-in-time lookup alike
    history = world.request("GET", NATIVE.format(new) + "/aliases/production/history", "member")
    assert history.status_code == 200 and history.json()["items"] == [], history.text
    # a watch on the new collection replays only its own events (not the old one's, nor its deletion)
    r = world.request(
        "GET",
        "/api/v1/watch",
        "member",
        params={"target": f"open/{new}", "max_seconds": 0.5},
        headers={"Last-Event-ID": "0"},
    )
    assert r.status_code == 200, r.text
    replayed = {int(line[4:]) for line in r.text.splitlines() if line.startswith("id: ")}
    events = {e.id: e for e in world.events()}
    assert replayed and {events[i].target.split(":")[0] for i in replayed} == {f"open/{new}"}, replayed
    # a promotion request gets a fresh id too: the old one's id names nothing, not the new request
    new_request = promotion.request(SYSTEM, "open", new, 1, target="gate").id
    assert new_request > old_request
    assert world.request("GET", f"/api/v1/promotions/{old_request}", "member").status_code == 404
    assert world.request("GET", f"/api/v1/promotions/{new_request}", "member").json()["collection"] == new


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_registry_never_gets_a_deleted_ones_id(world: World) -> None:
    reg = world.services.registry
    gone = reg.create_registry(SYSTEM, world.uid("gone"), visibility="organization")
    reg.delete_registry(SYSTEM, gone.name)
    fresh = reg.create_registry(SYSTEM, world.uid("fresh"), visibility="organization")
    assert fresh.id > gone.id


def test_the_migration_starts_the_id_marks_above_every_id_the_event_log_refers_to(world: World) -> None:
    """An existing SQLite database where the newest collection and request were deleted before the
    upgrade: the ids the log still names are not handed out again."""
    reg, promotion = world.services.registry, world.services.promotion
    old = world.uid("old")
    reg.create_version(SYSTEM, "open", old, files=FILES, aliases=["production"])
    old_id = reg.get_collection("open", old).id
    old_request = promotion.request(SYSTEM, "open", old, 1, target="gate").id
    reg.delete_collection(SYSTEM, "open", old)
    engine = world.services.db.engine
    cfg = schema._config()
    with engine.begin() as conn:  # back to before id_counters existed, then up again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    schema.upgrade(engine)
    new = world.uid("new")
    reg.create_version(SYSTEM, "open", new, files=FILES)
    assert reg.get_collection("open", new).id > old_id
    assert promotion.request(SYSTEM, "open", new, 1, target="gate").id > old_request
    assert reg.alias_history("open", new, "production", limit=10) == []
