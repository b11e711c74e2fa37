"""Automation and watch commands: ``modelyard webhooks ...`` and ``modelyard watch``."""

from __future__ import annotations

import secrets

import click

from modelyard.client import Client

from .main import client_command, main
from .output import emit, table


@main.group()
def webhooks() -> None:
    """Webhooks: signed HTTP POSTs when versions, aliases, stages, tags or promotions change."""


@webhooks.command("create")
@click.argument("registry")
@click.argument("name")
@click.argument("target_url", metavar="URL")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help="Event name or pattern (repeatable): version.created, alias.*, promotion.approved, '*'.",
)
@click.option("--collection", help="Only events of this collection (default: the whole registry).")
@click.option("--alias-filter", help="Only events about aliases matching this pattern (prod*).")
@click.option("--tag-filter", help="Only tag events for this tag: key or key=value.")
@click.option("--secret", help="Signing secret (HMAC-SHA256). Needs MODELYARD_WEBHOOK_SECRET_KEY on the server.")
@click.option("--generate-secret", is_flag=True, help="Generate a signing secret and print it once.")
@click.option("--inactive", is_flag=True, help="Create it paused.")
@client_command
def webhooks_create(
    client: Client,
    as_json: bool,
    registry: str,
    name: str,
    target_url: str,
    events: tuple[str, ...],
    collection: str | None,
    alias_filter: str | None,
    tag_filter: str | None,
    secret: str | None,
    generate_secret: bool,
    inactive: bool,
) -> None:
    """Create webhook NAME in REGISTRY that POSTs matching events to URL."""
    if generate_secret:
        if secret:
            raise click.BadParameter("give --secret or --generate-secret, not both", param_hint="--secret")
        secret = secrets.token_urlsafe(32)
    w = client.create_webhook(
        registry,
        name,
        target_url,
        events=list(events),
        collection=collection,
        alias_filter=alias_filter,
        tag_filter=tag_filter,
        secret=secret,
        active=not inactive,
    )
    if as_json:
        emit({**w.model_dump(mode="json"), **({"secret": secret} if generate_secret else {})})
        return
    click.echo(f"created webhook {registry}/{w.name} -> {w.url} on {', '.join(w.events)}")
    if generate_secret:
        click.echo(f"signing secret (shown once, store it with the receiver):\n{secret}")


@webhooks.command("list")
@click.argument("registry")
@client_command
def webhooks_list(client: Client, as_json: bool, registry: str) -> None:
    """List the webhooks of REGISTRY."""
    items = client.list_webhooks(registry)
    emit(items) if as_json else table(
        ["name", "url", "events", "scope", "signed", "active"],
        [
            [
                w.name,
                w.url,
                ", ".join(w.events),
                w.collection or "(registry)",
                "yes" if w.has_secret else "",
                "yes" if w.active else f"no: {w.disabled_reason}",
            ]
            for w in items
        ],
    )


@webhooks.command("update")
@click.argument("registry")
@click.argument("name")
@click.option("--target-url", help="New receiver URL.")
@click.option("--event", "events", multiple=True, help="Replace the event list (repeatable).")
@click.option("--secret", help="Set a new signing secret.")
@click.option("--remove-secret", is_flag=True, help="Stop signing deliveries.")
@click.option("--enable/--disable", "active", default=None, help="Resume (where it stopped) or pause it.")
@client_command
def webhooks_update(
    client: Client,
    as_json: bool,
    registry: str,
    name: str,
    target_url: str | None,
    events: tuple[str, ...],
    secret: str | None,
    remove_secret: bool,
    active: bool | None,
) -> None:
    """Change webhook NAME; --enable re-enables one disabled after failures."""
    w = client.update_webhook(
        registry,
        name,
        url=target_url,
        events=list(events) or None,
        secret=secret,
        remove_secret=remove_secret,
        active=active,
    )
    emit(w) if as_json else click.echo(f"updated webhook {registry}/{w.name} ({'active' if w.active else 'paused'})")


@webhooks.command("delete")
@click.argument("registry")
@click.argument("name")
@client_command
def webhooks_delete(client: Client, as_json: bool, registry: str, name: str) -> None:
    """Delete webhook NAME and its delivery log."""
    client.delete_webhook(registry, name)
    emit({"deleted": name}) if as_json else click.echo(f"deleted webhook {registry}/{name}")


@webhooks.command("deliveries")
@click.argument("registry")
@click.argument("name")
@click.option("--status", type=click.Choice(["pending", "succeeded", "failed"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@client_command
def webhooks_deliveries(
    client: Client, as_json: bool, registry: str, name: str, status: str | None, limit: int
) -> None:
    """The delivery log of webhook NAME, newest first."""
    items = []
    for d in client.list_deliveries(registry, name, status=status, page_size=min(limit, 1000)):
        items.append(d)
        if len(items) >= limit:
            break
    emit(items) if as_json else table(
        ["delivery", "event", "target", "status", "code", "ms", "attempts", "error"],
        [
            [
                d.delivery_id,
                d.event,
                d.target,
                d.status,
                d.response_code or "-",
                f"{d.latency_ms:.0f}" if d.latency_ms is not None else "-",
                d.attempts,
                d.error[:60],
            ]
            for d in items
        ],
    )


@webhooks.command("redeliver")
@click.argument("registry")
@click.argument("name")
@click.argument("delivery_id")
@client_command
def webhooks_redeliver(client: Client, as_json: bool, registry: str, name: str, delivery_id: str) -> None:
    """Send the event of delivery DELIVERY_ID again (as a new delivery)."""
    d = client.redeliver(registry, name, delivery_id)
    emit(d) if as_json else click.echo(f"queued delivery {d.delivery_id} of event {d.event_id}")


@webhooks.command("ping")
@click.argument("registry")
@click.argument("name")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for the outcome (0: do not wait).")
@client_command
def webhooks_ping(client: Client, as_json: bool, registry: str, name: str, wait: float) -> None:
    """Send a test 'ping' delivery to webhook NAME and show the outcome."""
    d = client.ping_webhook(registry, name, wait=wait or None)
    if as_json:
        emit(d)
    else:
        click.echo(
            f"ping {d.delivery_id}: {d.status}"
            + (f", HTTP {d.response_code}" if d.response_code else "")
            + (f", {d.latency_ms:.0f} ms" if d.latency_ms is not None else "")
            + (f" ({d.error})" if d.error else "")
        )


@main.command()
@click.argument("target")
@click.option("--last-event-id", type=int, help="Resume after this event id (no 'current' message).")
@click.option("--count", type=int, help="Stop after this many messages.")
@client_command
def watch(client: Client, as_json: bool, target: str, last_event_id: int | None, count: int | None) -> None:
    """Follow TARGET (registry/collection@alias or :latest): print the current version, then every change."""
    for n, change in enumerate(client.watch(target, last_event_id=last_event_id), start=1):
        if as_json:
            click.echo(change.model_dump_json())
        else:
            click.echo(
                f"[{change.event_id}] {change.event} {change.target} -> "
                f"{change.version if change.version is not None else '(none)'}"
                + (f" (was {change.previous_version})" if change.previous_version is not None else "")
                + (f" by {change.actor}" if change.actor else "")
            )
        if count and n >= count:
            return
