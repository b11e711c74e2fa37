"""Promotion commands: policies, checks, promotion requests and reviews, rollback."""

from __future__ import annotations

import re
import sys

import click

from modelyard import schemas as s
from modelyard.client import Client
from modelyard.client._client import _split

from .main import client_command, main
from .output import emit, plural, table

_RULE = re.compile(r"^\s*([A-Za-z0-9_.:/ -]+?)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")


def parse_rule(text: str) -> dict[str, object]:
    """``metrics.auc>=0.91``, ``tags.validated==true`` or ``signature`` (must exist)."""
    m = _RULE.match(text)
    if not m:
        return {"field": text.strip(), "op": "exists"}
    field, op, raw = m.groups()
    value: object = raw
    try:
        value = float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        if op in (">=", "<=", ">", "<"):
            raise click.BadParameter(f"'{text}': {op} needs a number", param_hint="--rule") from None
    return {"field": field, "op": op, "value": value}


def _show(p: s.PromotionOut, as_json: bool) -> None:
    if as_json:
        emit(p)
        return
    click.echo(
        f"request {p.id}: {p.registry}/{p.collection}:{p.version} -> {p.target_kind} '{p.target}' "
        f"[{p.status}] requested by {p.requested_by}"
    )
    table(["requirement", "met", "detail"], [[r.kind, "yes" if r.met else "NO", r.detail] for r in p.requirements])
    for r in p.reviews:
        click.echo(f"  {r.decision} by {r.reviewer}" + (f": {r.comment}" if r.comment else ""))


def describe_policy(p: s.AliasPolicyOut) -> str:
    """One sentence a person can read: what moving this alias or stage requires."""
    req = p.requirements
    scope = f"{p.registry}/{p.collection}" if p.collection else f"every collection of {p.registry}"
    parts = []
    approvals = int(req.get("approvals") or 0)
    if approvals:
        role = str(req.get("approver_role", "member"))
        parts.append(f"{plural(approvals, 'approval')} by {'an' if role[:1] in 'aeiou' else 'a'} {role} or above")
    checks = list(req.get("checks") or [])
    if checks:
        parts.append(f"{plural(len(checks), 'check')} passing ({', '.join(checks)})")
    rules = list(req.get("rules") or [])
    if rules:
        shown = [r["field"] if r.get("op") == "exists" else f"{r['field']}{r['op']}{r['value']}" for r in rules]
        parts.append(f"{plural(len(rules), 'rule')} ({', '.join(shown)})")
    needs = "; ".join(parts) if parts else "no approvals, checks or rules (protected only)"
    how = "moves automatically once met" if req.get("auto_promote", True) else "the requester completes it"
    return f"'{p.alias}' in {scope} requires {needs}; {how}."


@main.group()
def policies() -> None:
    """Promotion policies: what a protected alias or stage requires before it moves."""


@policies.command("set")
@click.argument("registry")
@click.argument("target")
@click.option("--stage", "is_stage", is_flag=True, help="TARGET is a legacy stage (Staging, Production), not an alias.")
@click.option("--collection", help="Only for this collection (overrides the registry-wide policy).")
@click.option("--approvals", default=0, show_default=True, type=click.IntRange(0, 20))
@click.option("--approver-role", type=click.Choice(["viewer", "member", "admin"]), default="member", show_default=True)
@click.option("--check", "checks", multiple=True, help="A check that must report success (repeatable).")
@click.option("--rule", "rules", multiple=True, help="e.g. 'metrics.auc>=0.91', 'tags.validated==true', 'signature'.")
@click.option("--manual", is_flag=True, help="Do not move automatically; the requester completes the request.")
@client_command
def policies_set(
    client: Client,
    as_json: bool,
    registry: str,
    target: str,
    is_stage: bool,
    collection: str | None,
    approvals: int,
    approver_role: str,
    checks: tuple[str, ...],
    rules: tuple[str, ...],
    manual: bool,
) -> None:
    """Protect TARGET in REGISTRY and require approvals, checks and metadata rules."""
    req = {
        "approvals": approvals,
        "approver_role": approver_role,
        "checks": list(checks),
        "rules": [parse_rule(r) for r in rules],
        "auto_promote": not manual,
    }
    p = client.set_promotion_policy(
        registry, target, requirements=req, collection=collection, target_kind="stage" if is_stage else "alias"
    )
    emit(p) if as_json else click.echo(f"policy set: {describe_policy(p)}")


@policies.command("list")
@click.argument("registry")
@client_command
def policies_list(client: Client, as_json: bool, registry: str) -> None:
    """List the promotion policies of REGISTRY, one sentence each.

    \b
    Example:
      modelyard policies list models
    """
    items = client.list_alias_policies(registry)
    if as_json:
        emit(items)
        return
    table(["target", "collection", "requires"], [[p.alias, p.collection or "(all)", describe_policy(p)] for p in items])


@policies.command("show")
@click.argument("registry")
@click.argument("target")
@click.option("--collection", help="The collection's own policy instead of the registry-wide one.")
@client_command
def policies_show(client: Client, as_json: bool, registry: str, target: str, collection: str | None) -> None:
    """Show the promotion policy on TARGET (an alias or stage) in REGISTRY.

    \b
    Example:
      modelyard policies show models production
    """
    found = [p for p in client.list_alias_policies(registry) if p.alias == target and p.collection == collection]
    if not found:
        raise click.ClickException(f"no policy on '{target}' in {registry}" + (f"/{collection}" if collection else ""))
    emit(found[0]) if as_json else click.echo(describe_policy(found[0]))


@main.group()
def checks() -> None:
    """Checks reported on versions by CI and other systems."""


@checks.command("report")
@click.argument("path")
@click.argument("name")
@click.argument("status", type=click.Choice(["pending", "success", "failure", "error"]))
@click.option("--summary", default="")
@click.option("--details-url", default="", help="Link to the details (the CI run).")
@client_command
def checks_report(
    client: Client, as_json: bool, path: str, name: str, status: str, summary: str, details_url: str
) -> None:
    """Report check NAME with STATUS on version PATH (registry/collection:N)."""
    c = client.report_check(path, name, status, summary=summary, details_url=details_url)
    emit(c) if as_json else click.echo(f"{path}: check '{c.name}' is {c.status}")


@checks.command("list")
@click.argument("path")
@client_command
def checks_list(client: Client, as_json: bool, path: str) -> None:
    """The checks reported on version PATH."""
    items = client.list_checks(path)
    emit(items) if as_json else table(
        ["check", "status", "by", "when", "details"],
        [[c.name, c.status, c.reported_by, c.updated_at.isoformat(timespec="seconds"), c.details_url] for c in items],
    )


@main.command()
@click.argument("path")
@click.argument("target")
@click.option("--stage", "is_stage", is_flag=True, help="TARGET is a legacy stage.")
@click.option("--archive-existing", is_flag=True, help="With --stage: archive the versions now in that stage.")
@click.option("--comment", default="")
@client_command
def promote(
    client: Client, as_json: bool, path: str, target: str, is_stage: bool, archive_existing: bool, comment: str
) -> None:
    """Request that alias (or stage) TARGET point at version PATH (registry/collection:N)."""
    p = client.request_promotion(
        path,
        target,
        target_kind="stage" if is_stage else "alias",
        comment=comment,
        archive_existing_versions=archive_existing,
    )
    _show(p, as_json)


@main.group()
def promotions() -> None:
    """Promotion requests: list, show, approve, reject, cancel, complete."""


@promotions.command("list")
@click.argument("path")
@click.option("--status", type=click.Choice(["open", "rejected", "cancelled", "completed"]))
@client_command
def promotions_list(client: Client, as_json: bool, path: str, status: str | None) -> None:
    """Promotion requests of collection PATH."""
    items = client.list_promotions(path, status=status)
    emit(items) if as_json else table(
        ["id", "version", "target", "status", "met", "requested by"],
        [
            [
                p.id,
                p.version,
                f"{p.target_kind}:{p.target}",
                p.status,
                "yes" if p.requirements_met else "no",
                p.requested_by,
            ]
            for p in items
        ],
    )


@promotions.command("show")
@click.argument("request_id", type=int)
@client_command
def promotions_show(client: Client, as_json: bool, request_id: int) -> None:
    """A request with each requirement and whether it is met."""
    _show(client.get_promotion(request_id), as_json)


@promotions.command("approve")
@click.argument("request_id", type=int)
@click.option("--comment", default="")
@client_command
def promotions_approve(client: Client, as_json: bool, request_id: int, comment: str) -> None:
    """Approve request REQUEST_ID."""
    _show(client.approve_promotion(request_id, comment=comment), as_json)


@promotions.command("reject")
@click.argument("request_id", type=int)
@click.option("--comment", default="")
@client_command
def promotions_reject(client: Client, as_json: bool, request_id: int, comment: str) -> None:
    """Reject request REQUEST_ID."""
    _show(client.reject_promotion(request_id, comment=comment), as_json)


@promotions.command("cancel")
@click.argument("request_id", type=int)
@client_command
def promotions_cancel(client: Client, as_json: bool, request_id: int) -> None:
    """Cancel your request REQUEST_ID."""
    _show(client.cancel_promotion(request_id), as_json)


@promotions.command("complete")
@click.argument("request_id", type=int)
@client_command
def promotions_complete(client: Client, as_json: bool, request_id: int) -> None:
    """Carry out request REQUEST_ID once its requirements are met."""
    _show(client.complete_promotion(request_id), as_json)


@main.command()
@click.argument("path")
@click.option("--to", "to", type=int, help="Version to roll back to (default: the previous one).")
@client_command
def rollback(client: Client, as_json: bool, path: str, to: int | None) -> None:
    """Move alias PATH (registry/collection@alias) back to its previous version."""
    registry, collection, alias = _split(path)
    if not alias:
        click.echo("error: give the alias: registry/collection@alias", err=True)
        sys.exit(2)
    v = client.rollback(f"{registry}/{collection}", alias, to=to)
    emit(v) if as_json else click.echo(f"{path} -> version {v.number}")
