"""``max_seconds`` bounds a watch stream: it sends the current version, then ends on time."""

from __future__ import annotations

import time
from pathlib import Path

from modelyard import Client


def test_bounded_stream_sends_current_then_closes(
    sdk: Client,
    http,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "m.bin").write_bytes(b"weights")
    sdk.push(tmp_path / "m.bin", "models/bounded", aliases=["production"])
    started = time.monotonic()
    r = http.get("/api/v1/watch", params={"target": "models/bounded@production", "max_seconds": 0.5})
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: current" in r.text
    assert '"version": 1' in r.text or '"version":1' in r.text
    assert elapsed < 10


def test_max_seconds_is_validated(http) -> None:  # type: ignore[no-untyped-def]
    for bad in ("0", "-1", "100000", "soon"):
        r = http.get("/api/v1/watch", params={"target": "models/x@production", "max_seconds": bad})
        assert r.status_code == 400 and r.json()["code"] == "INVALID_ARGUMENT", bad
