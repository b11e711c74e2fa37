"""Lockouts (issue 8, item 9): the rules of docs/security.md "Lockouts" and their offline recovery.

* ``auth=auto`` turns on with the first token, not when any user exists; the first token is an admin's;
* ``admin bootstrap`` works whenever no active org admin holds a valid token, and says who does
  when it refuses;
* operator commands create no database where they find none, and say where they looked;
* the last active org admin with a valid token cannot be demoted, disabled or lose its last token;
* offline recovery: ``admin tokens reset NAME`` and ``admin bootstrap`` on the server's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from gov_world import World
from sqlalchemy import text

from modelyard.bootstrap import Services, build_registry
from modelyard.cli import main
from modelyard.domain.actor import SYSTEM
from modelyard.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
ENV_KEYS = ("MODELYARD_DATA_DIR", "MODELYARD_DATABASE_URL", "MODELYARD_AUTH", "MODELYARD_BLOBS__ROOT")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MODELYARD_* setting leaks in from the developer's shell."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


def _cli(settings: Settings, *args: str) -> Result:
    """Run a CLI command against the test's database (SQLite or PostgreSQL) through the environment."""
    env = {"MODELYARD_DATABASE_URL": settings.resolved_database_url(), "MODELYARD_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(main, list(args), env=env)


def _error(r: Any) -> tuple[int, str, str]:
    body = r.json()
    return r.status_code, body["code"], body["details"]["reason"]


@pytest.fixture
def auto(settings: Settings) -> Iterator[tuple[Services, Any]]:
    """An in-process app in the default ``auth=auto`` mode on a fresh database."""
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app

    assert settings.auth == "auto"
    svc = build_registry(settings.model_copy(update={"webhook_delivery": False}))
    try:
        with TestClient(create_app(services=svc), raise_server_exceptions=False) as client:
            yield svc, client
    finally:
        svc.close()


def _expire_tokens(world: World, principal: str | None) -> None:
    """Let the tokens of ``principal`` (or everyone's) expire yesterday, straight in the database."""
    where = "" if principal is None else " WHERE principal_id = (SELECT id FROM principals WHERE name = :p)"
    with world.services.db.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE api_tokens SET expires_at = :t{where}"),
            {"t": datetime.now(UTC) - timedelta(days=1), "p": principal},
        )


# -- auth=auto: on once an active org admin holds a token ------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_auto_auth_stays_off_until_an_org_admin_holds_a_token(auto: tuple[Services, Any]) -> None:
    svc, http = auto
    # Single-user mode: creating users (even an org admin) asks nobody for a token that does not exist.
    assert http.post("/api/v1/principals", json={"name": "bob"}).status_code == 201
    assert http.get("/api/v1/whoami").json() == {
        "name": "local",
        "kind": "user",
        "org_admin": True,
        "token_name": "",
        "auth_enabled": False,
    }
    assert http.post("/api/v1/principals", json={"name": "carol", "org_admin": True}).status_code == 201
    assert http.get("/api/v1/registries").status_code == 200  # an admin without a token: still off
    # A plain user's token first would turn auth on with no admin able to sign in: refused, nothing stored.
    r = http.post("/api/v1/tokens", json={"name": "laptop", "principal": "bob"})
    assert _error(r) == (409, "CONFLICT", "org_admin_token_required")
    assert "Give an org admin its token first" in r.json()["message"]
    assert http.get("/api/v1/tokens", params={"principal": "*"}).json()["items"] == []
    # The operator gives the admin a token (the response is the only place the secret appears) ...
    r = http.post("/api/v1/tokens", json={"name": "first", "principal": "carol"})
    assert r.status_code == 201
    carol = {"Authorization": f"Bearer {r.json()['token']}"}
    # ... and from now on every request needs one, and carol's works (and may now give bob one).
    assert _error(http.get("/api/v1/registries")) == (401, "UNAUTHENTICATED", "unauthenticated")
    who = http.get("/api/v1/whoami", headers=carol).json()
    assert who["name"] == "carol" and who["org_admin"] is True and who["auth_enabled"] is True
    assert http.post("/api/v1/tokens", json={"name": "laptop", "principal": "bob"}, headers=carol).status_code == 201
    assert svc.auth_enabled() is True


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_auto_auth_stays_on_for_a_database_locked_out_before_the_fix(settings: Settings) -> None:
    """A database where users hold tokens but no org admin does (the old code allowed the last
    admin to revoke its token) stays behind authentication, and offline bootstrap recovers it."""
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app

    svc = build_registry(settings)
    try:
        carol = svc.identity.bootstrap_admin(SYSTEM, "carol")
        svc.identity.create_principal(SYSTEM, "bob")
        bob = svc.identity.create_token(SYSTEM, name="laptop", principal="bob")
        with svc.db.engine.begin() as conn:  # the lockout, as the old code could leave it
            conn.execute(text("UPDATE api_tokens SET revoked_at = created_at WHERE id = :i"), {"i": carol.info.id})
    finally:
        svc.close()
    svc = build_registry(settings)
    try:
        with TestClient(create_app(services=svc), raise_server_exceptions=False) as http:
            assert http.get("/api/v1/registries").status_code == 401  # not opened to everyone
            assert http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {bob.secret}"}).status_code == 200
            r = _cli(settings, "admin", "bootstrap", "carol", "--json")
            assert r.exit_code == 0, r.output
            admin = {"Authorization": f"Bearer {json.loads(r.stdout)['token']}"}
            assert http.get("/api/v1/whoami", headers=admin).json()["org_admin"] is True
    finally:
        svc.close()


def test_serve_explains_how_auto_auth_turns_on_and_names_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    for key in (
        "MODELYARD_DATA_DIR",
        "MODELYARD_HOST",
        "MODELYARD_AUTH",
        "MODELYARD_INSECURE_ALLOW_NO_AUTH_ON_PUBLIC_ADDRESS",
    ):
        monkeypatch.setenv(key, "")  # recorded, so whatever serve writes is undone after the test
        monkeypatch.delenv(key)
    data = tmp_path / "server-data"
    r = CliRunner().invoke(main, ["serve", "--data-dir", str(data)])
    assert r.exit_code == 0, r.output
    assert "It turns on with the first API token, an org admin's" in r.output
    assert f"modelyard admin bootstrap <name> --data-dir {data.resolve()}" in r.output


# -- admin bootstrap --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bootstrap_works_after_users_were_created_without_an_admin(
    auto: tuple[Services, Any], settings: Settings
) -> None:
    svc, http = auto
    for name in ("bob", "carol"):
        assert http.post("/api/v1/principals", json={"name": name}).status_code == 201
    assert http.post("/api/v1/principals", json={"name": "dave", "org_admin": True}).status_code == 201

    r = _cli(settings, "admin", "bootstrap", "alice", "--json")
    assert r.exit_code == 0, r.output
    secret = json.loads(r.stdout)["token"]
    who = http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"}).json()
    assert who["name"] == "alice" and who["org_admin"] is True and who["auth_enabled"] is True
    assert http.get("/api/v1/whoami").status_code == 401

    # Refused now, naming who holds a valid token and the offline way out; nothing is written.
    with svc.db.unit_of_work(write=False) as store:
        before = (store.list_principals(), store.list_tokens(), store.chain_head())
    r = _cli(settings, "admin", "bootstrap", "mallory")
    assert r.exit_code == 1
    assert "bootstrap refused: the org admin(s) alice already hold a valid API token" in r.output
    assert "modelyard admin tokens reset alice" in r.output and "an admin already exists" not in r.output
    with svc.db.unit_of_work(write=False) as store:
        assert (store.list_principals(), store.list_tokens(), store.chain_head()) == before


def test_bootstrap_of_an_existing_user_makes_it_an_active_org_admin(
    auto: tuple[Services, Any], settings: Settings
) -> None:
    svc, http = auto
    assert http.post("/api/v1/principals", json={"name": "bob"}).status_code == 201
    assert http.patch("/api/v1/principals/bob", json={"disabled": True}).status_code == 200
    r = _cli(settings, "admin", "bootstrap", "bob", "--json")
    assert r.exit_code == 0, r.output
    secret = json.loads(r.stdout)["token"]
    bob = http.get("/api/v1/principals/bob", headers={"Authorization": f"Bearer {secret}"}).json()
    assert bob["org_admin"] is True and bob["disabled"] is False
    actions = [e.action for e in svc.audit.list_events(None, page_size=100).items]
    assert actions[-2:] == ["principal.updated", "token.created"]


# -- operator commands create no database -------------------------------------------------------------


OFFLINE_COMMANDS = [
    ["admin", "bootstrap", "alice"],
    ["admin", "tokens", "reset", "alice"],
    ["gc"],
    ["uploads", "purge"],
]


@pytest.mark.parametrize("command", OFFLINE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_operator_commands_run_from_another_folder_create_no_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    elsewhere = tmp_path / "second-terminal"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = CliRunner().invoke(main, command)
    assert r.exit_code == 1, r.output
    expected = elsewhere / "modelyard-data" / "modelyard.db"
    assert f"no modelyard database at sqlite:///{expected}" in r.output
    assert f"the default data folder is ./modelyard-data in the current folder ({elsewhere})" in r.output
    assert "--data-dir DIR" in r.output and "MODELYARD_DATABASE_URL" in r.output and "created nothing" in r.output
    assert list(elsewhere.iterdir()) == []  # no folder, no file


def test_operator_commands_create_nothing_at_an_explicit_wrong_location(tmp_path: Path, clean_env: None) -> None:
    wrong = tmp_path / "typo"
    r = CliRunner().invoke(main, ["admin", "bootstrap", "alice", "--data-dir", str(wrong)])
    assert r.exit_code == 1 and f"the data folder is {wrong} (--data-dir or MODELYARD_DATA_DIR)" in r.output
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    r = CliRunner().invoke(main, ["admin", "tokens", "reset", "alice"], env={"MODELYARD_DATABASE_URL": url})
    assert r.exit_code == 1 and f"no modelyard database at {url}: MODELYARD_DATABASE_URL names it" in r.output
    r = CliRunner().invoke(main, ["audit", "verify", "--local", str(wrong)])
    assert r.exit_code == 1 and "no modelyard database" in r.output
    r = CliRunner().invoke(main, ["db", "current", "--data-dir", str(wrong)])
    assert r.exit_code == 0 and "no database at" in r.output
    assert list(tmp_path.iterdir()) == []


def test_bootstrap_refuses_an_empty_postgresql_database(pg_database: str, clean_env: None) -> None:
    from sqlalchemy import create_engine

    base = pg_database.rsplit("/", 1)[0]
    name = pg_database.rsplit("/", 1)[1] + "_empty"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        r = CliRunner().invoke(main, ["admin", "bootstrap", "alice"], env={"MODELYARD_DATABASE_URL": f"{base}/{name}"})
        assert r.exit_code == 1 and "an empty database (no modelyard schema)" in r.output, r.output
        engine = create_engine(f"{base}/{name}")
        with engine.connect() as conn:  # no table was created
            assert conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar() == 0
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_bootstrap_from_a_second_terminal_in_another_folder_does_not_split_the_data(
    tmp_path: Path, clean_env: None
) -> None:
    """The README walkthrough, as a new user ran it: the server in one folder, bootstrap in another."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS} | {"PYTHONPATH": str(SRC)}
    cli = [sys.executable, "-c", "from modelyard.cli import main; main()"]
    server_folder, other_folder = tmp_path / "project", tmp_path / "home"
    server_folder.mkdir()
    other_folder.mkdir()
    subprocess.run([*cli, "db", "upgrade"], cwd=server_folder, env=env, check=True, capture_output=True)
    r = subprocess.run([*cli, "admin", "bootstrap", "alice"], cwd=other_folder, env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "no modelyard database" in r.stderr and "--data-dir" in r.stderr
    assert list(other_folder.iterdir()) == []
    data = server_folder / "modelyard-data"
    r = subprocess.run(
        [*cli, "admin", "bootstrap", "alice", "--data-dir", str(data)],
        cwd=other_folder,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "my_" in r.stdout, r.stderr


# -- the last org admin -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_last_org_admin_cannot_demote_disable_or_strip_itself(world: World) -> None:
    before = world.snapshot()
    for body in ({"org_admin": False}, {"disabled": True}, {"org_admin": False, "disabled": True}):
        r = world.request("PATCH", "/api/v1/principals/root", "root", json=body)
        assert _error(r) == (409, "CONFLICT", "last_org_admin"), body
        msg = r.json()["message"]
        assert "would leave no active org admin with a valid API token" in msg and "--org-admin" in msg
    tokens = world.request("GET", "/api/v1/tokens", "root").json()["items"]
    (only,) = [t for t in tokens if t["principal"] == "root"]
    r = world.request("DELETE", f"/api/v1/tokens/{only['id']}", "root")
    assert _error(r) == (409, "CONFLICT", "last_org_admin")
    assert "Create another token first" in r.json()["message"]
    assert world.snapshot() == before
    assert world.request("GET", "/api/v1/whoami", "root").json()["org_admin"] is True


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_org_admin_can_step_down_once_another_holds_a_token(world: World) -> None:
    # Another admin without a token does not count: demoting root would still lock everyone out.
    r = world.request("POST", "/api/v1/principals", "root", json={"name": "tokenless", "org_admin": True})
    assert r.status_code == 201
    r = world.request("PATCH", "/api/v1/principals/root", "root", json={"org_admin": False})
    assert _error(r) == (409, "CONFLICT", "last_org_admin")
    # A second token of root's own makes its first one revocable.
    second = world.request("POST", "/api/v1/tokens", "root", json={"name": "second"}).json()
    first = next(t for t in world.request("GET", "/api/v1/tokens", "root").json()["items"] if t["name"] == "t")
    assert world.request("DELETE", f"/api/v1/tokens/{first['id']}", "root").status_code == 200
    world.tokens["root"] = second["token"]
    # radmin (who holds a token) becomes an org admin: now root may step down.
    assert world.request("PATCH", "/api/v1/principals/radmin", "root", json={"org_admin": True}).status_code == 200
    r = world.request("PATCH", "/api/v1/principals/root", "root", json={"org_admin": False})
    assert r.status_code == 200 and r.json()["org_admin"] is False
    # ... and radmin, the last one now, may not.
    r = world.request("PATCH", "/api/v1/principals/radmin", "radmin", json={"disabled": True})
    assert _error(r) == (409, "CONFLICT", "last_org_admin")


def test_an_expired_token_does_not_count_as_a_way_in(world: World) -> None:
    """With root's only token expired, the radmin token is the last live one once radmin is an admin."""
    assert world.request("PATCH", "/api/v1/principals/radmin", "root", json={"org_admin": True}).status_code == 200
    _expire_tokens(world, "root")
    tokens = world.request("GET", "/api/v1/tokens", "radmin").json()["items"]
    (radmins,) = [t for t in tokens if t["principal"] == "radmin"]
    r = world.request("DELETE", f"/api/v1/tokens/{radmins['id']}", "radmin")
    assert _error(r) == (409, "CONFLICT", "last_org_admin")


# -- offline recovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_offline_token_reset_recovers_an_admin_whose_token_expired(world: World, settings: Settings) -> None:
    _expire_tokens(world, "root")
    # The clock never turns auth off: still on, and root is locked out.
    assert world.request("GET", "/api/v1/registries", None).status_code == 401
    assert world.request("GET", "/api/v1/registries", "root").status_code == 401

    r = _cli(settings, "admin", "tokens", "reset", "member")
    assert r.exit_code == 1 and "'member' is not an org admin" in r.output and "admin bootstrap member" in r.output

    r = _cli(settings, "admin", "tokens", "reset", "root", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["principal"] == "root" and out["token_name"] == "reset"
    world.tokens["root"] = out["token"]
    assert world.request("GET", "/api/v1/whoami", "root").json()["name"] == "root"
    # Revoked nothing: the other principals' tokens (and root's expired one) are untouched.
    assert world.request("GET", "/api/v1/whoami", "member").status_code == 200
    names = {t["name"]: t for t in world.request("GET", "/api/v1/tokens", "root").json()["items"]}
    assert set(names) == {"t", "reset"} and names["t"]["revoked_at"] is None

    # --revoke-others: a leaked admin token is cut off while a new one is issued.
    leaked = world.tokens["root"]
    r = _cli(settings, "admin", "tokens", "reset", "root", "--revoke-others", "--json")
    assert r.exit_code == 0, r.output
    world.tokens["root"] = json.loads(r.stdout)["token"]
    assert (
        world.request("GET", "/api/v1/whoami", None, headers={"Authorization": f"Bearer {leaked}"}).status_code == 401
    )
    assert world.request("GET", "/api/v1/whoami", "root").status_code == 200
    live = [t for t in world.request("GET", "/api/v1/tokens", "root").json()["items"] if t["revoked_at"] is None]
    assert [t["name"] for t in live] == [json.loads(r.stdout)["token_name"]]
    actions = [e.action for e in world.events()[-3:]]
    assert actions == ["token.created", "token.revoked", "token.revoked"]


def test_offline_bootstrap_recovers_when_every_admin_token_expired(world: World, settings: Settings) -> None:
    r = _cli(settings, "admin", "bootstrap", "rescue")
    assert r.exit_code == 1 and "root already hold a valid API token" in r.output
    _expire_tokens(world, None)
    r = _cli(settings, "admin", "bootstrap", "rescue", "--json")
    assert r.exit_code == 0, r.output
    world.tokens["rescue"] = json.loads(r.stdout)["token"]
    who = world.request("GET", "/api/v1/whoami", "rescue").json()
    assert who["org_admin"] is True and who["auth_enabled"] is True


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_admins_demoting_each_other_at_once_cannot_both_succeed(world: World) -> None:
    """PostgreSQL (READ COMMITTED): root's demotion waits for the other transaction that demotes
    radmin, then sees that radmin is gone and refuses; without the row lock both would commit."""
    import threading

    from sqlalchemy import create_engine

    assert world.request("PATCH", "/api/v1/principals/radmin", "root", json={"org_admin": True}).status_code == 200
    root = world.services.identity.authenticate(world.tokens["root"])
    other = create_engine(world.services.settings.resolved_database_url())
    result: list[Any] = []
    try:
        with other.connect() as conn:
            tx = conn.begin()
            conn.execute(text("UPDATE principals SET org_admin = false WHERE name = 'radmin'"))

            def demote_root() -> None:
                try:
                    result.append(world.services.identity.update_principal(root, "root", org_admin=False))
                except Exception as exc:
                    result.append(exc)

            worker = threading.Thread(target=demote_root)
            worker.start()
            worker.join(timeout=1.0)
            finished_early = not worker.is_alive()
            tx.commit()
            worker.join(timeout=30)
    finally:
        other.dispose()
    assert not finished_early, f"root's demotion did not wait for the concurrent one: {result}"
    (outcome,) = result
    assert type(outcome).__name__ == "LastOrgAdminError", outcome
    assert world.request("GET", "/api/v1/whoami", "root").json()["org_admin"] is True
