"""``ModelHandle`` and the example serving app: hot swaps under load, no failed request."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from modelyard import Client
from modelyard.serving import ModelHandle

from .conftest import Live, push_version, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serving_app", ROOT / "examples" / "serving_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["serving_app"] = module
    spec.loader.exec_module(module)
    return module


def test_handle_swaps_under_load_without_a_failed_request(live: Live, tmp_path: Path) -> None:
    app = _example()
    big = "x" * 2_000_000  # a file that takes a moment to download: requests keep coming meanwhile
    versions = [
        push_version(live.client, tmp_path, "models/hot", {"weights": [n, n], "bias": 0, "pad": big}) for n in (1, 2, 3)
    ]
    live.client.set_alias("models/hot", "production", versions[0])
    swaps: list[int] = []
    handle = ModelHandle(
        live.client,
        "models/hot@production",
        cache_dir=tmp_path / "cache",
        loader=app.load_model,
        on_swap=lambda loaded: swaps.append(loaded.version.number),
    )
    with handle:
        assert handle.version == versions[0] and handle.model.predict([1, 1]) == 2
        server = app.make_server(handle)
        url = f"http://127.0.0.1:{server.server_address[1]}/predict"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop = threading.Event()
        failures: list[str] = []
        seen: list[list[int]] = [[] for _ in range(6)]

        def hammer(i: int) -> None:
            with httpx.Client(timeout=10) as http:
                while not stop.is_set():
                    try:
                        r = http.post(url, json={"x": [1, 1]})
                        body = r.json()
                        if r.status_code != 200 or body["prediction"] != 2 * body["version"]:
                            failures.append(f"{r.status_code} {r.text[:100]}")
                        seen[i].append(body["version"])
                    except Exception as exc:
                        failures.append(repr(exc))

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(len(seen))]
        for th in threads:
            th.start()
        try:
            time.sleep(0.3)
            for target in (versions[1], versions[2]):
                live.client.set_alias("models/hot", "production", target)
                assert handle.wait_for_version(target, timeout=30)
                time.sleep(0.3)
        finally:
            stop.set()
            for th in threads:
                th.join(10)
            server.shutdown()
            server.server_close()
    assert failures == []
    assert swaps == versions
    for answers in seen:
        assert answers and answers == sorted(answers)  # each client: old version, then new, never back
    assert {v for answers in seen for v in answers} == set(versions)
    folders = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir() if not p.name.startswith("."))
    assert folders == [str(versions[1]), str(versions[2])]  # keep=2: older copies are pruned
    assert all(
        json.loads((tmp_path / "cache" / f / "model.json").read_text())["weights"][0] == int(f.split("-")[0])
        for f in (p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith("."))
    )


def test_a_broken_version_keeps_the_old_one_serving(live: Live, tmp_path: Path) -> None:
    app = _example()
    good = push_version(live.client, tmp_path, "models/safe", {"weights": [1], "bias": 0}, aliases=["production"])
    bad = push_version(live.client, tmp_path, "models/safe", {"no-weights": True})  # the loader will fail on it
    with ModelHandle(
        live.client, "models/safe@production", cache_dir=tmp_path / "c", loader=app.load_model, retry_seconds=0.1
    ) as handle:
        live.client.set_alias("models/safe", "production", bad)
        wait_until(lambda: isinstance(handle.last_error, KeyError))
        assert handle.version == good and handle.model.predict([5]) == 5
        fixed = push_version(live.client, tmp_path, "models/safe", {"weights": [3], "bias": 0})
        live.client.set_alias("models/safe", "production", fixed)
        assert handle.wait_for_version(fixed, timeout=20) and handle.model.predict([1]) == 3


def test_handle_needs_an_alias_target(live: Live, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="alias"):
        ModelHandle(live.client, "models/anything", cache_dir=tmp_path)


class _CountingTransport(httpx.HTTPTransport):
    """A real transport (a caller's TLS or proxy settings would live here) that counts what it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.closed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)

    def close(self) -> None:
        self.closed += 1
        super().close()


def test_handle_watches_through_the_callers_transport_and_closing_it_leaves_that_open(
    live: Live, tmp_path: Path
) -> None:
    """The watch stream goes through the transport given to ``Client``; closing the handle neither
    closes that transport nor breaks the caller's client (issue 9)."""
    app = _example()
    good = push_version(live.client, tmp_path, "models/own", {"weights": [2], "bias": 0}, aliases=["production"])
    transport = _CountingTransport()
    with Client(live.url, token="", timeout=30, transport=transport) as client:
        handle = ModelHandle(client, "models/own@production", cache_dir=tmp_path / "c", loader=app.load_model)
        handle.start()
        try:
            assert handle.version == good
            assert "/api/v1/watch" in transport.paths
        finally:
            handle.close()
        assert transport.closed == 0
        assert client.get_version(f"models/own:{good}").number == good
    assert transport.closed == 1
