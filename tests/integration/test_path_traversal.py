"""No file path can escape: the server refuses crafted manifests, the SDK refuses to write outside dest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from modelyard import Client, InvalidPathError

from .conftest import Server

EVIL_PATHS = ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a/./b", "a//b", "..\\escape.txt", "C:/x"]


def test_server_refuses_a_manifest_with_escaping_paths(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server = shared_server
    coll = f"{server.url}/api/v1/registries/{registry}/collections/evil"
    data = b"payload"
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    with Client(server.url) as client:
        client.upload_blob(registry, blob, digest, len(data))  # the blob exists: only the path is wrong
    for evil in EVIL_PATHS:
        body = {
            "files": [
                {"path": "ok.txt", "digest": digest, "size": len(data)},
                {"path": evil, "digest": digest, "size": len(data)},
            ]
        }
        r = httpx.post(f"{coll}/versions", json=body)
        assert r.status_code == 400, (evil, r.text)
        assert r.json()["code"] == "INVALID_ARGUMENT"
    assert httpx.get(coll).status_code == 404
    events = httpx.get(f"{server.url}/api/v1/events", params={"action": "version.created", "registry": registry}).json()
    assert events["items"] == []
    # The same request with clean paths is accepted, so the refusals above were about the paths.
    body = {"files": [{"path": "ok.txt", "digest": digest, "size": len(data)}]}
    assert httpx.post(f"{coll}/versions", json=body).status_code == 201


def _malicious_server(path: str, content: bytes) -> httpx.MockTransport:
    """A server (hostile or compromised) that lists a file path escaping the destination."""
    digest = f"sha256:{hashlib.sha256(content).hexdigest()}"
    version = {
        "registry": "models",
        "collection": "m",
        "number": 1,
        "path": "models/m:1",
        "artifact_type": "model",
        "stage": "None",
        "description": "",
        "digest": digest,
        "size": len(content),
        "file_count": 1,
        "aliases": [],
        "tags": {},
        "run": {"id": "", "url": ""},
        "params": {},
        "metrics": {},
        "datasets": [],
        "framework": "",
        "flavor": "",
        "signature": None,
        "source": "",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "created_by": "mallory",
        "files": [{"path": path, "digest": digest, "size": len(content)}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if "/files/" in request.url.path:
            return httpx.Response(200, content=content)
        return httpx.Response(200, content=json.dumps(version), headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("evil", ["../escape.txt", "sub/../../escape.txt", "/tmp/escape-abs.txt"])
def test_sdk_pull_refuses_to_write_outside_dest(tmp_path: Path, evil: str) -> None:
    dest = tmp_path / "inner" / "dest"
    client = Client("http://mallory.invalid", transport=_malicious_server(evil, b"pwned"))
    with pytest.raises(InvalidPathError):
        client.pull("models/m:1", dest)
    client.close()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []
    assert not Path("/tmp/escape-abs.txt").exists()
