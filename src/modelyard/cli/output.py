"""Printing: JSON for scripts, tables and progress bars (rich, on stderr) for people."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table


def _plain(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, (list, tuple)):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def emit(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    click.echo(json.dumps(_plain(obj), indent=2, default=str))


UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(n: int) -> str:
    """``1000014`` -> ``976.6 KiB``; below 1 KiB, ``1 byte`` / ``512 bytes`` (binary units, one decimal)."""
    if n < 1024:
        return plural(n, "byte")
    value = float(n)
    for unit in UNITS:
        value /= 1024
        if value < 1024 or unit == UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files``."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def _blank(v: Any) -> bool:
    return v is None or v == "" or v == "None"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, drop_if_empty: Sequence[str] = ()) -> None:
    """Print rows under headers. Columns named in ``drop_if_empty`` are left out when no row has a value.

    Cells fold instead of being cut with an ellipsis: a wide terminal shows everything; a narrow
    one wraps the long cells.
    """
    keep = [i for i, h in enumerate(headers) if h not in drop_if_empty or any(not _blank(r[i]) for r in rows)]
    t = Table(*(headers[i] for i in keep), box=None, pad_edge=False, header_style="bold")
    for column in t.columns:
        column.overflow = "fold"
    for row in rows:
        t.add_row(*("" if row[i] is None else str(row[i]) for i in keep))
    console = Console()
    if not console.is_terminal:  # piped or redirected: do not squeeze rows into 80 columns
        console = Console(width=max(200, int(os.environ.get("COLUMNS", "0") or 0)))
    console.print(t)


@contextmanager
def progress_bar(*, quiet: bool) -> Iterator[Progress]:
    """A byte progress bar on stderr (hidden with ``--json`` or when stderr is not a terminal)."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:>11}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
        transient=False,
    )
    with bar:
        yield bar
