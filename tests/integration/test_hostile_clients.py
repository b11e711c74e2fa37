"""Hostile clients against a real ``modelyard serve`` process, over raw sockets (issue 8, items 10, 11, 15).

- an anonymous client can make the server read nothing: 401 before the body (RSS stays flat);
- a JSON body over the cap is refused with 413, by its Content-Length or by counting a chunked one;
- sixty uploads trickling one byte a second hold no thread: health and the API answer at once;
- a stalled or too slow upload is cut with 408; a principal's concurrent uploads are capped (429);
- a client that disconnects mid-upload is one log line, not a traceback.

SQLite only: these are properties of the HTTP edge, not of the metadata backend.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from modelyard import Client

from .conftest import Server

MiB = 1024 * 1024
JSON_CAP = MiB
IDLE = 1.5
MIN_RATE = 256
PER_PRINCIPAL = 2


def _boot(tmp: Path, **env: str) -> tuple[Server, str]:
    srv = Server(tmp / "data", None, extra_env={"MODELYARD_AUTH": "on", **env})
    srv.data_dir.mkdir(parents=True)
    srv.cli("db", "upgrade")
    token = json.loads(srv.cli("admin", "bootstrap", "root", "--json").stdout)["token"]
    return srv.start(), token


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """Auth on, small limits: 1 MiB JSON bodies, 1.5 s idle window, 256 B/s, 2 uploads per principal."""
    srv, token = _boot(
        tmp_path_factory.mktemp("tight"),
        MODELYARD_LIMITS__MAX_JSON_BODY_BYTES=str(JSON_CAP),
        MODELYARD_LIMITS__UPLOAD_IDLE_TIMEOUT_SECONDS=str(IDLE),
        MODELYARD_LIMITS__UPLOAD_MIN_BYTES_PER_SECOND=str(MIN_RATE),
        MODELYARD_LIMITS__MAX_UPLOADS_PER_PRINCIPAL=str(PER_PRINCIPAL),
    )
    try:
        with Client(srv.url, token=token) as admin:
            admin.create_principal("mia")
            admin.grant("models", "mia", "member")
            tokens = {"root": token, "mia": admin.create_token("t", principal="mia").token}
        # mia's experiment: where she may write MLflow artifacts (its artifact location).
        mia = {"Authorization": f"Bearer {tokens['mia']}"}
        r = httpx.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": "edge"}, headers=mia)
        assert r.status_code == 200, r.text
        r = httpx.get(
            f"{srv.url}/api/2.0/mlflow/experiments/get",
            params={"experiment_id": r.json()["experiment_id"]},
            headers=mia,
        )
        location = r.json()["experiment"]["artifact_location"]
        assert location.startswith("mlflow-artifacts:/"), location
        tokens["dir"] = location.removeprefix("mlflow-artifacts:").strip("/")
        yield srv, tokens
    finally:
        srv.stop()


# --- raw HTTP ---------------------------------------------------------------------------


def _open(srv: Server, method: str, path: str, token: str | None, **headers: str) -> socket.socket:
    """Connect and send a request head only; the test decides what body (if any) follows."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{srv.port}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def _response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers (lower-case names) and JSON body of the response, read within ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            assert got, f"connection closed before a response: {data!r}"
            data += got
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            got = sock.recv(65536)
            assert got, "connection closed in the middle of the response body"
            body += got
    except TimeoutError:
        raise AssertionError(f"no response within {timeout} s (the server is still reading or stuck)") from None
    return int(lines[0].split()[1]), headers, json.loads(body) if body else {}


def _closed_by_server(sock: socket.socket, timeout: float = 5) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _rss(srv: Server) -> int:
    assert srv.proc is not None
    return int(psutil.Process(srv.proc.pid).memory_info().rss)


def _begin_native_upload(srv: Server, token: str, size: int) -> str:
    digest = "sha256:" + hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    r = httpx.post(
        f"{srv.url}/api/v1/registries/models/uploads",
        json={"digest": digest, "size": size},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _native_patch(srv: Server, token: str, upload_id: str, length: int) -> socket.socket:
    return _open(
        srv,
        "PATCH",
        f"/api/v1/uploads/{upload_id}",
        token,
        Content_Type="application/octet-stream",
        Content_Length=str(length),
        Upload_Offset="0",
    )


def _mlflow_put(srv: Server, token: str, path: str, length: int) -> socket.socket:
    return _open(srv, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", token, Content_Length=str(length))


# --- item 10: authenticate first, cap JSON bodies ----------------------------------------


def test_anonymous_body_is_refused_before_it_is_read(tight: tuple[Server, dict[str, str]]) -> None:
    srv, _ = tight
    before = _rss(srv)
    for auth in (None, "not-a-token"):
        sock = _open(
            srv, "POST", "/api/v1/registries", auth, Content_Type="application/json", Content_Length=str(100 * MiB)
        )
        # The answer comes before a single body byte was sent: nothing was read.
        status, headers, body = _response(sock, timeout=5)
        assert status == 401, body
        assert body["code"] == "UNAUTHENTICATED"
        assert headers["connection"] == "close"
        assert headers["www-authenticate"].startswith("Bearer")
        # Push the 100 MB anyway: the server has hung up and reads none of it.
        chunk = b'{"name": "' + b"x" * MiB
        sent = 0
        try:
            while sent < 100 * MiB:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        sock.close()
        assert sent < 100 * MiB, "the server kept reading an anonymous 100 MB body"
    # Chunked too (no Content-Length to judge by): refused from the headers alone.
    sock = _open(srv, "POST", "/api/2.0/mlflow/runs/log-batch", None, Transfer_Encoding="chunked")
    status, _, body = _response(sock, timeout=5)
    assert (status, body["error_code"]) == (401, "UNAUTHENTICATED")
    sock.close()
    assert _rss(srv) - before < 50 * MiB
    assert httpx.get(f"{srv.url}/api/v1/health").status_code == 200


def test_oversize_json_by_content_length_is_413_before_reading(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    for path, shape in (("/api/v1/registries", "native"), ("/api/2.0/mlflow/runs/log-batch", "mlflow")):
        sock = _open(
            srv, "POST", path, tokens["mia"], Content_Type="application/json", Content_Length=str(JSON_CAP + 1)
        )
        status, headers, body = _response(sock, timeout=5)
        sock.close()
        assert status == 413, body
        assert headers["connection"] == "close"
        if shape == "native":
            assert body["code"] == "PAYLOAD_TOO_LARGE"
            assert body["details"]["reason"] == "payload_too_large"  # type: ignore[index]
            assert body["details"]["limit_bytes"] == JSON_CAP  # type: ignore[index]
            assert "MODELYARD_LIMITS__MAX_JSON_BODY_BYTES" in str(body["message"])
        else:
            assert set(body) == {"error_code", "message"}
            assert body["error_code"] == "RESOURCE_LIMIT_EXCEEDED"


def test_oversize_chunked_json_is_cut_at_the_cap(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    name = "chunked-" + secrets.token_hex(3)
    sock = _open(
        srv, "POST", "/api/v1/registries", tokens["root"], Content_Type="application/json", Transfer_Encoding="chunked"
    )
    payload = json.dumps({"name": name, "description": "x" * (JSON_CAP + 1)}).encode()
    for i in range(0, JSON_CAP + 1, 64 * 1024):  # exactly one byte past the cap, no terminating chunk
        piece = payload[i : min(i + 64 * 1024, JSON_CAP + 1)]
        sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    status, headers, body = _response(sock, timeout=5)
    sock.close()
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE"), body
    assert headers["connection"] == "close"
    # Nothing was stored.
    r = httpx.get(f"{srv.url}/api/v1/registries/{name}", headers={"Authorization": f"Bearer {tokens['root']}"})
    assert r.status_code == 404


# --- item 11: slow uploads hold no thread; idle and rate limits; per-principal caps -------


def test_sixty_trickling_uploads_leave_health_and_api_answering(tmp_path: Path) -> None:
    srv, token = _boot(
        tmp_path,
        MODELYARD_LIMITS__UPLOAD_IDLE_TIMEOUT_SECONDS="60",
        MODELYARD_LIMITS__UPLOAD_MIN_BYTES_PER_SECOND="0",
        MODELYARD_LIMITS__MAX_UPLOADS_PER_PRINCIPAL="100",
        MODELYARD_LIMITS__MAX_CONCURRENT_UPLOADS="100",
    )
    auth = {"Authorization": f"Bearer {token}"}
    try:
        socks = [_native_patch(srv, token, _begin_native_upload(srv, token, 1000), 1000) for _ in range(30)]
        socks += [_mlflow_put(srv, token, f"slow/{i}.bin", 1000) for i in range(30)]
        worst = 0.0
        for _second in range(5):
            for s in socks:
                s.sendall(b"x")  # one byte per upload per second
            for url in (f"{srv.url}/api/v1/health", f"{srv.url}/api/v1/registries/models"):
                t0 = time.monotonic()
                r = httpx.get(url, headers=auth, timeout=2)
                worst = max(worst, time.monotonic() - t0)
                assert r.status_code == 200, r.text
            time.sleep(1)
        # All sixty are still in flight (none was refused or answered): the server just waits for them.
        readable, _, _ = select.select(socks, [], [], 0)
        assert readable == []
        assert worst < 2.0
        for s in socks:
            s.close()
    finally:
        srv.stop()


def test_a_stalled_upload_is_cut_after_the_idle_timeout(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    upload_id = _begin_native_upload(srv, tokens["mia"], 1000)
    sock = _native_patch(srv, tokens["mia"], upload_id, 1000)
    sock.sendall(b"y" * 600)  # then nothing
    t0 = time.monotonic()
    status, headers, body = _response(sock, timeout=IDLE + 5)
    waited = time.monotonic() - t0
    assert (status, body["code"]) == (408, "REQUEST_TIMEOUT"), body
    assert IDLE - 0.5 < waited < IDLE + 3
    assert headers["connection"] == "close"
    assert _closed_by_server(sock)
    sock.close()
    # What arrived is kept: the session resumes from there.
    r = httpx.get(f"{srv.url}/api/v1/uploads/{upload_id}", headers={"Authorization": f"Bearer {tokens['mia']}"})
    assert r.json()["offset"] == 600


def test_an_upload_below_the_minimum_rate_is_cut(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    sock = _mlflow_put(srv, tokens["mia"], f"{tokens['dir']}/trickle/a.bin", 10_000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < IDLE + 5:  # 5 bytes a second, never idle for long
        if select.select([sock], [], [], 0.2)[0]:
            break
        sock.sendall(b"z")
    status, _, body = _response(sock, timeout=2)
    sock.close()
    assert (status, body["error_code"]) == (408, "DEADLINE_EXCEEDED"), body
    assert "minimum" in str(body["message"])
    r = httpx.get(
        f"{srv.url}/api/2.0/mlflow-artifacts/artifacts/{tokens['dir']}/trickle/a.bin",
        headers={"Authorization": f"Bearer {tokens['mia']}"},
    )
    assert r.status_code == 404  # nothing was published


def test_concurrent_uploads_are_capped_per_principal(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    held = [_native_patch(srv, tokens["mia"], _begin_native_upload(srv, tokens["mia"], 1000), 1000)]
    held.append(_mlflow_put(srv, tokens["mia"], f"{tokens['dir']}/cap/held.bin", 1000))
    for s in held:
        s.sendall(b"a")
    time.sleep(0.3)  # both have their slot
    third = _native_patch(srv, tokens["mia"], _begin_native_upload(srv, tokens["mia"], 10), 10)
    status, headers, body = _response(third, timeout=3)
    third.close()
    assert (status, body["code"]) == (429, "TOO_MANY_REQUESTS"), body
    assert int(headers["retry-after"]) > 0
    fourth = _mlflow_put(srv, tokens["mia"], f"{tokens['dir']}/cap/fourth.bin", 10)
    status, headers, body = _response(fourth, timeout=3)
    fourth.close()
    assert (status, body["error_code"]) == (429, "REQUEST_LIMIT_EXCEEDED"), body
    assert "retry-after" in headers
    # Another principal is not affected.
    r = httpx.put(
        f"{srv.url}/api/2.0/mlflow-artifacts/artifacts/{tokens['dir']}/cap/root.bin",
        content=b"0123456789",
        headers={"Authorization": f"Bearer {tokens['root']}"},
    )
    assert r.status_code == 200, r.text
    for s in held:
        s.close()
    time.sleep(0.3)  # the slots are given back when the clients go
    r = httpx.put(
        f"{srv.url}/api/2.0/mlflow-artifacts/artifacts/{tokens['dir']}/cap/after.bin",
        content=b"0123456789",
        headers={"Authorization": f"Bearer {tokens['mia']}"},
    )
    assert r.status_code == 200, r.text


# --- item 15: a disconnect is one log line ------------------------------------------------


def test_a_client_disconnecting_mid_upload_is_one_log_line(tight: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = tight
    upload_id = _begin_native_upload(srv, tokens["mia"], 1000)
    log_start = srv.log_path.stat().st_size
    native = _native_patch(srv, tokens["mia"], upload_id, 1000)
    mlflow = _mlflow_put(srv, tokens["mia"], f"{tokens['dir']}/gone/b.bin", 1000)
    for s in (native, mlflow):
        s.sendall(b"q" * 100)
    time.sleep(0.3)
    native.close()
    mlflow.close()
    time.sleep(1.0)
    log = srv.log_path.read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in log and "ERROR" not in log, log
    for path in (f"/api/v1/uploads/{upload_id}", f"/api/2.0/mlflow-artifacts/artifacts/{tokens['dir']}/gone/b.bin"):
        lines = [line for line in log.splitlines() if path in line]
        assert len(lines) == 1, log
        assert "disconnected" in lines[0] and "INFO" in lines[0]
    auth = {"Authorization": f"Bearer {tokens['mia']}"}
    # The native session stays resumable from what arrived; the MLflow upload left nothing.
    assert httpx.get(f"{srv.url}/api/v1/uploads/{upload_id}", headers=auth).json()["offset"] == 100
    r = httpx.get(f"{srv.url}/api/2.0/mlflow-artifacts/artifacts/{tokens['dir']}/gone/b.bin", headers=auth)
    assert r.status_code == 404
