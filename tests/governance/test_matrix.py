"""The permission matrix through the API: every /api/v1 route x every role x both visibilities.

``CASES`` maps each route the app serves to a sample request and the permission it needs.
``test_every_route_has_a_matrix_entry`` enumerates the app's routes, so a new route without
an entry fails the suite (and an entry for a route that is gone fails too).

For each case, every role (and no token at all) calls it on the ``organization`` registry
``open`` and on the ``restricted`` registry ``secret``. The expected status comes from the
spec below, written independently of ``domain/permissions.py``:

- no token: 401 (except the health check);
- effective role = highest grant (direct or via a team); org admins are ``admin``; in an
  ``organization`` registry everyone is at least ``viewer``;
- no effective role on the registry: 404 (it is invisible); too low a role: 403.

A denied write changes nothing: every table and the blob store are compared before and after.
The first successful call per registry also checks audit completeness: exactly the events
listed in the case, each naming the actor, its token, the request id and the client address.

Runs fully on SQLite; ``test_matrix_slice_on_postgresql`` runs a representative slice on
PostgreSQL (building the world there takes seconds per test, and the rule is the same code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from gov_world import DIGEST, UPLOAD_DATA, UPLOAD_DIGEST, World

from modelyard.domain.actor import SYSTEM

# Lowest to highest, so denied calls mostly come first; None is "no token".
WHO: list[str | None] = [None, "outsider", "rviewer", "viewer", "ci", "teamuser", "member", "radmin", "root"]
RANK = {"restricted_viewer": 0, "viewer": 1, "member": 2, "admin": 3}
EFFECTIVE = {
    "restricted": {
        "root": "admin",
        "radmin": "admin",
        "member": "member",
        "teamuser": "member",
        "ci": "member",
        "viewer": "viewer",
        "rviewer": "restricted_viewer",
        "outsider": None,
    },
}
EFFECTIVE["organization"] = {who: (None if role is None else role) for who, role in EFFECTIVE["restricted"].items()} | {
    "outsider": "viewer",
    "rviewer": "viewer",
}  # every org member is at least a viewer there
MIN_ROLE = {
    "read": "restricted_viewer",
    "download": "viewer",
    "write": "member",
    "delete_collection": "member",
    "administer": "admin",
}

Prepare = Callable[[World, str, str | None, str], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    route: str  # "METHOD /api/v1/..." exactly as the app declares it
    path: str  # format string: {reg}, and whatever ``prepare`` returns
    need: str  # public | authenticated | org_admin | read | download | write | delete_collection | administer
    ok: int
    body: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None  # (world, registry, who, visibility) -> format values; consumed by a success
    events: tuple[str, ...] = ()  # actions the first successful call appends, in order
    per_caller: bool = False  # prepare again for every caller (what it prepares belongs to the caller)

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def mutating(self) -> bool:
        return self.method not in ("GET", "HEAD")


R = "/api/v1/registries/{reg}"
C = R + "/collections/c"
V1 = "/api/v1"


def _new(prefix: str) -> Prepare:
    return lambda w, reg, who, vis: {"new": w.uid(prefix)}


def _registry(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    name = w.uid("doomed")
    w.make_registry(name, vis)
    return {"reg": name}


def _collection(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    name = w.uid("d")
    w.services.registry.create_collection(SYSTEM, reg, name)
    return {"coll": name}


def _collection_tag(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    key = w.uid("tag")
    w.services.registry.set_collection_tag(SYSTEM, reg, "c", key, "x")
    return {"key": key}


def _version(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    return {"number": w.new_version(reg)}


def _version_tag(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    key = w.uid("tag")
    w.services.registry.set_version_tag(SYSTEM, reg, "c", 1, key, "x")
    return {"key": key}


def _alias(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    alias = w.uid("a")
    w.services.registry.set_alias(SYSTEM, reg, "c", alias, 1)
    return {"alias": alias}


def _upload(write: bool = False) -> Prepare:
    return lambda w, reg, who, vis: {"upload": w.new_upload(reg, write=write)}


def _team(members: tuple[str, ...]) -> Prepare:
    def prepare(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
        team = w.uid("team")
        w.services.identity.create_team(SYSTEM, team)
        for m in members:
            w.services.identity.add_team_member(SYSTEM, team, m)
        return {"team": team}

    return prepare


def _own_token(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    new = w.services.identity.create_token(SYSTEM, name=w.uid("tok"), principal=who or "bystander")
    return {"token_id": new.info.id}


def _bystander_grant(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    w.services.identity.grant(SYSTEM, reg, subject_kind="user", subject="bystander", role="viewer")
    return {}


def _alias_policy(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    alias = w.uid("p")
    w.services.identity.set_alias_policy(SYSTEM, reg, alias)
    return {"alias": alias}


def _open_request(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    return {"rid": w.open_requests[reg]}


def _request(target: str) -> Prepare:
    return lambda w, reg, who, vis: {"rid": w.new_request(reg, target)}


def _champion_on_2(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    w.services.registry.set_alias(SYSTEM, reg, "c", "champion", 2)
    return {}


HOOK_URL = "http://93.184.216.34/hook"  # a public address literal: no DNS lookup, passes the SSRF guard


def _webhook(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    name = w.uid("hook")
    w.services.automations.create_webhook(SYSTEM, reg, name=name, url=HOOK_URL, events=["alias.*"])
    return {"hook": name}


def _delivery(w: World, reg: str, who: str | None, vis: str) -> dict[str, Any]:
    hook = _webhook(w, reg, who, vis)["hook"]
    return {"hook": hook, "delivery": w.services.automations.ping(SYSTEM, reg, hook).delivery_id}


FILE_SPEC = {"path": "model.bin", "digest": DIGEST, "size": len(b"weights-of-the-model")}

CASES = [
    Case("GET /api/v1/health", V1 + "/health", "public", 200),
    # registries
    Case("GET /api/v1/registries", V1 + "/registries", "authenticated", 200),
    Case(
        "POST /api/v1/registries",
        V1 + "/registries",
        "org_admin",
        201,
        body={"name": "{new}"},
        prepare=_new("r"),
        events=("registry.created",),
    ),
    Case("GET /api/v1/registries/{registry}", R, "read", 200),
    Case(
        "PATCH /api/v1/registries/{registry}",
        R,
        "administer",
        200,
        body={"description": "d"},
        events=("registry.updated",),
    ),
    Case("DELETE /api/v1/registries/{registry}", R, "administer", 204, prepare=_registry, events=("registry.deleted",)),
    Case("GET /api/v1/search", V1 + "/search", "authenticated", 200),
    # collections
    Case("GET /api/v1/registries/{registry}/collections", R + "/collections", "read", 200),
    Case(
        "POST /api/v1/registries/{registry}/collections",
        R + "/collections",
        "write",
        201,
        body={"name": "{new}"},
        prepare=_new("n"),
        events=("collection.created",),
    ),
    Case("GET /api/v1/registries/{registry}/collections/{collection}", C, "read", 200),
    Case(
        "PATCH /api/v1/registries/{registry}/collections/{collection}",
        C,
        "write",
        200,
        body={"description": "d"},
        events=("collection.updated",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/collections/{collection}",
        R + "/collections/{coll}",
        "delete_collection",
        204,
        prepare=_collection,
        events=("collection.deleted",),
    ),
    Case(
        "PUT /api/v1/registries/{registry}/collections/{collection}/tags/{key:path}",
        C + "/tags/team",
        "write",
        204,
        body={"value": "x"},
        events=("collection.tag_set",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/collections/{collection}/tags/{key:path}",
        C + "/tags/{key}",
        "write",
        204,
        prepare=_collection_tag,
        events=("collection.tag_unset",),
    ),
    # versions
    Case("GET /api/v1/registries/{registry}/collections/{collection}/versions", C + "/versions", "read", 200),
    Case(
        "POST /api/v1/registries/{registry}/collections/{collection}/versions",
        C + "/versions",
        "write",
        201,
        body={"files": [FILE_SPEC]},
        events=("version.created",),
    ),
    Case("GET /api/v1/registries/{registry}/collections/{collection}/versions/{ref}", C + "/versions/1", "read", 200),
    Case(
        "PATCH /api/v1/registries/{registry}/collections/{collection}/versions/{ref}",
        C + "/versions/1",
        "write",
        200,
        body={"description": "d"},
        events=("version.updated",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/collections/{collection}/versions/{ref}",
        C + "/versions/{number}",
        "write",
        204,
        prepare=_version,
        events=("version.deleted",),
    ),
    Case(
        "PUT /api/v1/registries/{registry}/collections/{collection}/versions/{number}/tags/{key:path}",
        C + "/versions/1/tags/team",
        "write",
        204,
        body={"value": "x"},
        events=("version.tag_set",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/collections/{collection}/versions/{number}/tags/{key:path}",
        C + "/versions/1/tags/{key}",
        "write",
        204,
        prepare=_version_tag,
        events=("version.tag_unset",),
    ),
    Case(
        "PUT /api/v1/registries/{registry}/collections/{collection}/versions/{number}/stage",
        C + "/versions/2/stage",
        "write",
        200,
        body={"stage": "Staging"},
        events=("version.stage_changed",),
    ),
    # aliases
    Case("GET /api/v1/registries/{registry}/collections/{collection}/aliases", C + "/aliases", "read", 200),
    Case(
        "PUT /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}",
        C + "/aliases/{new}",
        "write",
        200,
        body={"version": 2},
        prepare=_new("a"),
        events=("alias.set",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}",
        C + "/aliases/{alias}",
        "write",
        204,
        prepare=_alias,
        events=("alias.unset",),
    ),
    Case(
        "GET /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}/history",
        C + "/aliases/champion/history",
        "read",
        200,
    ),
    Case(
        "GET /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}/at",
        C + "/aliases/champion/at",
        "read",
        200,
        params={"time": "2100-01-01T00:00:00Z"},
    ),
    Case(
        "POST /api/v1/registries/{registry}/collections/{collection}/aliases/{alias}/rollback",
        C + "/aliases/champion/rollback",
        "write",
        200,
        body={"to": 1},
        prepare=_champion_on_2,
        events=("alias.set",),
    ),
    Case("GET /api/v1/resolve", V1 + "/resolve", "read", 200, params={"path": "{reg}/c:champion"}),
    # bytes
    Case(
        "POST /api/v1/registries/{registry}/blobs/missing",
        R + "/blobs/missing",
        "write",
        200,
        body={"digests": [DIGEST]},
    ),
    Case(
        "POST /api/v1/registries/{registry}/uploads",
        R + "/uploads",
        "write",
        201,
        body={"digest": UPLOAD_DIGEST, "size": len(UPLOAD_DATA)},
    ),
    Case("GET /api/v1/uploads", V1 + "/uploads", "authenticated", 200),
    Case("GET /api/v1/uploads/{upload_id}", V1 + "/uploads/{upload}", "write", 200, prepare=_upload()),
    Case(
        "PATCH /api/v1/uploads/{upload_id}",
        V1 + "/uploads/{upload}",
        "write",
        200,
        content=UPLOAD_DATA,
        headers={"Upload-Offset": "0"},
        prepare=_upload(),
    ),
    Case(
        "POST /api/v1/uploads/{upload_id}/commit",
        V1 + "/uploads/{upload}/commit",
        "write",
        200,
        prepare=_upload(write=True),
    ),
    Case("DELETE /api/v1/uploads/{upload_id}", V1 + "/uploads/{upload}", "write", 204, prepare=_upload()),
    Case(
        "GET /api/v1/registries/{registry}/collections/{collection}/versions/{ref}/files/{path:path}",
        C + "/versions/1/files/model.bin",
        "download",
        200,
    ),
    Case(
        "HEAD /api/v1/registries/{registry}/collections/{collection}/versions/{ref}/files/{path:path}",
        C + "/versions/champion/files/model.bin",
        "download",
        200,
    ),
    # identities
    Case("GET /api/v1/whoami", V1 + "/whoami", "authenticated", 200),
    Case("GET /api/v1/principals", V1 + "/principals", "authenticated", 200),
    Case(
        "POST /api/v1/principals",
        V1 + "/principals",
        "org_admin",
        201,
        body={"name": "{new}"},
        prepare=_new("u"),
        events=("principal.created",),
    ),
    Case("GET /api/v1/principals/{name}", V1 + "/principals/bystander", "authenticated", 200),
    Case(
        "PATCH /api/v1/principals/{name}",
        V1 + "/principals/bystander",
        "org_admin",
        200,
        body={"disabled": False},
        events=("principal.updated",),
    ),
    Case("GET /api/v1/teams", V1 + "/teams", "authenticated", 200),
    Case(
        "POST /api/v1/teams",
        V1 + "/teams",
        "org_admin",
        201,
        body={"name": "{new}"},
        prepare=_new("t"),
        events=("team.created",),
    ),
    Case("GET /api/v1/teams/{team}", V1 + "/teams/ml", "authenticated", 200),
    Case(
        "POST /api/v1/teams/{team}/members",
        V1 + "/teams/{team}/members",
        "org_admin",
        200,
        body={"principal": "bystander"},
        prepare=_team(()),
        events=("team.member_added",),
    ),
    Case(
        "DELETE /api/v1/teams/{team}/members/{principal}",
        V1 + "/teams/{team}/members/bystander",
        "org_admin",
        200,
        prepare=_team(("bystander",)),
        events=("team.member_removed",),
    ),
    Case("GET /api/v1/tokens", V1 + "/tokens", "authenticated", 200),
    Case(
        "POST /api/v1/tokens",
        V1 + "/tokens",
        "authenticated",
        201,
        body={"name": "{new}"},
        prepare=_new("k"),
        events=("token.created",),
    ),
    Case(
        "DELETE /api/v1/tokens/{token_id}",
        V1 + "/tokens/{token_id}",
        "authenticated",
        200,
        prepare=_own_token,
        per_caller=True,
        events=("token.revoked",),
    ),
    # registry membership and alias policies
    Case("GET /api/v1/registries/{registry}/members", R + "/members", "read", 200),
    Case(
        "PUT /api/v1/registries/{registry}/members",
        R + "/members",
        "administer",
        200,
        body={"subject_kind": "user", "subject": "bystander", "role": "viewer"},
        events=("grant.set",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/members/{subject_kind}/{subject}",
        R + "/members/user/bystander",
        "administer",
        204,
        prepare=_bystander_grant,
        events=("grant.removed",),
    ),
    Case("GET /api/v1/registries/{registry}/alias-policies", R + "/alias-policies", "read", 200),
    Case(
        "PUT /api/v1/registries/{registry}/alias-policies/{alias}",
        R + "/alias-policies/{new}",
        "administer",
        200,
        body={},
        prepare=_new("p"),
        events=("alias_policy.set",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/alias-policies/{alias}",
        R + "/alias-policies/{alias}",
        "administer",
        204,
        prepare=_alias_policy,
        events=("alias_policy.removed",),
    ),
    # audit
    Case("GET /api/v1/events", V1 + "/events", "authenticated", 200),
    Case("GET /api/v1/events/export", V1 + "/events/export", "authenticated", 200),
    Case("GET /api/v1/audit/verify", V1 + "/audit/verify", "org_admin", 200),
    # promotion
    Case(
        "PUT /api/v1/registries/{registry}/promotion-policies",
        R + "/promotion-policies",
        "administer",
        200,
        body={"target": "{new}", "requirements": {"approvals": 1}},
        prepare=_new("g"),
        events=("alias_policy.set",),
    ),
    Case(
        "POST /api/v1/registries/{registry}/collections/{collection}/versions/{number}/checks",
        C + "/versions/1/checks",
        "write",
        201,
        body={"name": "ci", "status": "success"},
        events=("check.reported",),
    ),
    Case(
        "GET /api/v1/registries/{registry}/collections/{collection}/versions/{number}/checks",
        C + "/versions/1/checks",
        "read",
        200,
    ),
    Case(
        "POST /api/v1/registries/{registry}/collections/{collection}/promotions",
        C + "/promotions",
        "write",
        201,
        body={"version": 1, "target": "{new}"},
        prepare=_new("q"),
        events=("promotion.requested", "alias.set", "promotion.completed"),
    ),
    Case("GET /api/v1/registries/{registry}/collections/{collection}/promotions", C + "/promotions", "read", 200),
    Case("GET /api/v1/promotions/{request_id}", V1 + "/promotions/{rid}", "read", 200, prepare=_open_request),
    # approving needs the policy's approver_role ('member' by default), not write access as such
    Case(
        "POST /api/v1/promotions/{request_id}/approve",
        V1 + "/promotions/{rid}/approve",
        "write",
        200,
        body={},
        prepare=_open_request,
        events=("promotion.approved",),
    ),
    Case(
        "POST /api/v1/promotions/{request_id}/reject",
        V1 + "/promotions/{rid}/reject",
        "write",
        200,
        body={},
        prepare=_request("gate"),
        events=("promotion.rejected",),
    ),
    # the request is someone else's ('system'): only registry admins may cancel or complete it
    Case(
        "POST /api/v1/promotions/{request_id}/cancel",
        V1 + "/promotions/{rid}/cancel",
        "administer",
        200,
        prepare=_request("gate"),
        events=("promotion.cancelled",),
    ),
    Case(
        "POST /api/v1/promotions/{request_id}/complete",
        V1 + "/promotions/{rid}/complete",
        "administer",
        200,
        prepare=_request("manual"),
        events=("alias.set", "promotion.completed"),
    ),
    # webhooks: registry admins only (the delivery worker is off in this world, so nothing is sent)
    Case(
        "POST /api/v1/registries/{registry}/webhooks",
        R + "/webhooks",
        "administer",
        201,
        body={"name": "{new}", "url": HOOK_URL, "events": ["alias.*"]},
        prepare=_new("hook"),
        events=("webhook.created",),
    ),
    Case("GET /api/v1/registries/{registry}/webhooks", R + "/webhooks", "administer", 200),
    Case(
        "GET /api/v1/registries/{registry}/webhooks/{name}", R + "/webhooks/{hook}", "administer", 200, prepare=_webhook
    ),
    Case(
        "PATCH /api/v1/registries/{registry}/webhooks/{name}",
        R + "/webhooks/{hook}",
        "administer",
        200,
        body={"events": ["version.*"]},
        prepare=_webhook,
        events=("webhook.updated",),
    ),
    Case(
        "DELETE /api/v1/registries/{registry}/webhooks/{name}",
        R + "/webhooks/{hook}",
        "administer",
        204,
        prepare=_webhook,
        events=("webhook.deleted",),
    ),
    Case(
        "GET /api/v1/registries/{registry}/webhooks/{name}/deliveries",
        R + "/webhooks/{hook}/deliveries",
        "administer",
        200,
        prepare=_webhook,
    ),
    Case(
        "GET /api/v1/registries/{registry}/webhooks/{name}/deliveries/{delivery_id}",
        R + "/webhooks/{hook}/deliveries/{delivery}",
        "administer",
        200,
        prepare=_delivery,
    ),
    # a ping and a redelivery queue a delivery row; they change no registry state, so no event
    Case(
        "POST /api/v1/registries/{registry}/webhooks/{name}/deliveries/{delivery_id}/redeliver",
        R + "/webhooks/{hook}/deliveries/{delivery}/redeliver",
        "administer",
        202,
        prepare=_delivery,
    ),
    Case(
        "POST /api/v1/registries/{registry}/webhooks/{name}/ping",
        R + "/webhooks/{hook}/ping",
        "administer",
        202,
        prepare=_webhook,
    ),
    # watch: a bounded stream (max_seconds) so a successful call returns
    Case("GET /api/v1/watch", V1 + "/watch", "read", 200, params={"target": "{reg}/c@champion", "max_seconds": 0.2}),
]
CASE_BY_ROUTE = {c.route: c for c in CASES}


def api_routes(app: Any) -> set[str]:
    """Every 'METHOD /api/v1/...' the app serves (walks included routers, however FastAPI nests them)."""
    out: set[str] = set()

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI >= 0.16x keeps included routers lazily
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute) and (prefix + r.path).startswith("/api/v1"):
                out.update(f"{m} {prefix + r.path}" for m in r.methods)

    walk(app.routes, "")
    return out


def expected_status(case: Case, who: str | None, visibility: str) -> int:
    if case.need == "public":
        return case.ok
    if who is None:
        return 401
    if case.need == "authenticated":
        return case.ok
    if case.need == "org_admin":
        return case.ok if who == "root" else 403
    role = EFFECTIVE[visibility][who]
    if role is None:
        return 404
    return case.ok if RANK[role] >= RANK[MIN_ROLE[case.need]] else 403


def _fmt(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fmt(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fmt(v, values) for v in value]
    return value


ERROR_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


def run_case(w: World, case: Case) -> None:
    failures = []
    for visibility, reg in (("organization", "open"), ("restricted", "secret")):
        prepared: dict[str, Any] | None = None
        first_success = True
        for who in WHO:
            if prepared is None or case.per_caller:
                prepared = case.prepare(w, reg, who, visibility) if case.prepare else {}
            values = {"reg": reg, **prepared}
            before_count = w.event_count()
            before = w.snapshot() if case.mutating else None
            r = w.request(
                case.method,
                _fmt(case.path, values),
                who,
                json=_fmt(case.body, values),
                params=_fmt(case.params, values),
                content=case.content,
                headers=dict(case.headers),
            )
            want = expected_status(case, who, visibility)
            label = f"{case.route} as {who or 'anonymous'} on {visibility} registry: "
            if r.status_code != want:
                failures.append(f"{label}got {r.status_code}, want {want}: {r.text[:200]}")
                continue
            if want >= 400:
                if case.method != "HEAD":
                    assert r.json()["code"] == ERROR_CODES[want], label + r.text
                if before is not None:
                    assert w.snapshot() == before, label + "a denied write changed the database or the blobs"
                assert w.event_count() == before_count, label + "a denied request appended an event"
                continue
            if case.mutating:
                prepared = None  # a success consumes what was prepared
            if not case.mutating:
                assert w.event_count() == before_count, label + "a read appended an event"
            elif first_success:
                first_success = False
                new = w.events()[before_count:]
                assert [e.action for e in new] == list(case.events), label + f"events {[e.action for e in new]}"
                for e in new:
                    assert (e.actor, e.token_name) == (who, "t"), label + f"event actor {e.actor}/{e.token_name}"
                    assert e.request_id == r.headers["X-Request-ID"], label + "event lacks the request id"
                    assert e.client_address == "testclient", label + "event lacks the client address"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_route_has_a_matrix_entry(world: World) -> None:
    served = api_routes(world.http.app)
    missing = served - set(CASE_BY_ROUTE)
    assert not missing, f"routes without a permission-matrix entry in {__name__}.CASES: {sorted(missing)}"
    stale = set(CASE_BY_ROUTE) - served
    assert not stale, f"matrix entries for routes the app does not serve: {sorted(stale)}"
    assert len(CASE_BY_ROUTE) == len(CASES), "two matrix entries for the same route"


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("route", [c.route for c in CASES])
def test_matrix(world: World, route: str) -> None:
    run_case(world, CASE_BY_ROUTE[route])


PG_SLICE = [
    "POST /api/v1/registries/{registry}/collections/{collection}/versions",
    "GET /api/v1/registries/{registry}/collections/{collection}/versions/{ref}/files/{path:path}",
    "DELETE /api/v1/registries/{registry}/collections/{collection}",
    "PUT /api/v1/registries/{registry}/members",
    "GET /api/v1/search",
]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_matrix_slice_on_postgresql(world: World) -> None:
    for route in PG_SLICE:
        run_case(world, CASE_BY_ROUTE[route])
