"""The CLI against a real server: push a directory with an alias and metadata, pull it back."""

from __future__ import annotations

import json
from pathlib import Path

from modelyard import Client

from .conftest import Server


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _upload_requests(srv: Server, registry: str) -> int:
    """Upload sessions the server's access log shows for this registry."""
    return srv.log_path.read_text(errors="replace").count(f'/api/v1/registries/{registry}/uploads HTTP/1.1" 201')


def test_push_alias_metadata_pull_and_repush(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server, x = shared_server, f"{registry}/x"
    src = tmp_path / "dir"
    (src / "tokenizer").mkdir(parents=True)
    (src / "model.safetensors").write_bytes(bytes(range(256)) * 4000)
    (src / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (src / "empty.txt").write_bytes(b"")
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"accuracy": 0.91, "f1": 0.88}))

    pushed = json.loads(
        server.cli("push", str(src), x, "--alias", "staging", "--metadata", str(metrics), "--json").stdout
    )
    assert pushed["number"] == 1 and pushed["aliases"] == ["staging"]
    assert pushed["metrics"] == {"accuracy": 0.91, "f1": 0.88}
    assert sorted(f["path"] for f in pushed["files"]) == ["empty.txt", "model.safetensors", "tokenizer/vocab.txt"]
    uploads_after_first = _upload_requests(server, registry)
    assert uploads_after_first == 3

    expected = _tree(src)
    for ref in ("staging", "1", "latest"):
        dest = tmp_path / f"pulled-{ref}"
        out = json.loads(server.cli("pull", f"{x}:{ref}", str(dest), "--json").stdout)
        assert out["number"] == 1 and out["digest"] == pushed["digest"]
        assert _tree(dest) == expected

    again = json.loads(server.cli("push", str(src), x, "--json").stdout)
    assert again["number"] == 2 and again["digest"] == pushed["digest"]
    assert _upload_requests(server, registry) == uploads_after_first, "an identical re-push must upload nothing"

    listed = json.loads(server.cli("versions", "list", x, "--json").stdout)
    assert [v["number"] for v in listed] == [2, 1]
    assert json.loads(server.cli("alias", "ls", x, "--json").stdout) == [{"alias": "staging", "version": 1}]
    found = json.loads(server.cli("search", "x", "--registry", registry, "--json").stdout)
    assert [c["path"] for c in found] == [x] and found[0]["latest_version"] == 2

    with Client(server.url) as client:
        sent: list[int] = []
        v3 = client.push(src, x, on_upload=sent.append)
        assert v3.number == 3 and sent == []
        total, to_send = client.push_plan(src, registry)
        assert total == sum(len(b) for b in expected.values()) and to_send == 0
        created = [e.target for e in client.list_events(action="version.created", registry=registry)]
        assert created == [f"{x}:1", f"{x}:2", f"{x}:3"]


def test_cli_errors_are_json_and_exit_non_zero(shared_server: Server, registry: str, tmp_path: Path) -> None:
    result = shared_server.cli("pull", f"{registry}/nope:1", str(tmp_path / "out"), "--json", check=False)
    assert result.returncode == 1
    err = json.loads(result.stderr.strip().splitlines()[-1])
    assert err["code"] == "NOT_FOUND"
