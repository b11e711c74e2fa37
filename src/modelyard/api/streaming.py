"""Upload bodies: read in the event loop, written by a few dedicated threads (decision 0013).

A slow client must not hold a thread: the body is read asynchronously, gathered into
batches of up to ``BATCH_BYTES``, and only a full batch (or the last one) is handed to a
thread of the upload limiter (``limits.upload_threads``, separate from the API's
``limits.worker_threads``) to be written by the synchronous service. Memory per upload stays
bounded by one batch.

Each upload also takes a slot of ``UploadGate``: at most ``max_uploads_per_principal`` per
principal and ``max_concurrent_uploads`` in all (per server process), else 429 with
``Retry-After``. A body that sends nothing for ``upload_idle_timeout_seconds``, or less than
``upload_min_bytes_per_second`` over such a window, is cut with 408.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from starlette.requests import ClientDisconnect

from modelyard.domain.actor import Actor
from modelyard.errors import RequestTimeoutError, TooManyRequestsError
from modelyard.settings import LimitSettings

BATCH_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5

T = TypeVar("T", covariant=True)


class UploadSink(Protocol[T]):
    """A service-side writer: ``write`` batches (in a thread), then ``finish`` or ``abort``."""

    def write(self, data: bytes) -> None: ...

    def finish(self) -> T: ...

    def abort(self) -> None: ...


class UploadGate:
    """Concurrent upload slots per principal and per process, and the threads that write uploads."""

    def __init__(self, limits: LimitSettings) -> None:
        self.limits = limits
        self.active: Counter[str] = Counter()
        self._writers: anyio.CapacityLimiter | None = None

    @property
    def writers(self) -> anyio.CapacityLimiter:
        if self._writers is None:  # created lazily: a limiter belongs to the running event loop
            self._writers = anyio.CapacityLimiter(self.limits.upload_threads)
        return self._writers

    @asynccontextmanager
    async def slot(self, who: Actor) -> AsyncIterator[None]:
        key = f"{who.kind}:{who.name}"
        if self.active[key] >= self.limits.max_uploads_per_principal:
            raise TooManyRequestsError(
                f"{who.name} already has {self.active[key]} uploads in progress (the limit per principal); "
                "finish one, then retry",
                limit=self.limits.max_uploads_per_principal,
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
        if self.active.total() >= self.limits.max_concurrent_uploads:
            raise TooManyRequestsError(
                "the server has as many uploads in progress as it accepts; retry shortly",
                limit=self.limits.max_concurrent_uploads,
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
        self.active[key] += 1
        try:
            yield
        finally:
            self.active[key] -= 1
            if self.active[key] <= 0:
                del self.active[key]


def gate(request: Request) -> UploadGate:
    return request.app.state.upload_gate  # type: ignore[no-any-return]


async def receive_upload(request: Request, who: Actor, sink: UploadSink[T]) -> T:
    """Stream the request body into ``sink`` (see module doc); ``sink.abort()`` on any failure.

    Raises:
        TooManyRequestsError: no upload slot for this principal or this server.
        RequestTimeoutError: the client stalled or sent too slowly.
        ClientDisconnect: the client went away (logged as one line by the edge middleware).
    """
    uploads = gate(request)
    limits = uploads.limits
    async with uploads.slot(who):
        try:
            async for batch in _batches(request, limits):
                await anyio.to_thread.run_sync(sink.write, batch, limiter=uploads.writers)
            return await anyio.to_thread.run_sync(sink.finish, limiter=uploads.writers)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(sink.abort, limiter=uploads.writers)
            raise


async def _batches(request: Request, limits: LimitSettings) -> AsyncIterator[bytes]:
    """The body in batches of up to ``BATCH_BYTES``, enforcing the idle timeout and minimum rate.

    When the client stalls or goes away, what it did send is still yielded before the error, so
    a native upload session resumes from there (as it did when every chunk was written at once).
    """
    idle = limits.upload_idle_timeout_seconds
    stream = request.stream().__aiter__()
    pending: list[bytes] = []
    pending_size = 0
    window_start, window_bytes = time.monotonic(), 0
    while True:
        try:
            try:
                with anyio.fail_after(idle):
                    chunk = await stream.__anext__()
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the upload sent nothing for {idle:g} s; resume it (GET the session for its offset)",
                    idle_timeout_seconds=idle,
                ) from None
            window_bytes += len(chunk)
            now = time.monotonic()
            if now - window_start >= idle:
                if window_bytes < limits.upload_min_bytes_per_second * (now - window_start):
                    raise RequestTimeoutError(
                        f"the upload sent {window_bytes} bytes in {now - window_start:.1f} s, less than the "
                        f"minimum of {limits.upload_min_bytes_per_second} bytes per second",
                        min_bytes_per_second=limits.upload_min_bytes_per_second,
                    )
                window_start, window_bytes = now, 0
        except StopAsyncIteration:
            break
        except (RequestTimeoutError, ClientDisconnect):
            if pending:
                yield b"".join(pending)
            raise
        if chunk:
            pending.append(chunk)
            pending_size += len(chunk)
        if pending_size >= BATCH_BYTES:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)
