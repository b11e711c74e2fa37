"""Protection and history follow identity, not names (issue 8, items 3 and 6).

- Renaming a collection that holds a protected alias needs the role that may move that alias,
  through the native API and the MLflow adapter alike; a collection-level policy stays with the
  renamed collection (it is bound to the collection's id), never with the freed name.
- Events are keyed by the registry's id: a deleted restricted registry's history stays hidden
  when an organization registry re-uses its name (list, export, watch); org admins see both.
"""

from __future__ import annotations

from typing import Any

import pytest
from gov_world import FILES, World

from modelyard.domain.actor import SYSTEM

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
    assert world.request("POST", "/api/v1/registries/open/collections", "member", json={"name": name}).status_code == 409
    # a collection without a protected alias stays renamable by members, through both doors
    plain = world.uid("plain")
    world.services.registry.create_version(SYSTEM, "open", plain, files=FILES, aliases=["champion"])
    assert _rename(world, via, "member", plain, plain + "-b").status_code == 200
    # a case-only rename resolves the same for every consumer: members may
    assert _rename(world, via, "member", name, name.upper()).status_code == 200
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
    assert world.request("POST", "/api/v1/registries/open/collections", "member", json={"name": name}).status_code == 201
    world.services.registry.create_version(SYSTEM, "open", name, files=FILES)
    r = world.request("PUT", NATIVE.format(name) + "/aliases/guarded", "member", json={"version": 1})
    assert r.status_code == 403 and r.json()["details"]["required_role"] == "admin"
    # ... and history stays with identity: the old alias moves belong to the renamed collection
    history = world.request("GET", NATIVE.format(name + "-v1") + "/aliases/production/history", "member").json()
    assert [h["version"] for h in history["items"]] == [1]
    fresh = world.request("GET", NATIVE.format(name) + "/aliases/production/history", "member").json()
    assert fresh["items"] == []
