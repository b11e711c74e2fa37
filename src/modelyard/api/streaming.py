"""Streaming request bodies into the synchronous services without buffering them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio.from_thread


def sync_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """Pull an async request body from a worker thread, one chunk at a time (memory stays flat)."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while True:
        chunk = anyio.from_thread.run(next_chunk)
        if chunk is None:
            return
        if chunk:
            yield chunk
