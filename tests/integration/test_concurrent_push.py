"""Many clients pushing to one collection at once get gapless, unique version numbers."""

from __future__ import annotations

import threading
from pathlib import Path

from modelyard import Client

from .conftest import Server

CLIENTS = 32


def test_32_concurrent_pushes_get_versions_1_to_32(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server = shared_server
    path = f"{registry}/contended"
    sources = []
    for i in range(CLIENTS):
        d = tmp_path / f"src{i}"
        d.mkdir()
        (d / "weights.bin").write_bytes(i.to_bytes(4, "big") * 4096)
        (d / "config.json").write_text(f'{{"client": {i}}}')
        sources.append(d)

    barrier = threading.Barrier(CLIENTS)
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def push(i: int) -> None:
        try:
            with Client(server.url, timeout=120) as client:
                barrier.wait(timeout=30)
                results[i] = client.push(sources[i], path).number
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    assert errors == []
    assert sorted(results.values()) == list(range(1, CLIENTS + 1))

    with Client(server.url) as client:
        listed = [v for v in client.list_versions(path)]
        assert sorted(v.number for v in listed) == list(range(1, CLIENTS + 1))
        created = [e for e in client.list_events(action="version.created", registry=registry)]
        assert len(created) == CLIENTS
        assert sorted(e.target for e in created) == sorted(f"{path}:{n}" for n in range(1, CLIENTS + 1))
        assert client.get_collection(path).latest_version == CLIENTS
        # Each version holds the content its own client pushed.
        by_digest = {v.digest: v.number for v in listed}
        assert len(by_digest) == CLIENTS
