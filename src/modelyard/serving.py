"""``ModelHandle``: keep the version an alias points to downloaded and loaded, and swap to the
next one with zero downtime when the alias moves.

SDK only: imports ``modelyard.client``, ``schemas``, ``errors`` and httpx, never server code.

How it works: a watcher thread follows ``client.watch(target)`` (reconnecting with
``Last-Event-ID``, so no move is missed). When the alias moves, a loader thread downloads the new
version into a fresh folder (every file's sha256 checked), marks it complete, calls your
``loader`` on it, and only then replaces the current ``Loaded`` object in one reference
assignment. Requests that already hold the old model finish with it; new ones get the new one.
If a download or load fails, the old version keeps serving and the load is retried.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from modelyard.client import Client
from modelyard.errors import ModelyardError
from modelyard.schemas import VersionOut

T = TypeVar("T")
log = logging.getLogger("modelyard.serving")
COMPLETE_MARKER = ".modelyard-complete"


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """One loaded version: its metadata, its local folder and what ``loader`` returned."""

    version: VersionOut
    path: Path
    model: T


def _default_loader(path: Path, version: VersionOut) -> Any:
    return path


class ModelHandle(Generic[T]):
    """The current model behind an alias, hot-swapped when the alias moves.

    ``ModelHandle(client, "models/fraud@production", cache_dir="/var/cache/fraud", loader=load)``;
    ``handle.start()`` blocks until the first version is loaded; ``handle.model`` is the current
    model (take it once per request); ``handle.close()`` stops watching.
    """

    def __init__(
        self,
        client: Client,
        target: str,
        *,
        cache_dir: str | os.PathLike[str],
        loader: Callable[[Path, VersionOut], T] = _default_loader,  # type: ignore[assignment]
        keep: int = 2,
        on_swap: Callable[[Loaded[T]], None] | None = None,
        retry_seconds: float = 2.0,
    ) -> None:
        if "@" not in target and ":" not in target.split("/", 1)[-1]:
            raise ValueError("target must name an alias (registry/collection@alias) or ':latest'")
        self.client = client
        self.target = target
        self.cache_dir = Path(cache_dir)
        self.loader = loader
        self.keep = max(1, keep)
        self.on_swap = on_swap
        self.retry_seconds = retry_seconds
        self.last_error: Exception | None = None
        self.swaps = 0
        self._current: Loaded[T] | None = None
        self._wanted: int | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._watch_client = client._clone()
        self._threads: list[threading.Thread] = []

    # -- public ---------------------------------------------------------------------------------------

    def start(self, timeout: float | None = 60.0) -> ModelHandle[T]:
        """Start watching; wait (up to ``timeout`` s) until the first version is loaded."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for fn, name in ((self._watch_loop, "watch"), (self._load_loop, "load")):
            th = threading.Thread(target=fn, name=f"modelyard-handle-{name}", daemon=True)
            th.start()
            self._threads.append(th)
        if timeout is not None:
            deadline = time.monotonic() + timeout
            with self._cond:
                while self._current is None and time.monotonic() < deadline:
                    self._cond.wait(0.1)
            if self._current is None:
                raise TimeoutError(
                    f"no version of {self.target} loaded within {timeout}s"
                    + (f": {self.last_error}" if self.last_error else "")
                )
        return self

    @property
    def current(self) -> Loaded[T]:
        cur = self._current
        if cur is None:
            raise LookupError(f"no version of {self.target} is loaded yet")
        return cur

    @property
    def model(self) -> T:
        return self.current.model

    @property
    def version(self) -> int | None:
        cur = self._current
        return cur.version.number if cur else None

    def wait_for_version(self, number: int, timeout: float = 30.0) -> bool:
        """Block until version ``number`` is the current one (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.version != number and time.monotonic() < deadline:
                self._cond.wait(0.05)
        return self.version == number

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._watch_client.close()  # ends the blocking stream read at once
        for th in self._threads:
            th.join(10)

    def __enter__(self) -> ModelHandle[T]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threads --------------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                for change in self._watch_client.watch(self.target):
                    if self._stop.is_set():
                        return
                    if change.version is None:
                        log.warning(
                            "%s no longer points at a version (%s); keeping version %s",
                            self.target,
                            change.event,
                            self.version,
                        )
                        continue
                    with self._cond:
                        self._wanted = change.version
                        self._cond.notify_all()
            except Exception as exc:  # a closed client on shutdown, or a permanent error (logged)
                if self._stop.is_set():
                    return
                self.last_error = exc
                log.error("watching %s failed: %s; retrying", self.target, exc)
                self._stop.wait(self.retry_seconds)

    def _load_loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                while not self._stop.is_set() and (self._wanted is None or self._wanted == self.version):
                    self._cond.wait(0.5)
                if self._stop.is_set():
                    return
                wanted = self._wanted
            assert wanted is not None
            try:
                loaded = self._load(wanted)
            except Exception as exc:  # keep serving the old version; retry
                self.last_error = exc
                log.error("loading %s version %s failed: %s; still serving %s", self.target, wanted, exc, self.version)
                self._stop.wait(self.retry_seconds)
                continue
            with self._cond:
                if self._wanted == wanted:
                    self._current = loaded  # the swap: one reference assignment
                    self.swaps += 1
                    self.last_error = None
                    self._cond.notify_all()
                else:
                    continue  # the alias moved on while loading; load the newer one
            if self.on_swap:
                self.on_swap(loaded)
            self._prune(loaded.path)

    def _load(self, number: int) -> Loaded[T]:
        base = self.target.replace("@", ":", 1).rsplit(":", 1)[0]
        version = self.client.get_version(f"{base}:{number}")
        folder = self.cache_dir / f"{version.number}-{version.digest.split(':', 1)[-1][:16]}"
        if not (folder / COMPLETE_MARKER).is_file():
            staging = self.cache_dir / f".{folder.name}.{os.getpid()}.{threading.get_ident()}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            self.client.pull(f"{base}:{number}", staging)  # verifies every sha256
            (staging / COMPLETE_MARKER).write_text(version.digest)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(staging, folder)
        return Loaded(version, folder, self.loader(folder, version))

    def _prune(self, current: Path) -> None:
        folders = sorted(
            (p for p in self.cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p != current),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in folders[self.keep - 1 :]:
            shutil.rmtree(old, ignore_errors=True)


__all__ = ["Loaded", "ModelHandle", "ModelyardError"]
