"""Command definitions. Thin: parse options, call the SDK or a service, print."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import click

from modelyard._version import __version__
from modelyard.client import Client
from modelyard.client._client import DEFAULT_URL, _split, metadata_from_json
from modelyard.client._transport import TOKEN_ENV, URL_ENV
from modelyard.errors import InvalidArgumentError, ModelyardError

from .diff import diff_versions
from .examples import EXAMPLES
from .output import emit, human_size, plural, progress_bar, table

F = TypeVar("F", bound=Callable[..., Any])

MAIN_EPILOG = """\b
Environment:
  MODELYARD_URL    server URL of the client commands (default http://127.0.0.1:8080); --url
  MODELYARD_TOKEN  API token of the client commands; --token
  MODELYARD_*      operator commands (serve, db, gc, admin) read the settings in docs/configuration.md

\b
Exit status:
  0    success
  1    an error from the server (or the server could not be reached)
  2    a usage error: a bad option, argument or path, refused before anything was sent
  130  interrupted (Ctrl-C)

\b
Shell completion (bash, zsh, fish):
  eval "$(_MODELYARD_COMPLETE=bash_source modelyard)"   # in ~/.bashrc
  eval "$(_MODELYARD_COMPLETE=zsh_source modelyard)"    # in ~/.zshrc
  _MODELYARD_COMPLETE=fish_source modelyard | source    # in ~/.config/fish/completions/modelyard.fish
"""


EXIT_ERROR = 1  # the server answered with an error, or could not be reached
EXIT_USAGE = 2  # a bad option or argument, refused before anything was sent (click uses 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), the shell convention


def exit_code(exc: ModelyardError) -> int:
    """2 for bad input the CLI or SDK refused locally; 1 for everything the server said (or could not)."""
    from_server = hasattr(exc, "status_code")
    return EXIT_USAGE if isinstance(exc, InvalidArgumentError) and not from_server else EXIT_ERROR


def client_command(fn: F) -> F:
    """Adds ``--url``, ``--token`` and ``--json``, builds the Client, maps errors to exit 1 (server) or 2 (usage)."""

    @click.option("--url", envvar=URL_ENV, default=DEFAULT_URL, show_default=True, show_envvar=True, help="Server URL.")
    @click.option(
        "--token",
        envvar=TOKEN_ENV,
        default=None,
        show_envvar=True,
        help="API token (prefer the environment variable: flags end up in shell history).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @functools.wraps(fn)
    def wrapper(url: str, token: str | None, as_json: bool, **kwargs: Any) -> Any:
        client = Client(url, token=token or "")
        try:
            return fn(client, as_json, **kwargs)
        except ModelyardError as exc:
            if as_json:
                click.echo(json.dumps(exc.to_dict()), err=True)
            else:
                click.secho(f"error: {exc.message}", fg="red", err=True)
            sys.exit(exit_code(exc))
        finally:
            client.close()

    return wrapper  # type: ignore[return-value]


VERB_ALIASES = {"ls": "list", "rm": "delete"}


class Command(click.Command):
    """Every command of the CLI: ends its help with an example (its own, or from ``examples.py``)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        words = ctx.command_path.split(" ")[1:]
        example = EXAMPLES.get(" ".join(words))
        if example and "Example:" not in (self.help or ""):
            formatter.write_paragraph()
            formatter.write_text("Example:")
            with formatter.indentation():
                formatter.write(" " * formatter.current_indent + example + "\n")


class Group(click.Group):
    """Every group of the CLI: ``ls``/``rm`` work wherever ``list``/``delete`` do, and command
    summaries are shown whole (wrapped to the terminal), never cut with ``...``."""

    group_class = type  # subgroups are Groups too
    command_class = Command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, VERB_ALIASES.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        return (cmd.name if cmd is not None else name), cmd, rest

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            summary = cmd.get_short_help_str(limit=10_000)
            if name in VERB_ALIASES.values():
                summary += f" (alias: {next(k for k, v in VERB_ALIASES.items() if v == name)})"
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


HELP_MAX_WIDTH = 240  # help wraps at the terminal's width, up to this (click's default stops at 80)


def _parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{p}': use key=value", param_hint="--tag")
        tags[key] = value
    return tags


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_MAX_WIDTH},
    epilog=MAIN_EPILOG,
)
@click.version_option(__version__, prog_name="modelyard")
def main() -> None:
    """modelyard: a self-hosted, governed registry for ML models and other artifacts.

    \b
    Example:
      export MODELYARD_URL=http://127.0.0.1:8080 MODELYARD_TOKEN=<token>
      modelyard push ./model models/fraud-detector --alias staging
      modelyard pull models/fraud-detector:staging ./model
    """


# -- everyday verbs ---------------------------------------------------------------------------------


@main.command()
@click.argument("local", type=click.Path(exists=True, path_type=Path))
@click.argument("path")
@click.option("--alias", "aliases", multiple=True, help="Point this alias at the new version (repeatable).")
@click.option(
    "--metadata",
    "metadata_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file: description, tags, run, params, metrics, datasets, framework, flavor, signature "
    "(or just a {metric: number} object).",
)
@click.option("--description", help="Markdown description of the version.")
@click.option("--tag", "tags", multiple=True, help="key=value (repeatable).")
@click.option("--type", "artifact_type", help="Artifact type when the push creates the collection.")
@click.option("--allow-empty", is_flag=True, help="Allow a version without files (an empty folder).")
@client_command
def push(
    client: Client,
    as_json: bool,
    local: Path,
    path: str,
    aliases: tuple[str, ...],
    metadata_file: Path | None,
    description: str | None,
    tags: tuple[str, ...],
    artifact_type: str | None,
    allow_empty: bool,
) -> None:
    """Upload LOCAL (a file or a directory) as a new version of PATH (registry/collection).

    Only the files the server does not hold yet are sent. An interrupted push (Ctrl-C, a lost
    connection) leaves its upload on the server; running the same push again continues where it
    stopped (see 'modelyard uploads list').

    \b
    Example:
      modelyard push ./model models/fraud-detector --alias staging --metadata metrics.json
    """
    metadata: dict[str, Any] = {}
    if metadata_file:
        try:
            metadata = metadata_from_json(json.loads(metadata_file.read_text()))
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{metadata_file} is not valid JSON: {exc}", param_hint="--metadata") from exc
    if description is not None:
        metadata["description"] = description
    if tags:
        metadata["tags"] = {**metadata.get("tags", {}), **_parse_tags(tags)}
    total = sum(f.stat().st_size for f in ([local] if local.is_file() else local.rglob("*")) if f.is_file())
    plan: dict[str, int] = {"files": 0, "stored": 0, "to_send": 0, "sent": 0}
    try:
        with progress_bar(quiet=as_json) as bar:
            hashing = bar.add_task("hashing", total=total)
            uploading = bar.add_task("uploading", total=None, visible=False)

            def on_plan(files: int, stored: int, to_send: int) -> None:
                plan.update(files=files, stored=stored, to_send=to_send)
                bar.update(uploading, total=to_send, visible=to_send > 0)

            def on_upload(n: int) -> None:
                plan["sent"] += n
                bar.update(uploading, advance=n)

            version = client.push(
                local,
                path,
                aliases=list(aliases),
                metadata=metadata,
                artifact_type=artifact_type,
                on_hash=lambda n: bar.update(hashing, advance=n),
                on_upload=on_upload,
                on_plan=on_plan,
                allow_empty=allow_empty,
            )
    except KeyboardInterrupt:
        _interrupted_push(client, path, plan)
    if as_json:
        emit(
            {**version.model_dump(mode="json"), "uploaded_bytes": plan["sent"], "files_already_stored": plan["stored"]}
        )
        return
    click.echo(
        f"pushed {version.path} ({plural(version.file_count, 'file')}, {human_size(version.size)}, {version.digest})"
        + (f" aliases: {', '.join(version.aliases)}" if version.aliases else "")
    )
    if plan["sent"] == 0 and plan["files"]:
        click.echo(f"0 bytes uploaded (all {plural(plan['files'], 'file')} already stored)")
    else:
        click.echo(
            f"{human_size(plan['sent'])} uploaded"
            + (f" ({plural(plan['stored'], 'file')} of {plan['files']} already stored)" if plan["stored"] else "")
        )


def _interrupted_push(client: Client, path: str, plan: dict[str, int]) -> None:
    """Ctrl-C during a push: say what the server kept and how to continue or remove it, then exit 130."""
    registry = path.partition("/")[0]
    lines = [f"interrupted: {human_size(plan['sent'])} of {human_size(plan['to_send'])} uploaded, no version created."]
    try:
        left = client.list_uploads(registry)
    except (ModelyardError, KeyboardInterrupt):
        left = []
    if left:
        kept = sum(u.offset for u in left)
        expires = min(u.expires_at for u in left).isoformat(timespec="minutes")
        lines += [
            f"The server keeps {plural(len(left), 'partial upload')} ({human_size(kept)}) in {registry} "
            f"until {expires}.",
            "Run the same push again to continue where it stopped, or remove "
            + ("it" if len(left) == 1 else "them")
            + ": modelyard uploads cancel "
            + " ".join(u.id for u in left),
        ]
    click.secho("\n".join(lines), fg="yellow", err=True)
    sys.exit(EXIT_INTERRUPTED)


@main.command()
@click.argument("path")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--force", is_flag=True, help="DEST holds other files: overwrite the version's files, keep the rest.")
@click.option("--clean", is_flag=True, help="DEST holds other files: delete them, so DEST equals the version.")
@client_command
def pull(client: Client, as_json: bool, path: str, dest: Path, force: bool, clean: bool) -> None:
    """Download version PATH (registry/collection[:N|:alias|:latest]) into DEST.

    DEST must be empty or hold only this version's files (an interrupted pull continues where it
    stopped, and every file's sha256 is checked); otherwise pass --force or --clean.

    \b
    Example:
      modelyard pull models/fraud-detector:production ./model
    """
    if force and clean:
        raise click.UsageError("give --force or --clean, not both")
    version = client.get_version(path)
    with progress_bar(quiet=as_json) as bar:
        task = bar.add_task("downloading", total=version.size)
        client.pull(
            f"{version.registry}/{version.collection}:{version.number}",
            dest,
            progress=lambda n: bar.update(task, advance=n),
            existing="clean" if clean else "overwrite" if force else "refuse",
        )
    if as_json:
        emit(version)
    else:
        click.echo(
            f"pulled {version.path} into {dest} ({plural(version.file_count, 'file')}, {human_size(version.size)})"
        )


@main.command()
@click.argument("query", required=False)
@click.option("--match", type=click.Choice(["exact", "prefix", "substring"]), default="substring", show_default=True)
@click.option("--tag", "tags", multiple=True, help="'key' or 'key=value' (repeatable).")
@click.option("--type", "artifact_type", help="Artifact type.")
@click.option("--registry", "registries", multiple=True, help="Limit to a registry (repeatable).")
@click.option("--alias", help="Only collections with this alias set.")
@click.option("--order-by", default="name", show_default=True, help="name, created_at, updated_at; '-' = descending.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@client_command
def search(
    client: Client,
    as_json: bool,
    query: str | None,
    match: str,
    tags: tuple[str, ...],
    artifact_type: str | None,
    registries: tuple[str, ...],
    alias: str | None,
    order_by: str,
    limit: int,
) -> None:
    """Search collections across registries."""
    items = list(
        islice(
            client.search(
                query,
                match=match,
                tags=list(tags),
                artifact_type=artifact_type,
                registries=list(registries),
                alias=alias,
                order_by=order_by,
                page_size=min(limit, 1000),
            ),
            limit,
        )
    )
    if as_json:
        emit(items)
    else:
        table(
            ["path", "type", "latest", "aliases", "updated"],
            [
                [
                    c.path,
                    c.artifact_type,
                    c.latest_version or "-",
                    ", ".join(f"{a}:{v}" for a, v in c.aliases.items()),
                    c.updated_at.isoformat(timespec="seconds"),
                ]
                for c in items
            ],
        )


# -- registries -------------------------------------------------------------------------------------


@main.group()
def registries() -> None:
    """Registries: org-level containers of collections."""


@registries.command("list")
@client_command
def registries_list(client: Client, as_json: bool) -> None:
    """List registries."""
    items = client.list_registries()
    if as_json:
        emit(items)
    else:
        table(
            ["name", "types", "visibility", "description"],
            [[r.name, ",".join(r.artifact_types), r.visibility, r.description] for r in items],
        )


@registries.command("create")
@click.argument("name")
@click.option("--type", "types", multiple=True, help="Accepted artifact type (repeatable); default 'model'.")
@click.option("--description", default="")
@click.option("--visibility", type=click.Choice(["organization", "restricted"]), default="organization")
@client_command
def registries_create(
    client: Client, as_json: bool, name: str, types: tuple[str, ...], description: str, visibility: str
) -> None:
    """Create a registry."""
    r = client.create_registry(
        name, description=description, artifact_types=list(types) or ["model"], visibility=visibility
    )
    emit(r) if as_json else click.echo(f"created registry {r.name} ({', '.join(r.artifact_types)})")


@registries.command("delete")
@click.argument("name")
@client_command
def registries_delete(client: Client, as_json: bool, name: str) -> None:
    """Delete an empty registry."""
    client.delete_registry(name)
    emit({"deleted": name}) if as_json else click.echo(f"deleted registry {name}")


# -- collections -------------------------------------------------------------------------------------


@main.group()
def collections() -> None:
    """Collections: named, ordered sets of versions."""


@collections.command("list")
@click.argument("registry")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@client_command
def collections_list(client: Client, as_json: bool, registry: str, limit: int) -> None:
    """List the collections of REGISTRY."""
    items = list(islice(client.search(registries=[registry], page_size=min(limit, 1000)), limit))
    if as_json:
        emit(items)
    else:
        table(
            ["path", "type", "latest", "aliases"],
            [
                [c.path, c.artifact_type, c.latest_version or "-", ", ".join(f"{a}:{v}" for a, v in c.aliases.items())]
                for c in items
            ],
        )


@collections.command("create")
@click.argument("path")
@click.option("--type", "artifact_type")
@click.option("--description", default="")
@click.option("--tag", "tags", multiple=True, help="key=value (repeatable).")
@client_command
def collections_create(
    client: Client, as_json: bool, path: str, artifact_type: str | None, description: str, tags: tuple[str, ...]
) -> None:
    """Create collection PATH (registry/collection)."""
    c = client.create_collection(path, artifact_type=artifact_type, description=description, tags=_parse_tags(tags))
    emit(c) if as_json else click.echo(f"created {c.path}")


@collections.command("get")
@click.argument("path")
@client_command
def collections_get(client: Client, as_json: bool, path: str) -> None:
    """Show collection PATH."""
    c = client.get_collection(path)
    if as_json:
        emit(c)
    else:
        table(
            ["field", "value"],
            [
                ["path", c.path],
                ["type", c.artifact_type],
                ["latest", c.latest_version or "-"],
                ["aliases", ", ".join(f"{a}:{v}" for a, v in c.aliases.items())],
                ["tags", ", ".join(f"{k}={v}" for k, v in c.tags.items())],
                ["description", c.description],
            ],
        )


@collections.command("delete")
@click.argument("path")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_command
def collections_delete(client: Client, as_json: bool, path: str, yes: bool) -> None:
    """Delete collection PATH with all its versions."""
    if not yes and not as_json:
        click.confirm(f"delete {path} and all its versions?", abort=True)
    client.delete_collection(path)
    emit({"deleted": path}) if as_json else click.echo(f"deleted {path}")


# -- versions ---------------------------------------------------------------------------------------


@main.group()
def versions() -> None:
    """Versions: immutable snapshots of files plus metadata."""


@versions.command("list")
@click.argument("path")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@client_command
def versions_list(client: Client, as_json: bool, path: str, limit: int) -> None:
    """List versions of PATH, newest first."""
    items = list(islice(client.list_versions(path, page_size=min(limit, 1000)), limit))
    if as_json:
        emit(items)
    else:
        table(
            ["version", "aliases", "stage", "files", "size", "created", "by"],
            [
                [
                    v.number,
                    ", ".join(v.aliases),
                    v.stage,
                    v.file_count,
                    human_size(v.size),
                    v.created_at.isoformat(timespec="seconds"),
                    v.created_by,
                ]
                for v in items
            ],
            drop_if_empty=["stage"],
        )


@versions.command("get")
@click.argument("path")
@client_command
def versions_get(client: Client, as_json: bool, path: str) -> None:
    """Show version PATH (registry/collection:N|:alias|:latest) with its files."""
    v = client.get_version(path)
    if as_json:
        emit(v)
        return
    table(
        ["field", "value"],
        [
            ["path", v.path],
            ["digest", v.digest],
            ["size", f"{human_size(v.size)} in {plural(v.file_count, 'file')}"],
            ["aliases", ", ".join(v.aliases)],
            ["stage", v.stage],
            ["run", v.run.id],
            ["metrics", json.dumps(v.metrics)],
            ["params", json.dumps(v.params)],
            ["tags", ", ".join(f"{k}={x}" for k, x in v.tags.items())],
            ["created", f"{v.created_at.isoformat(timespec='seconds')} by {v.created_by}"],
        ],
    )
    table(["file", "size", "digest"], [[f.path, human_size(f.size), f.digest] for f in v.files or []])


@versions.command("diff")
@click.argument("a")
@click.argument("b")
@client_command
def versions_diff(client: Client, as_json: bool, a: str, b: str) -> None:
    """Compare versions A and B: metadata, params, metrics and files side by side.

    Rows that differ are marked with '*'. B may be a bare version or alias (':3', '3') of A's collection.

    \b
    Example:
      modelyard versions diff models/fraud-detector:3 models/fraud-detector:production
      modelyard versions diff models/fraud-detector:3 4
    """
    registry, collection, _ = _split(a)
    if "/" not in b:
        b = f"{registry}/{collection}:{b.lstrip(':')}"
    result = diff_versions(client.get_version(a), client.get_version(b))
    if as_json:
        emit(result)
        return
    click.echo(f"A = {result['a']}   B = {result['b']}   ({plural(result['changes'], 'difference')})")
    for section in ("metadata", "params", "metrics", "files"):
        rows = result[section]
        if not rows:
            continue
        click.echo(f"\n{section}")
        table(
            ["", "key", "A", "B"],
            [["*" if r["changed"] else "", r["key"], _cell(r["a"]), _cell(r["b"])] for r in rows],
        )


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


@versions.command("delete")
@click.argument("path")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_command
def versions_delete(client: Client, as_json: bool, path: str, yes: bool) -> None:
    """Delete version PATH (registry/collection:N). Its number is never reused."""
    if not yes and not as_json:
        click.confirm(f"delete {path}?", abort=True)
    client.delete_version(path)
    emit({"deleted": path}) if as_json else click.echo(f"deleted {path}")


# -- aliases -------------------------------------------------------------------------------------------


@main.group()
def alias() -> None:
    """Aliases: mutable names (champion, production) pointing at one version."""


@alias.command("set")
@click.argument("path")
@click.argument("name")
@click.argument("version", type=int)
@client_command
def alias_set(client: Client, as_json: bool, path: str, name: str, version: int) -> None:
    """Point alias NAME of collection PATH at VERSION."""
    a = client.set_alias(path, name, version)
    emit(a) if as_json else click.echo(f"{path}@{a.alias} -> {a.version}")


@alias.command("delete")
@click.argument("path")
@click.argument("name")
@client_command
def alias_rm(client: Client, as_json: bool, path: str, name: str) -> None:
    """Remove alias NAME from collection PATH."""
    client.unset_alias(path, name)
    emit({"removed": name}) if as_json else click.echo(f"removed {path}@{name}")


@alias.command("list")
@click.argument("path")
@client_command
def alias_ls(client: Client, as_json: bool, path: str) -> None:
    """List the aliases of collection PATH."""
    items = client.list_aliases(path)
    emit(items) if as_json else table(["alias", "version"], [[a.alias, a.version] for a in items])


@alias.command("history")
@click.argument("path")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--at", "at", help="Only the move in force at this time (ISO 8601 with timezone).")
@client_command
def alias_history(client: Client, as_json: bool, path: str, limit: int, at: str | None) -> None:
    """Every move of an alias: PATH is registry/collection@alias (or :alias)."""
    registry, collection, name = _split(path)
    if not name:
        raise click.BadParameter("give the alias: registry/collection@alias", param_hint="PATH")
    if at:
        change = client.alias_at(f"{registry}/{collection}", name, at)
        if as_json:
            emit(change)
        else:
            click.echo(
                f"at {at}, {path} pointed to version {change.version}, "
                f"set by {change.actor} at {change.at.isoformat(timespec='seconds')}"
            )
        return
    items = client.alias_history(f"{registry}/{collection}", name, limit=limit)
    if as_json:
        emit(items)
    else:
        table(
            ["when", "version", "previous", "by"],
            [
                [
                    a.at.isoformat(timespec="seconds"),
                    a.version if a.version is not None else "(removed)",
                    a.previous_version or "-",
                    a.actor,
                ]
                for a in items
            ],
        )


from . import (  # noqa: E402,F401  (registers the other command groups)
    automations,  # noqa: E402,F401  (webhooks, watch)
    governance,
    ops,
    promotion,
)
