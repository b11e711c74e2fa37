"""Governance and audit commands: admin bootstrap, whoami, users, teams, tokens, members,
alias protection, audit ls / verify / export."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelyard.client import Client

from .main import alias, client_command, main
from .ops import _fail, _settings, data_dir_option, needs_server
from .output import emit, table

if TYPE_CHECKING:  # the server extras: imported only when a command runs
    from modelyard.bootstrap import Services
    from modelyard.domain.identity import NewToken


@main.group()
def admin() -> None:
    """Server administration that works on the data directly (offline; creates no database)."""


@admin.command("bootstrap")
@click.argument("name")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
@needs_server
def admin_bootstrap(name: str, data_dir: Path | None, as_json: bool) -> None:
    """Make NAME an org admin and print a new API token for it (once). Turns auth on (auto mode).

    Works on the server's existing database (point at it with --data-dir or
    MODELYARD_DATABASE_URL; it creates none) whenever no active org admin holds a valid
    token: the first admin, or offline recovery. An existing user NAME is made an active org admin.
    """
    from modelyard.domain.actor import SYSTEM

    new = _offline_token(data_dir, lambda svc: svc.identity.bootstrap_admin(SYSTEM, name))
    _show_token(name, new, as_json, f"org admin '{name}', token '{new.info.name}'")


@admin.group("tokens")
def admin_tokens() -> None:
    """Offline token recovery for org admins (needs direct access to the database)."""


@admin_tokens.command("reset")
@click.argument("name")
@click.option("--revoke-others", is_flag=True, help="Also revoke every other token of NAME (e.g. a leaked one).")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
@needs_server
def admin_tokens_reset(name: str, revoke_others: bool, data_dir: Path | None, as_json: bool) -> None:
    """Print a new API token for the active org admin NAME (once); revokes nothing unless asked."""
    from modelyard.domain.actor import SYSTEM

    new = _offline_token(
        data_dir, lambda svc: svc.identity.reset_admin_token(SYSTEM, name, revoke_others=revoke_others)
    )
    _show_token(name, new, as_json, f"new token '{new.info.name}' for org admin '{name}'")


def _offline_token(data_dir: Path | None, issue: Callable[[Services], NewToken]) -> NewToken:
    """Open the existing database directly (never creating one), issue a token, close; errors exit 1."""
    from modelyard.bootstrap import build_registry

    try:
        svc = build_registry(_settings(data_dir), initialize_empty=False)
        try:
            return issue(svc)
        finally:
            svc.close()
    except Exception as exc:
        _fail(exc)
        raise  # _fail exits; this only tells type checkers so


def _show_token(name: str, new: NewToken, as_json: bool, what: str) -> None:
    if as_json:
        emit({"principal": name, "token": new.secret, "token_name": new.info.name})
    else:
        click.echo(f"{what} (shown once, store it now):\n{new.secret}")
        click.echo("Use it with: export MODELYARD_TOKEN=<token>", err=True)


@main.command()
@client_command
def whoami(client: Client, as_json: bool) -> None:
    """Show who the server thinks you are."""
    w = client.whoami()
    emit(w) if as_json else click.echo(
        f"{w.name} ({w.kind}{', org admin' if w.org_admin else ''})"
        + (f", token '{w.token_name}'" if w.token_name else "")
        + ("" if w.auth_enabled else " [auth is off: single-user mode]")
    )


@main.group()
def users() -> None:
    """Users and service accounts."""


@users.command("list")
@click.option("--kind", type=click.Choice(["user", "service_account"]))
@client_command
def users_list(client: Client, as_json: bool, kind: str | None) -> None:
    """List users and service accounts."""
    items = client.list_principals(kind=kind)
    emit(items) if as_json else table(
        ["name", "kind", "org admin", "disabled", "teams"],
        [
            [p.name, p.kind, "yes" if p.org_admin else "", "yes" if p.disabled else "", ", ".join(p.teams)]
            for p in items
        ],
    )


@users.command("create")
@click.argument("name")
@click.option("--service-account", is_flag=True, help="A non-human principal (CI, serving).")
@click.option("--org-admin", is_flag=True, help="Make the user an organization admin.")
@click.option("--email", default="")
@click.option("--display-name", default="")
@client_command
def users_create(
    client: Client, as_json: bool, name: str, service_account: bool, org_admin: bool, email: str, display_name: str
) -> None:
    """Create a user or service account (org admins)."""
    p = client.create_principal(
        name,
        kind="service_account" if service_account else "user",
        org_admin=org_admin,
        email=email,
        display_name=display_name,
    )
    emit(p) if as_json else click.echo(f"created {p.kind} {p.name}")


@users.command("update")
@click.argument("name")
@click.option("--org-admin/--no-org-admin", default=None)
@click.option("--disabled/--enabled", default=None)
@client_command
def users_update(client: Client, as_json: bool, name: str, org_admin: bool | None, disabled: bool | None) -> None:
    """Grant or remove org admin, disable or enable an account."""
    p = client.update_principal(name, org_admin=org_admin, disabled=disabled)
    emit(p) if as_json else click.echo(f"{p.name}: org admin {p.org_admin}, disabled {p.disabled}")


@main.group()
def teams() -> None:
    """Teams: groups of users that can hold registry roles."""


@teams.command("list")
@client_command
def teams_list(client: Client, as_json: bool) -> None:
    """List teams and their members."""
    items = client.list_teams()
    emit(items) if as_json else table(["team", "members"], [[t.name, ", ".join(t.members)] for t in items])


@teams.command("create")
@click.argument("name")
@click.option("--description", default="")
@client_command
def teams_create(client: Client, as_json: bool, name: str, description: str) -> None:
    """Create a team (org admins)."""
    t = client.create_team(name, description=description)
    emit(t) if as_json else click.echo(f"created team {t.name}")


@teams.command("add")
@click.argument("team")
@click.argument("principal")
@client_command
def teams_add(client: Client, as_json: bool, team: str, principal: str) -> None:
    """Add PRINCIPAL to TEAM."""
    t = client.add_team_member(team, principal)
    emit(t) if as_json else click.echo(f"{t.name}: {', '.join(t.members)}")


@teams.command("remove")
@click.argument("team")
@click.argument("principal")
@client_command
def teams_remove(client: Client, as_json: bool, team: str, principal: str) -> None:
    """Remove PRINCIPAL from TEAM."""
    t = client.remove_team_member(team, principal)
    emit(t) if as_json else click.echo(f"{t.name}: {', '.join(t.members) or '(no members)'}")


@main.group()
def tokens() -> None:
    """API tokens (stored only as hashes; the secret is shown once)."""


@tokens.command("create")
@click.argument("name")
@click.option("--for", "principal", help="Create it for another principal (org admins), e.g. a service account.")
@click.option("--expires-in-days", type=float, help="Lifetime in days (default: no expiry).")
@client_command
def tokens_create(
    client: Client, as_json: bool, name: str, principal: str | None, expires_in_days: float | None
) -> None:
    """Create an API token and print its secret once."""
    t = client.create_token(name, principal=principal, expires_in_days=expires_in_days)
    if as_json:
        emit(t)
    else:
        click.echo(
            f"token '{t.name}' (id {t.id}) for {t.principal}"
            + (f", expires {t.expires_at.isoformat(timespec='seconds')}" if t.expires_at else "")
            + f":\n{t.token}"
        )


@tokens.command("list")
@click.option("--for", "principal", help="Another principal's tokens (org admins); '*' for all.")
@client_command
def tokens_list(client: Client, as_json: bool, principal: str | None) -> None:
    """List tokens (metadata only)."""
    items = client.list_tokens(principal=principal)
    emit(items) if as_json else table(
        ["id", "name", "principal", "prefix", "expires", "revoked", "last used"],
        [
            [t.id, t.name, t.principal, t.prefix + "…", t.expires_at or "", t.revoked_at or "", t.last_used_at or ""]
            for t in items
        ],
    )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@client_command
def tokens_revoke(client: Client, as_json: bool, token_id: int) -> None:
    """Revoke token TOKEN_ID."""
    t = client.revoke_token(token_id)
    emit(t) if as_json else click.echo(f"revoked token {t.id} ('{t.name}' of {t.principal})")


@main.group()
def members() -> None:
    """Registry roles: admin, member, viewer, restricted_viewer."""


@members.command("list")
@click.argument("registry")
@client_command
def members_list(client: Client, as_json: bool, registry: str) -> None:
    """Who holds which role on REGISTRY."""
    items = client.list_members(registry)
    emit(items) if as_json else table(["kind", "subject", "role"], [[g.subject_kind, g.subject, g.role] for g in items])


@members.command("grant")
@click.argument("registry")
@click.argument("subject")
@click.argument("role", type=click.Choice(["admin", "member", "viewer", "restricted_viewer"]))
@click.option(
    "--kind", "subject_kind", type=click.Choice(["user", "service_account", "team"]), default="user", show_default=True
)
@client_command
def members_grant(client: Client, as_json: bool, registry: str, subject: str, role: str, subject_kind: str) -> None:
    """Give SUBJECT the ROLE on REGISTRY (registry admins)."""
    g = client.grant(registry, subject, role, subject_kind=subject_kind)
    emit(g) if as_json else click.echo(f"{g.subject_kind} {g.subject} is now {g.role} of {g.registry}")


@members.command("revoke")
@click.argument("registry")
@click.argument("subject")
@click.option(
    "--kind", "subject_kind", type=click.Choice(["user", "service_account", "team"]), default="user", show_default=True
)
@client_command
def members_revoke(client: Client, as_json: bool, registry: str, subject: str, subject_kind: str) -> None:
    """Remove SUBJECT's role on REGISTRY."""
    client.revoke_grant(registry, subject, subject_kind=subject_kind)
    emit({"revoked": subject}) if as_json else click.echo(
        f"{subject_kind} {subject} no longer holds a role on {registry}"
    )


@alias.command("protect")
@click.argument("registry")
@click.argument("name")
@click.option("--collection", help="Only for this collection (an override of the registry-wide policy).")
@client_command
def alias_protect(client: Client, as_json: bool, registry: str, name: str, collection: str | None) -> None:
    """Protect alias NAME in REGISTRY: only registry admins may set, move or remove it."""
    p = client.protect_alias(registry, name, collection=collection)
    emit(p) if as_json else click.echo(
        f"alias '{p.alias}' is protected in {registry}" + (f"/{collection}" if collection else "")
    )


@alias.command("unprotect")
@click.argument("registry")
@click.argument("name")
@click.option("--collection")
@client_command
def alias_unprotect(client: Client, as_json: bool, registry: str, name: str, collection: str | None) -> None:
    """Remove the policy on alias NAME."""
    client.delete_alias_policy(registry, name, collection=collection)
    emit({"unprotected": name}) if as_json else click.echo(f"alias '{name}' is no longer protected in {registry}")


@alias.command("policies")
@click.argument("registry")
@client_command
def alias_policies(client: Client, as_json: bool, registry: str) -> None:
    """List the alias policies of REGISTRY."""
    items = client.list_alias_policies(registry)
    emit(items) if as_json else table(
        ["alias", "collection", "protected"], [[p.alias, p.collection or "(all)", p.protected] for p in items]
    )


@main.group()
def audit() -> None:
    """The audit trail: every change, who, when, before and after; hash-chained."""


@audit.command("list")
@click.option("--principal", help="Only events by this user or service account.")
@click.option("--action", help="Exact action or a pattern, e.g. 'alias.*'.")
@click.option("--target", help="Exact target, e.g. models/fraud@production.")
@click.option("--target-prefix", help="Targets starting with this, e.g. models/fraud.")
@click.option("--registry")
@click.option("--since", help="ISO 8601 time with timezone.")
@click.option("--until", help="ISO 8601 time with timezone.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--newest-first", is_flag=True)
@client_command
def audit_ls(
    client: Client,
    as_json: bool,
    principal: str | None,
    action: str | None,
    target: str | None,
    target_prefix: str | None,
    registry: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    newest_first: bool,
) -> None:
    """List events."""
    items = list(
        islice(
            client.list_events(
                principal=principal,
                action=action,
                target=target,
                target_prefix=target_prefix,
                registry=registry,
                since=since,
                until=until,
                order="desc" if newest_first else "asc",
                page_size=min(limit, 1000),
            ),
            limit,
        )
    )
    emit(items) if as_json else table(
        ["id", "when", "actor", "action", "target", "change"],
        [
            [
                e.id,
                e.at.isoformat(timespec="seconds"),
                e.actor + (f" ({e.token_name})" if e.token_name else ""),
                e.action,
                e.target,
                _change(e.before, e.after),
            ]
            for e in items
        ],
    )


def _change(before: dict | None, after: dict | None) -> str:  # type: ignore[type-arg]
    """A one-line summary of an event's change, compact JSON (whole: the table folds it if the terminal is narrow)."""

    def compact(d: dict | None) -> str:  # type: ignore[type-arg]
        return json.dumps(d, separators=(",", ":"), sort_keys=True, default=str) if d else ""

    return f"{compact(before)} -> {compact(after)}" if before and after else compact(after or before)


@audit.command("verify")
@click.option(
    "--local",
    "local_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Verify the database of this data folder directly instead of asking the server.",
)
@client_command
def audit_verify(client: Client, as_json: bool, local_dir: Path | None) -> None:
    """Walk the hash chain and report the first broken link. Exit 1 if broken."""
    if local_dir is not None:
        from modelyard.bootstrap import build_registry

        try:
            svc = build_registry(_settings(local_dir), initialize_empty=False)
        except Exception as exc:
            _fail(exc)
            return
        r = svc.audit.verify_chain()
        svc.close()
        result = {
            "ok": r.ok,
            "checked": r.checked,
            "head_id": r.head_id,
            "head_hash": r.head_hash,
            "first_broken_id": r.first_broken_id,
            "reason": r.reason,
        }
    else:
        result = client.verify_audit().model_dump()
    if as_json:
        emit(result)
    elif result["ok"]:
        click.echo(f"ok: {result['checked']} events, head {result['head_id']} {result['head_hash']}")
    else:
        click.secho(f"BROKEN at event {result['first_broken_id']}: {result['reason']}", fg="red")
    if not result["ok"]:
        sys.exit(1)


@audit.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout).")
@click.option("--principal")
@click.option("--action")
@click.option("--target-prefix")
@click.option("--registry")
@click.option("--since")
@click.option("--until")
@client_command
def audit_export(
    client: Client,
    as_json: bool,
    output: Path | None,
    principal: str | None,
    action: str | None,
    target_prefix: str | None,
    registry: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Export events as JSON Lines (for a SIEM)."""
    lines = client.export_events(
        principal=principal, action=action, target_prefix=target_prefix, registry=registry, since=since, until=until
    )
    count = 0
    out = open(output, "w") if output else sys.stdout  # noqa: SIM115
    try:
        for line in lines:
            out.write(line + "\n")
            count += 1
    finally:
        if output:
            out.close()
    if output:
        click.echo(f"exported {count} events to {output}", err=True)
