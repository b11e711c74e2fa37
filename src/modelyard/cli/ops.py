"""Operator commands that work on the data directly: serve, db upgrade, gc, fsck, uploads purge."""

from __future__ import annotations

import functools
import importlib
import logging
import socket
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from modelyard.client import Client

from .main import client_command, main
from .output import emit, human_size, plural, table

SERVER_EXTRA = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "pydantic_settings")
F = TypeVar("F", bound=Callable[..., Any])


def needs_server(fn: F) -> F:
    """Operator commands open the data themselves: with only the SDK installed, say what to install
    (one line, exit 1) instead of ending in a ModuleNotFoundError traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for module in SERVER_EXTRA:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise click.ClickException(
                    f"'modelyard {click.get_current_context().command_path.partition(' ')[2]}' runs the server "
                    f"side and needs the server extra ({module} is not installed): "
                    'pip install "modelyard[server]" (from a checkout: pip install ".[server]")'
                ) from exc
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _settings(data_dir: Path | None, **overrides: Any) -> Any:
    from modelyard.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def _fail(exc: Exception) -> None:
    from modelyard.errors import ModelyardError

    if isinstance(exc, ModelyardError):
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(1)
    raise exc


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder (env MODELYARD_DATA_DIR; default ./modelyard-data).",
)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@main.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8080).")
@data_dir_option
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--auth",
    type=click.Choice(["auto", "on", "off"]),
    default=None,
    help="Require API tokens (default auto: on once the first token exists, see docs/security.md).",
)
@click.option(
    "--insecure-no-auth-on-public-address",
    "insecure",
    is_flag=True,
    default=None,
    help="DANGEROUS: serve without authentication on a non-loopback address.",
)
@needs_server
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    workers: int,
    log_level: str,
    auth: str | None,
    insecure: bool | None,
) -> None:
    """Run the server (SQLite + local folder unless configured otherwise)."""
    import os

    import uvicorn

    from modelyard.bootstrap import build_registry

    settings = _settings(data_dir, host=host, port=port, auth=auth, insecure_allow_no_auth_on_public_address=insecure)
    busy = _port_in_use(settings.host, settings.port)
    if busy:  # before anything is created: a failed start leaves no data folder behind
        click.secho(
            f"error: cannot listen on {settings.host}:{settings.port} ({busy}); another server may be running "
            "there. Pick another port with --port (or MODELYARD_PORT).",
            fg="red",
            err=True,
        )
        sys.exit(1)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        svc = build_registry(settings)  # initializes a new database, refuses an outdated one
        auth_on = svc.auth_enabled()
        svc.close()
    except Exception as exc:
        _fail(exc)
        return
    if not auth_on:
        # Name the data folder: run from another folder, bootstrap would look for another database.
        bootstrap = f"modelyard admin bootstrap <name> --data-dir {settings.data_dir.resolve()}"
        if settings.database_url:
            bootstrap = "MODELYARD_DATABASE_URL=<this server's URL> modelyard admin bootstrap <name>"
        if settings.host not in LOOPBACK and not settings.insecure_allow_no_auth_on_public_address:
            click.secho(
                f"error: refusing to serve on {settings.host} without authentication. Run "
                f"'{bootstrap}' to create an admin (auth turns on), or bind to 127.0.0.1. "
                "(--insecure-no-auth-on-public-address overrides this; do not.)",
                fg="red",
                err=True,
            )
            sys.exit(2)
        click.secho(
            "WARNING: authentication is OFF (single-user mode): every request acts as the local admin. "
            + (
                f"It turns on with the first API token, an org admin's: run '{bootstrap}'."
                if settings.auth == "auto"
                else "(--auth off)"
            ),
            fg="yellow",
            err=True,
        )
    # The worker processes rebuild Settings from the environment; pass the resolved values down.
    os.environ["MODELYARD_DATA_DIR"] = str(settings.data_dir)
    os.environ["MODELYARD_HOST"] = settings.host
    os.environ["MODELYARD_AUTH"] = settings.auth
    if settings.insecure_allow_no_auth_on_public_address:
        os.environ["MODELYARD_INSECURE_ALLOW_NO_AUTH_ON_PUBLIC_ADDRESS"] = "true"
    click.echo(
        f"modelyard serving on http://{settings.host}:{settings.port} (auth {'on' if auth_on else 'off'})\n"
        f"  database {_safe_url(settings.resolved_database_url())}\n"
        f"  blobs    {_blob_location(settings)}",
        err=True,
    )
    uvicorn.run(
        "modelyard.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (e.g. 'Address already in use'), or None if it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _safe_url(url: str) -> str:
    """The database URL the server really uses, without a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _blob_location(settings: Any) -> str:
    if settings.blobs.backend == "filesystem":
        return str(settings.resolved_blob_root())
    return f"({settings.blobs.backend})"


@main.group()
def db() -> None:
    """The metadata database schema."""


@db.command("upgrade")
@data_dir_option
@needs_server
def db_upgrade(data_dir: Path | None) -> None:
    """Migrate the database schema to this version of modelyard."""
    from modelyard.bootstrap import open_database
    from modelyard.storage.sql import schema

    settings = _settings(data_dir)
    database = open_database(settings)
    before = schema.current_revision(database.engine)
    schema.upgrade(database.engine)
    after = schema.current_revision(database.engine)
    database.dispose()
    click.echo(f"schema {before or 'empty'} -> {after}")


@db.command("current")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
@needs_server
def db_current(data_dir: Path | None, as_json: bool) -> None:
    """Show the schema revision and the one this modelyard needs."""
    from modelyard.bootstrap import open_database
    from modelyard.storage.sql import schema
    from modelyard.storage.sql.engine import sqlite_file

    settings = _settings(data_dir)
    path = sqlite_file(settings.resolved_database_url())
    if path is not None and not path.is_file():  # report, don't create an empty database here
        info = {"current": None, "head": schema.head_revision()}
        emit(info) if as_json else click.echo(f"no database at {path}; head {info['head']}")
        return
    database = open_database(settings)
    info = {"current": schema.current_revision(database.engine), "head": schema.head_revision()}
    database.dispose()
    emit(info) if as_json else click.echo(f"current {info['current'] or 'empty'}, head {info['head']}")


@main.command()
@data_dir_option
@click.option("--dry-run/--delete", default=True, show_default=True, help="Only print the plan (default).")
@click.option("--grace-hours", type=float, default=None, help="Keep unreferenced blobs younger than this.")
@click.option("--json", "as_json", is_flag=True)
@needs_server
def gc(data_dir: Path | None, dry_run: bool, grace_hours: float | None, as_json: bool) -> None:
    """Delete blobs no version or open upload references (mark and sweep)."""
    from modelyard.bootstrap import build_registry

    settings = _settings(data_dir)
    try:
        svc = build_registry(settings, initialize_empty=False)
    except Exception as exc:
        _fail(exc)
        return
    grace = timedelta(hours=grace_hours if grace_hours is not None else settings.gc_grace_hours)
    report = svc.maintenance.gc(grace=grace, dry_run=dry_run)
    svc.close()
    if as_json:
        emit(
            {
                "dry_run": report.dry_run,
                "blobs_scanned": report.blobs_scanned,
                "blobs_referenced": report.blobs_referenced,
                "blobs_in_grace": report.blobs_in_grace,
                "swept": report.swept,
                "bytes_swept": report.bytes_swept,
            }
        )
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"scanned {plural(report.blobs_scanned, 'blob')}: {report.blobs_referenced} referenced, "
        f"{report.blobs_in_grace} within the grace period; {verb} {len(report.swept)} "
        f"({human_size(report.bytes_swept)})"
    )
    if report.swept:
        table(["digest"], [[d] for d in report.swept])


@main.group()
def uploads() -> None:
    """Upload sessions: a push in progress, or one that was interrupted and can be resumed."""


@uploads.command("list")
@click.option("--registry", help="Only sessions in this registry.")
@client_command
def uploads_list(client: Client, as_json: bool, registry: str | None) -> None:
    """List your open upload sessions: what an interrupted push left on the server.

    Pushing the same files again resumes them; 'modelyard uploads cancel' removes them.

    \b
    Example:
      modelyard uploads list --registry models
    """
    items = client.list_uploads(registry)
    if as_json:
        emit(items)
        return
    table(
        ["id", "registry", "received", "digest", "expires"],
        [
            [
                u.id,
                u.registry,
                f"{human_size(u.offset)} of {human_size(u.size)}",
                u.digest,
                u.expires_at.isoformat(timespec="minutes"),
            ]
            for u in items
        ],
    )


@uploads.command("cancel")
@click.argument("upload_ids", nargs=-1)
@click.option("--all", "cancel_all", is_flag=True, help="Cancel all your open upload sessions.")
@click.option("--registry", help="With --all: only sessions in this registry.")
@client_command
def uploads_cancel(
    client: Client, as_json: bool, upload_ids: tuple[str, ...], cancel_all: bool, registry: str | None
) -> None:
    """Cancel upload sessions UPLOAD_IDS (or --all of yours): the partial bytes are removed now.

    \b
    Example:
      modelyard uploads cancel --all --registry models
    """
    if bool(upload_ids) == cancel_all:
        raise click.UsageError("give upload session ids, or --all")
    ids = list(upload_ids) or [u.id for u in client.list_uploads(registry)]
    for upload_id in ids:
        client.cancel_upload(upload_id)
    emit({"cancelled": ids}) if as_json else click.echo(f"cancelled {plural(len(ids), 'upload session')}")


@uploads.command("purge")
@data_dir_option
@click.option("--dry-run/--delete", default=True, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@needs_server
def uploads_purge(data_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove upload sessions past their TTL, orphaned upload data and idle MLflow multipart uploads."""
    from modelyard.bootstrap import build_registry

    try:
        svc = build_registry(_settings(data_dir), initialize_empty=False)
    except Exception as exc:
        _fail(exc)
        return
    report = svc.maintenance.purge_uploads(dry_run=dry_run)
    svc.close()
    if as_json:
        emit({"dry_run": report.dry_run, "sessions": report.sessions, "multipart_uploads": report.multipart_uploads})
    else:
        click.echo(
            f"{'would purge' if dry_run else 'purged'} {plural(len(report.sessions), 'upload session')} and "
            f"{plural(len(report.multipart_uploads), 'MLflow multipart upload')}"
        )


def _sample_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a count (50), a fraction (0.1) or a percentage (10%)") from None
    if number <= 0 or (number > 1 and number != int(number)) or (value.endswith("%") and number > 1):
        raise click.BadParameter(f"'{value}' is not a count (50), a fraction (0.1) or a percentage (10%)")
    return number


@main.command()
@data_dir_option
@click.option(
    "--sample",
    default=None,
    callback=_sample_option,
    help="Re-hash only this many blobs (50), or this fraction (0.1 or 10%), chosen at random; "
    "references and the audit chain are always checked in full.",
)
@click.option("--seed", type=int, default=None, help="Random seed for --sample (repeatable runs).")
@click.option("--json", "as_json", is_flag=True)
@needs_server
def fsck(data_dir: Path | None, sample: float | None, seed: int | None, as_json: bool) -> None:
    """Verify the store: re-hash blobs, check every reference and the audit chain; exit 1 on any problem."""
    from modelyard.bootstrap import build_registry

    try:
        svc = build_registry(_settings(data_dir), initialize_empty=False)
        report = svc.fsck.check(sample=sample, seed=seed)
    except Exception as exc:
        _fail(exc)
        return
    svc.close()
    if as_json:
        emit(
            {
                "ok": report.ok,
                "blobs_total": report.blobs_total,
                "blobs_hashed": report.blobs_hashed,
                "file_refs": report.file_refs,
                "aliases": report.aliases,
                "events": report.events,
                "problems": [{"kind": p.kind, "subject": p.subject, "message": p.message} for p in report.problems],
            }
        )
    else:
        for p in report.problems:
            click.secho(f"{p.kind}: {p.message}", fg="red")
        click.echo(
            f"hashed {report.blobs_hashed} of {plural(report.blobs_total, 'blob')}, checked "
            f"{plural(report.file_refs, 'file reference')}, {plural(report.aliases, 'alias', 'aliases')} and "
            f"{plural(report.events, 'audit event')}: "
            + ("no problems" if report.ok else plural(len(report.problems), "problem"))
        )
    if not report.ok:
        sys.exit(1)
