"""Authentication and access beyond the matrix: invisible registries (404 with the very message
of a missing one, absent from lists and search), tokens (hashed at rest, expiry, revocation,
HTTP Basic), protected aliases, bad input, and `modelyard serve` refusing auth-off on a public
address."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from gov_world import FILES, World
from sqlalchemy import text

from modelyard.domain.actor import SYSTEM
from modelyard.services.identity import hash_token

C = "/api/v1/registries/{}/collections/c"


def _error(r: Any) -> tuple[int, str, str]:
    body = r.json()
    details = {k: v for k, v in body["details"].items() if k != "request_id"}
    return r.status_code, body["code"], f"{body['message']} {sorted(details.items())}"


# -- restricted registries are invisible ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/registries/{}",
        "/api/v1/registries/{}/collections",
        "/api/v1/registries/{}/collections/c",
        "/api/v1/registries/{}/collections/nope",
        "/api/v1/registries/{}/collections/c/versions/1",
        "/api/v1/registries/{}/collections/c/versions/1/files/model.bin",
        "/api/v1/registries/{}/members",
        "/api/v1/resolve?path={}/c:1",
    ],
)
def test_invisible_registry_answers_exactly_like_a_missing_one(world: World, path: str) -> None:
    hidden = world.request("GET", path.format("secret"), "outsider")
    missing = world.request("GET", path.format("secret"), "root")  # sanity: it exists
    assert missing.status_code == 200 or "nope" in path
    world.services.registry.create_registry(SYSTEM, "secret2", visibility="restricted")
    absent = world.request("GET", path.format("nothere"), "outsider")
    # same status, code, message and details once the name is swapped
    got = _error(hidden)
    want = _error(absent)
    assert got[0] == 404 and got[1] == "NOT_FOUND"
    assert got == (want[0], want[1], want[2].replace("nothere", "secret")), (got, want)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_invisible_registry_is_absent_from_lists_search_and_events(world: World) -> None:
    for who, sees_secret in [("outsider", False), ("rviewer", True), ("teamuser", True), ("root", True)]:
        names = {r["name"] for r in world.request("GET", "/api/v1/registries", who).json()["items"]}
        assert ("secret" in names) is sees_secret and "open" in names, who
        found = world.request("GET", "/api/v1/search", who, params={"q": "c"}).json()["items"]
        assert {c["registry"] for c in found} == ({"open", "secret"} if sees_secret else {"open"}), who
        events = world.request("GET", "/api/v1/events", who, params={"page_size": 1000}).json()["items"]
        assert any(e["registry"] == "secret" for e in events) is sees_secret, who
        export = world.request("GET", "/api/v1/events/export", who).text
        assert ('"registry": "secret"' in export) is sees_secret, who
    # asking search for the hidden registry by name is the same 404 as for a missing one
    hidden = world.request("GET", "/api/v1/search", "outsider", params={"registry": "secret"})
    absent = world.request("GET", "/api/v1/search", "outsider", params={"registry": "nothere"})
    assert _error(hidden) == (404, "NOT_FOUND", _error(absent)[2].replace("nothere", "secret"))


def test_restricted_viewer_sees_metadata_but_cannot_download(world: World) -> None:
    assert world.request("GET", C.format("secret") + "/versions/1", "rviewer").json()["files"][0]["path"] == "model.bin"
    r = world.request("GET", C.format("secret") + "/versions/1/files/model.bin", "rviewer")
    assert r.status_code == 403 and r.json()["details"]["required_role"] == "viewer"
    r = world.request("GET", C.format("secret") + "/versions/1/files/model.bin", "viewer")
    assert r.content == b"weights-of-the-model"


@pytest.mark.parametrize("registry", ["secret", "open"])
def test_mlflow_artifact_proxy_serves_bytes_by_the_download_rule(world: World, registry: str) -> None:
    """Side door: the MLflow proxy serves a version's files only to those the native route serves them to."""
    proxy = f"/api/2.0/mlflow-artifacts/artifacts/_modelyard/{registry}/c/1/model.bin"
    native = C.format(registry) + "/versions/1/files/model.bin"
    for who in ["rviewer", "viewer", "member", "outsider"]:
        want = world.request("GET", native, who)
        got = world.request("GET", proxy, who)
        assert (got.status_code == 200) is (want.status_code == 200), (who, got.status_code, want.status_code)
        if got.status_code == 200:
            assert got.content == want.content == b"weights-of-the-model"
    # listing names is metadata: a restricted viewer may list but not read
    listing = world.request(
        "GET", "/api/2.0/mlflow-artifacts/artifacts", "rviewer", params={"path": f"_modelyard/{registry}/c/1"}
    )
    assert listing.status_code == 200 and [f["path"] for f in listing.json()["files"]] == ["model.bin"]
    # in the organization-visible registry every org member is at least a viewer
    assert world.request("GET", proxy, "rviewer").status_code == (403 if registry == "secret" else 200)
    # and MLflow's UI door, /model-versions/get-artifact, answers by the same rule
    ui_door = f"/mlflow/{registry}/model-versions/get-artifact"
    params = {"name": "c", "version": "1", "path": "model.bin"}
    for who in ["rviewer", "viewer", "member", "outsider"]:
        want = world.request("GET", native, who)
        got = world.request("GET", ui_door, who, params=params)
        assert (got.status_code == 200) is (want.status_code == 200), (who, got.status_code, want.status_code)
        if got.status_code == 200:
            assert got.content == b"weights-of-the-model"


def test_effective_role_is_the_highest_of_direct_team_and_org_admin(world: World) -> None:
    # teamuser: restricted_viewer directly, member through team 'ml' -> may write
    assert world.request("PUT", C.format("secret") + "/tags/x", "teamuser", json={"value": "1"}).status_code == 204
    world.services.identity.remove_team_member(SYSTEM, "ml", "teamuser")
    r = world.request("PUT", C.format("secret") + "/tags/x", "teamuser", json={"value": "2"})
    assert r.status_code == 403  # back to restricted_viewer
    # a grant on one registry gives nothing on another
    world.services.registry.create_registry(SYSTEM, "other", visibility="restricted")
    assert world.request("GET", "/api/v1/registries/other", "radmin").status_code == 404
    assert world.request("GET", "/api/v1/registries/other", "root").status_code == 200


def test_registry_admin_manages_members_visibility_types_and_policies(world: World) -> None:
    base = "/api/v1/registries/secret"
    r = world.request(
        "PUT", base + "/members", "radmin", json={"subject_kind": "user", "subject": "outsider", "role": "viewer"}
    )
    assert r.status_code == 200
    assert world.request("GET", base, "outsider").status_code == 200
    r = world.request("PATCH", base, "radmin", json={"visibility": "organization", "artifact_types": ["model", "x"]})
    assert r.status_code == 200 and r.json()["artifact_types"] == ["model", "x"]
    assert world.request("GET", base, "bystander").status_code == 200  # now organization-visible
    assert world.request("PUT", base + "/alias-policies/prod", "radmin", json={}).status_code == 200
    # but not org-level things
    assert world.request("POST", "/api/v1/registries", "radmin", json={"name": "mine"}).status_code == 403
    assert world.request("POST", "/api/v1/principals", "radmin", json={"name": "someone"}).status_code == 403


# -- tokens ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_database_holds_no_usable_token(world: World) -> None:
    with world.services.db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) >= len(world.tokens)
    secrets_ = set(world.tokens.values())
    stored = {str(v) for row in rows for v in row.values() if v is not None}
    for secret in secrets_:
        assert secret not in stored
        assert not any(secret in value for value in stored), "a stored value contains a token"
        assert hash_token(secret) in stored  # what is stored is the sha256
    for row in rows:
        assert len(row["prefix"]) <= 10  # a display prefix, far too short to use
        for value in row.values():
            if isinstance(value, str) and value:
                r = world.http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {value}"})
                assert r.status_code == 401, f"the stored value {value[:12]}… authenticates"


def test_revoked_token_is_refused_on_the_next_request(world: World) -> None:
    new = world.services.identity.create_token(SYSTEM, name="temp", principal="member")
    auth = {"Authorization": f"Bearer {new.secret}"}
    assert world.http.get("/api/v1/whoami", headers=auth).json()["token_name"] == "temp"
    assert world.http.delete(f"/api/v1/tokens/{new.info.id}", headers=auth).status_code == 200
    r = world.http.get("/api/v1/whoami", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    assert world.request("GET", "/api/v1/whoami", "member").status_code == 200  # other tokens still work


def test_others_tokens_are_invisible_to_non_admins(world: World) -> None:
    new = world.services.identity.create_token(SYSTEM, name="mine", principal="member")
    r = world.request("DELETE", f"/api/v1/tokens/{new.info.id}", "viewer")
    assert r.status_code == 404 and r.json()["message"] == f"no token with id {new.info.id}"
    assert world.request("GET", "/api/v1/tokens", "viewer", params={"principal": "member"}).status_code == 403
    assert world.request("DELETE", f"/api/v1/tokens/{new.info.id}", "root").status_code == 200


def test_expired_token_is_refused(world: World) -> None:
    svc = world.services
    new = svc.identity.create_token(SYSTEM, name="short", principal="member", expires_in=timedelta(days=1))
    auth = {"Authorization": f"Bearer {new.secret}"}
    assert world.http.get("/api/v1/whoami", headers=auth).status_code == 200
    real_clock = svc.identity._clock
    svc.identity._clock = lambda: real_clock() + timedelta(days=1, seconds=1)
    try:
        r = world.http.get("/api/v1/whoami", headers=auth)
    finally:
        svc.identity._clock = real_clock
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_disabled_account_is_refused(world: World) -> None:
    assert world.request("PATCH", "/api/v1/principals/member", "root", json={"disabled": True}).status_code == 200
    r = world.request("GET", "/api/v1/whoami", "member")
    assert r.status_code == 401 and "disabled" in r.json()["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer my_not-a-real-token",
        "Bearer ",
        "Token abc",
        "Basic !!!notb64",
        "Basic " + base64.b64encode(b"user-without-password").decode(),
    ],
)
def test_bad_credentials_are_401(world: World, header: str) -> None:
    r = world.http.get("/api/v1/registries", headers={"Authorization": header})
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"


def test_http_basic_with_any_username_and_the_token_as_password(world: World) -> None:
    for user in ("anything", "ci", ""):
        basic = base64.b64encode(f"{user}:{world.tokens['ci']}".encode()).decode()
        r = world.http.get("/api/v1/whoami", headers={"Authorization": f"Basic {basic}"})
        assert r.status_code == 200 and r.json()["name"] == "ci" and r.json()["kind"] == "service_account"


def test_service_account_pushes_and_the_event_names_it_and_its_token(world: World) -> None:
    body = {"files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in FILES]}
    r = world.request("POST", C.format("secret") + "/versions", "ci", json=body, headers={"X-Request-ID": "ci-42"})
    assert r.status_code == 201
    e = world.events()[-1]
    assert (e.action, e.actor, e.token_name, e.request_id) == ("version.created", "ci", "t", "ci-42")
    assert e.target == "secret/c:3" and e.client_address == "testclient" and e.at.tzinfo is not None


# -- protected aliases ---------------------------------------------------------------------------------


def test_protected_alias_only_registry_admins_set_move_or_remove(world: World) -> None:
    assert world.request("PUT", "/api/v1/registries/open/alias-policies/champion", "radmin", json={}).status_code == 200
    url = C.format("open") + "/aliases/champion"
    for who in ("member", "ci", "teamuser"):
        before = world.snapshot()
        r = world.request("PUT", url, who, json={"version": 2})
        assert r.status_code == 403 and r.json()["details"]["required_role"] == "admin", r.text
        assert world.request("DELETE", url, who).status_code == 403
        assert world.snapshot() == before
    new = world.request("PUT", C.format("open") + "/aliases/guarded", "member", json={"version": 1})
    assert new.status_code == 403  # a registry-wide protected name cannot even be created by a member
    assert world.request("PUT", url, "radmin", json={"version": 2}).json() == {"alias": "champion", "version": 2}
    assert world.request("PUT", url, "root", json={"version": 1}).status_code == 200
    # deleting the version it points to is removing it: admins only
    assert world.request("DELETE", C.format("open") + "/versions/1", "member").status_code == 403
    assert world.request("DELETE", url, "radmin").status_code == 204


def test_collection_holding_a_protected_alias_cannot_be_deleted_by_a_non_admin(world: World) -> None:
    world.services.registry.create_collection(SYSTEM, "open", "doomed")
    world.services.registry.create_version(SYSTEM, "open", "doomed", files=FILES, aliases=["guarded"])
    url = "/api/v1/registries/open/collections/doomed"
    before = world.snapshot()
    r = world.request("DELETE", url, "member")
    assert r.status_code == 403 and r.json()["details"]["required_role"] == "admin"
    assert world.snapshot() == before
    assert world.request("DELETE", url, "radmin").status_code == 204
    # without a protected alias a member may delete a collection
    world.services.registry.create_collection(SYSTEM, "open", "plain")
    assert world.request("DELETE", "/api/v1/registries/open/collections/plain", "member").status_code == 204


def test_collection_override_can_unprotect_one_collection(world: World) -> None:
    r = world.request(
        "PUT", "/api/v1/registries/open/alias-policies/guarded", "radmin", json={"collection": "c", "protected": False}
    )
    assert r.status_code == 200
    assert world.request("PUT", C.format("open") + "/aliases/guarded", "member", json={"version": 1}).status_code == 200


# -- bad input: clear 4xx, nothing changed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        (
            "PUT",
            "/api/v1/registries/open/members",
            {"subject_kind": "user", "subject": "ghost", "role": "viewer"},
            404,
            "principal_not_found",
        ),
        (
            "PUT",
            "/api/v1/registries/open/members",
            {"subject_kind": "team", "subject": "ghosts", "role": "viewer"},
            404,
            "principal_not_found",
        ),
        (
            "PUT",
            "/api/v1/registries/open/members",
            {"subject_kind": "user", "subject": "member", "role": "owner"},
            400,
            "invalid_argument",
        ),
        (
            "PUT",
            "/api/v1/registries/open/members",
            {"subject_kind": "service_account", "subject": "member", "role": "viewer"},
            400,
            "invalid_argument",
        ),
        (
            "PUT",
            "/api/v1/registries/ghost/members",
            {"subject_kind": "user", "subject": "member", "role": "viewer"},
            404,
            "registry_not_found",
        ),
        ("DELETE", "/api/v1/registries/open/members/user/outsider", None, 404, "not_found"),
        ("POST", "/api/v1/teams/ml/members", {"principal": "ghost"}, 404, "principal_not_found"),
        ("POST", "/api/v1/teams/ghosts/members", {"principal": "member"}, 404, "principal_not_found"),
        ("PATCH", "/api/v1/principals/ghost", {"disabled": True}, 404, "principal_not_found"),
        ("POST", "/api/v1/tokens", {"name": "x", "principal": "ghost"}, 404, "principal_not_found"),
        ("POST", "/api/v1/principals", {"name": "Not Valid"}, 400, "invalid_name"),
        ("POST", "/api/v1/principals", {"name": "member"}, 409, "already_exists"),
        ("DELETE", "/api/v1/tokens/999999", None, 404, "not_found"),
        (
            "PUT",
            "/api/v1/registries/open/alias-policies/champion",
            {"collection": "ghost"},
            404,
            "collection_not_found",
        ),
    ],
)
def test_bad_governance_input_is_a_clear_4xx_and_changes_nothing(
    world: World, method: str, path: str, body: Any, status: int, reason: str
) -> None:
    before = world.snapshot()
    r = world.request(method, path, "root", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["details"]["reason"] == reason and payload["message"], payload
    assert world.snapshot() == before


# -- serve ----------------------------------------------------------------------------------------------


def test_serve_refuses_auth_off_on_a_public_address(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from modelyard.cli import main

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    for key in (
        "MODELYARD_DATA_DIR",
        "MODELYARD_HOST",
        "MODELYARD_AUTH",
        "MODELYARD_INSECURE_ALLOW_NO_AUTH_ON_PUBLIC_ADDRESS",
    ):
        monkeypatch.setenv(key, "")  # recorded, so whatever serve writes is undone after the test
        monkeypatch.delenv(key)
    runner = CliRunner()
    data = str(tmp_path / "d")
    r = runner.invoke(main, ["serve", "--data-dir", data, "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "refusing to serve on 0.0.0.0 without authentication" in r.output
    assert calls == []
    r = runner.invoke(main, ["serve", "--data-dir", data, "--host", "0.0.0.0", "--insecure-no-auth-on-public-address"])
    assert r.exit_code == 0 and "WARNING: authentication is OFF" in r.output and len(calls) == 1
    r = runner.invoke(main, ["serve", "--data-dir", data])  # loopback: allowed, but loudly
    assert r.exit_code == 0 and "WARNING: authentication is OFF" in r.output and len(calls) == 2
    r = runner.invoke(main, ["admin", "bootstrap", "alice", "--data-dir", data])
    assert r.exit_code == 0 and "my_" in r.output
    r = runner.invoke(main, ["serve", "--data-dir", data, "--host", "0.0.0.0"])  # auth on now
    assert r.exit_code == 0 and "WARNING" not in r.output and "auth on" in r.output and len(calls) == 3


@pytest.mark.parametrize("days", [1e308, 3651, 0, -1])
def test_a_token_lifetime_outside_ten_years_is_a_400_not_a_500(world: World, days: float) -> None:
    """Found by schemathesis: a huge ``expires_in_days`` overflowed ``timedelta`` (500)."""
    r = world.request(
        "POST", "/api/v1/tokens", "root", json={"name": "too-long", "principal": "viewer", "expires_in_days": days}
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_ARGUMENT", r.text
    ok = world.request(
        "POST", "/api/v1/tokens", "root", json={"name": "ten-years", "principal": "viewer", "expires_in_days": 3650}
    )
    assert ok.status_code == 201, ok.text
