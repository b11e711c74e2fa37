"""Issue 14, a new user's first hour: the CLI and SDK against a real server process.

Interrupted pushes and pulls continue where they stopped, a pull never silently mixes a
version with other files, bad paths and empty pushes are refused with the fix, exit codes
follow docs/cli.md, and the output says what happened in words and human sizes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from modelyard import Client, DestinationNotEmptyError, InvalidPathError, UnauthenticatedError

from .conftest import STARTUP_TIMEOUT, Server, base_env, free_port, modelyard_command

MIB = 1 << 20

# The CLI with small upload requests and a slowed reader, so a test can interrupt it mid-upload.
SLOW_CLI = """
import sys, time
import modelyard.client._client as c
c.UPLOAD_REQUEST_BYTES = 1 << 20
original = c._read_range
def slow(file, start, end, progress):
    for chunk in original(file, start, end, progress):
        time.sleep(0.05)
        yield chunk
c._read_range = slow
from modelyard.cli import main
sys.exit(main())
"""


def _uploads(server: Server, registry: str) -> list[dict[str, object]]:
    r = httpx.get(f"{server.url}/api/v1/uploads", params={"registry": registry}, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_interrupted_push_says_what_is_left_and_the_same_push_resumes(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server, path = shared_server, f"{registry}/big"
    src = tmp_path / "model"
    src.mkdir()
    data = os.urandom(24 * MIB)
    (src / "weights.bin").write_bytes(data)

    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, "push", str(src), path],
        env=server.env(MODELYARD_URL=server.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(int(str(u["offset"])) >= 2 * MIB for u in _uploads(server, registry)):
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"push ended before it could be interrupted: {proc.communicate()}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, (out, err)
    assert "Aborted!" not in err
    left = _uploads(server, registry)
    assert len(left) == 1
    kept = int(str(left[0]["offset"]))
    assert 0 < kept < len(data)
    assert "no version created" in err and "Run the same push again to continue" in err
    assert f"modelyard uploads cancel {left[0]['id']}" in err, err
    listed = json.loads(server.cli("uploads", "list", "--registry", registry, "--json").stdout)
    assert [u["id"] for u in listed] == [left[0]["id"]] and listed[0]["offset"] == kept

    again = json.loads(server.cli("push", str(src), path, "--json").stdout)
    assert again["number"] == 1
    assert again["uploaded_bytes"] == len(data) - kept < len(data), "the re-run push must continue, not restart"
    assert _uploads(server, registry) == []
    dest = tmp_path / "pulled"
    server.cli("pull", f"{path}:1", str(dest))
    assert (dest / "weights.bin").read_bytes() == data


def test_uploads_cancel_removes_a_partial_upload(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server = shared_server
    r = httpx.post(
        f"{server.url}/api/v1/registries/{registry}/uploads", json={"digest": "sha256:" + "a" * 64, "size": 10}
    )
    upload_id = r.json()["id"]
    httpx.patch(f"{server.url}/api/v1/uploads/{upload_id}", content=b"12345", headers={"Upload-Offset": "0"})
    shown = server.cli("uploads", "list", "--registry", registry).stdout
    assert upload_id in shown and "5 bytes of 10 bytes" in shown
    usage = server.cli("uploads", "cancel", check=False)
    assert usage.returncode == 2 and "--all" in usage.stderr
    assert server.cli("uploads", "cancel", "--all", "--registry", registry).stdout.strip() == (
        "cancelled 1 upload session"
    )
    assert _uploads(server, registry) == []
    assert httpx.get(f"{server.url}/api/v1/uploads/{upload_id}").status_code == 404


def test_repush_says_nothing_was_uploaded_and_json_reports_bytes(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server, path = shared_server, f"{registry}/m"
    src = tmp_path / "m"
    src.mkdir()
    (src / "a.bin").write_bytes(b"x" * 1_000_014)
    first = json.loads(server.cli("push", str(src), path, "--json").stdout)
    assert first["uploaded_bytes"] == 1_000_014 and first["files_already_stored"] == 0
    text = server.cli("push", str(src), path).stdout
    assert f"pushed {path}:2 (1 file, 976.6 KiB, " in text
    assert "0 bytes uploaded (all 1 file already stored)" in text


def test_version_paths_with_a_slash_get_the_invalid_path_hint(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server = shared_server
    src = tmp_path / "m"
    src.mkdir()
    (src / "a.txt").write_text("a")
    server.cli("push", str(src), f"{registry}/fraud-detector")
    for args in (
        ("push", str(src), f"{registry}/fraud-detector/1"),
        ("pull", f"{registry}/fraud-detector/1", str(tmp_path / "out")),
    ):
        result = server.cli(*args, check=False)
        assert result.returncode == 2, result.stderr
        assert "no such endpoint" not in result.stderr
        assert f"did you mean '{registry}/fraud-detector:1'?" in result.stderr
    with Client(server.url) as client, pytest.raises(InvalidPathError, match="did you mean"):
        client.get_version(f"{registry}/fraud-detector/1")
    assert not (tmp_path / "out").exists()


def test_pushing_an_empty_folder_is_refused_unless_allow_empty(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server, path = shared_server, f"{registry}/empty"
    (tmp_path / "e").mkdir()
    refused = server.cli("push", str(tmp_path / "e"), path, check=False)
    assert refused.returncode == 2 and "--allow-empty" in refused.stderr
    assert httpx.get(f"{server.url}/api/v1/registries/{registry}/collections/empty").status_code == 404
    made = json.loads(server.cli("push", str(tmp_path / "e"), path, "--allow-empty", "--json").stdout)
    assert made["number"] == 1 and made["file_count"] == 0


def test_pull_refuses_a_folder_with_other_files_unless_force_or_clean(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server, path = shared_server, f"{registry}/p"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "model.bin").write_bytes(b"new weights")
    (src / "sub" / "cfg.json").write_text("{}")
    server.cli("push", str(src), path)
    dest = tmp_path / "dest"
    (dest / "old").mkdir(parents=True)
    (dest / "model.bin").write_bytes(b"old weights")
    (dest / "old" / "notes.txt").write_text("keep me?")

    refused = server.cli("pull", f"{path}:1", str(dest), check=False)
    assert refused.returncode == 2
    assert "--force" in refused.stderr and "--clean" in refused.stderr and "model.bin" in refused.stderr
    assert (dest / "model.bin").read_bytes() == b"old weights" and not (dest / "sub").exists(), "refused: no change"

    server.cli("pull", f"{path}:1", str(dest), "--force")
    assert (dest / "model.bin").read_bytes() == b"new weights" and (dest / "old" / "notes.txt").exists()
    server.cli("pull", f"{path}:1", str(dest), "--clean")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["model.bin", "sub", "sub/cfg.json"]
    # the folder now equals the version: pulling again needs no flag
    again = server.cli("pull", f"{path}:1", str(dest))
    assert "pulled" in again.stdout and "(2 files, 13 bytes)" in again.stdout
    with Client(server.url) as client, pytest.raises(DestinationNotEmptyError):
        (dest / "stray").write_text("x")
        client.pull(f"{path}:1", dest)


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers the Range header of every file download."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/files/" in request.url.path:
            self.ranges.append(request.headers.get("Range"))
        return super().handle_request(request)


def test_an_interrupted_pull_resumes_with_range_and_checks_the_digest(
    shared_server: Server, registry: str, tmp_path: Path
) -> None:
    server, path = shared_server, f"{registry}/r"
    src = tmp_path / "src"
    src.mkdir()
    data = os.urandom(3 * MIB + 17)
    (src / "w.bin").write_bytes(data)
    server.cli("push", str(src), path)

    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "w.bin.modelyard-part").write_bytes(data[:MIB])  # what an interrupted pull leaves
    transport = RecordingTransport()
    with Client(server.url, transport=transport) as client:
        client.pull(f"{path}:1", dest)
    assert transport.ranges == [f"bytes={MIB}-"]
    assert (dest / "w.bin").read_bytes() == data and not (dest / "w.bin.modelyard-part").exists()

    # a kept part that is not this file's prefix: the digest check catches it, the pull starts over once
    other = tmp_path / "other"
    other.mkdir()
    (other / "w.bin.modelyard-part").write_bytes(b"\0" * MIB)
    transport = RecordingTransport()
    with Client(server.url, transport=transport) as client:
        client.pull(f"{path}:1", other)
    assert transport.ranges == [f"bytes={MIB}-", None]
    assert (other / "w.bin").read_bytes() == data


def test_exit_codes_one_for_server_errors_two_for_usage(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server = shared_server
    assert server.cli("versions", "get", f"{registry}/nope:1", check=False).returncode == 1
    assert server.cli("registries", "create", registry, check=False).returncode == 1  # already exists: the server
    assert server.cli("versions", "get", "no-slash", check=False).returncode == 2
    assert server.cli("push", check=False).returncode == 2  # missing arguments (click)
    assert server.cli("pull", "a/b:1", str(tmp_path), "--force", "--clean", check=False).returncode == 2


def test_output_people_read(shared_server: Server, registry: str, tmp_path: Path) -> None:
    server, path = shared_server, f"{registry}/out"
    src = tmp_path / "m"
    src.mkdir()
    (src / "a.bin").write_bytes(b"\1" * 2048)
    server.cli("push", str(src), path)
    listed = server.cli("versions", "list", path).stdout
    assert "stage" not in listed.splitlines()[0] and "2.0 KiB" in listed and "2048" not in listed
    assert "2.0 KiB in 1 file" in server.cli("versions", "get", f"{path}:1").stdout

    said = server.cli("policies", "set", registry, "production", "--approvals", "1", "--check", "ci").stdout
    assert said.strip() == (
        f"policy set: 'production' in every collection of {registry} requires 1 approval by a member or above; "
        "1 check passing (ci); moves automatically once met."
    )
    assert "{" not in said
    assert "requires 1 approval" in server.cli("policies", "show", registry, "production").stdout
    assert "production" in server.cli("policies", "ls", registry).stdout

    long_description = "d" * 150
    httpx.patch(
        f"{server.url}/api/v1/registries/{registry}/collections/out/versions/1",
        json={"description": long_description},
    )
    args = ["audit", "ls", "--registry", registry, "--newest-first", "--limit", "1"]
    wide = subprocess.run(
        [*modelyard_command(), *args],
        env=server.env(MODELYARD_URL=server.url, COLUMNS="400"),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert long_description in wide and "…" not in wide, "a wide terminal shows the whole change"
    narrow = server.cli(*args).stdout  # 200 columns: the change folds onto more lines, nothing is cut
    assert "…" not in narrow and "".join(narrow.split()).count("d" * 150) == 1


def _occupied_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, int(sock.getsockname()[1])


def test_serve_on_a_busy_port_creates_nothing(tmp_path: Path) -> None:
    sock, port = _occupied_port()
    try:
        result = subprocess.run(
            [*modelyard_command(), "serve", "--port", str(port)],
            cwd=tmp_path,
            env={k: v for k, v in base_env(tmp_path / "unused", None).items() if k != "MODELYARD_DATA_DIR"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sock.close()
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert list(tmp_path.iterdir()) == [], "a failed start must leave no data folder behind"


def test_serve_banner_names_the_database_and_blob_root_in_use(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    blobs = tmp_path / "elsewhere-blobs"
    server = make_server(MODELYARD_BLOBS__ROOT=str(blobs)).start()
    banner = server.log()
    assert f"blobs    {blobs.resolve()}" in banner, banner
    expected_db = (
        f"sqlite:///{(server.data_dir / 'modelyard.db').resolve()}"
        if server.database_url is None
        else server.database_url.rpartition("/")[2]
    )
    assert "database " in banner and expected_db in banner, banner


def test_token_comes_from_the_environment_and_401_gives_sdk_advice(
    make_server: Callable[..., Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(MODELYARD_AUTH="on")
    server.data_dir.mkdir(parents=True)
    server.start()
    monkeypatch.delenv("MODELYARD_TOKEN", raising=False)
    with Client(server.url) as client, pytest.raises(UnauthenticatedError) as exc:
        client.whoami()
    assert "set MODELYARD_TOKEN, or pass token=" in exc.value.message and "Authorization" not in exc.value.message
    cli = server.cli("whoami", check=False)
    assert cli.returncode == 1 and "MODELYARD_TOKEN" in cli.stderr and "Authorization:" not in cli.stderr

    token = server.cli("admin", "bootstrap", "alice", "--data-dir", str(server.data_dir), "--json").stdout
    secret = json.loads(token)["token"]
    monkeypatch.setenv("MODELYARD_TOKEN", secret)
    with Client(server.url) as client:  # no token= : the same lookup as Client.from_env() and the CLI
        assert client.whoami().name == "alice"
    assert "alice" in server.cli("whoami", "--token", secret).stdout
    with Client(server.url, token="") as client, pytest.raises(UnauthenticatedError):
        client.whoami()


def test_operator_commands_without_the_server_extra_say_what_to_install(tmp_path: Path) -> None:
    blocked = "import sys\nfor m in ('uvicorn', 'sqlalchemy', 'alembic', 'fastapi', 'pydantic_settings'):\n"
    blocked += "    sys.modules[m] = None\nfrom modelyard.cli import main\nsys.exit(main())\n"
    for args in (["serve", "--port", str(free_port())], ["admin", "bootstrap", "alice"], ["gc"]):
        result = subprocess.run(
            [sys.executable, "-c", blocked, *args],
            cwd=tmp_path,
            env=base_env(tmp_path / "data", None),
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT,
        )
        assert result.returncode == 1, result.stderr
        assert 'pip install "modelyard[server]"' in result.stderr
        assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
    assert list(tmp_path.iterdir()) == []
