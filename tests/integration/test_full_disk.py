"""A full disk (issue 8, item 13): a real server process whose data dir is a small tmpfs.

A push that runs out of space answers 507 ``INSUFFICIENT_STORAGE`` with a message that says
so (the SDK raises ``InsufficientStorageError``), leaves no partial upload data and no
session or version rows, and the same push succeeds once space is freed. SQLite's "database
or disk is full" is the same 507, not a 503 that says "retry". The MLflow artifact proxy
answers 507 ``RESOURCE_EXHAUSTED``.

The volume is a real tmpfs mounted by the test (the suite runs as root on the development and
CI machines; mounting needs CAP_SYS_ADMIN).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from modelyard import Client, InsufficientStorageError

from .conftest import Server

VOLUME_BYTES = 24 * 1024 * 1024
PAYLOAD = 6 * 1024 * 1024


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of VOLUME_BYTES mounted for this test only, unmounted afterwards."""
    mnt = tmp_path / "vol"
    mnt.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_BYTES}", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"this test mounts a small tmpfs and needs the right to: {result.stderr}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _fill(volume: Path, *, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free on the volume."""
    filler = volume / "filler"
    block = b"\0" * (64 * 1024)
    with open(filler, "ab") as f:
        while _free(volume) > leave + len(block):
            f.write(block)
            f.flush()
    return filler


def _upload_dirs(server: Server) -> list[str]:
    base = server.data_dir / "blobs" / "v1" / "uploads"
    return sorted(p.name for p in base.iterdir()) if base.exists() else []


def _rows(server: Server, table: str) -> int:
    url = server.database_url or f"sqlite:///{server.data_dir / 'modelyard.db'}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def full_server(volume: Path, database_url: str | None) -> Iterator[Callable[[], Server]]:
    servers: list[Server] = []

    def start() -> Server:
        srv = Server(volume / "data", database_url)
        servers.append(srv)
        return srv.start()

    yield start
    for srv in servers:
        srv.stop()


def test_a_push_that_fills_the_disk_is_507_leaves_nothing_and_succeeds_once_space_is_free(
    full_server: Callable[[], Server], volume: Path, tmp_path: Path
) -> None:
    server = full_server()
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(PAYLOAD))
    digest = f"sha256:{hashlib.sha256((model / 'weights.bin').read_bytes()).hexdigest()}"
    filler = _fill(volume, leave=PAYLOAD // 3)
    free_before = _free(volume)

    with Client(server.url) as client:
        with pytest.raises(InsufficientStorageError) as info:
            client.push(model, "models/big")
        assert "full" in info.value.message and "free" in info.value.message
        # the raw answer: 507 with the stable code, through the very route the SDK used
        r = httpx.post(f"{server.url}/api/v1/registries/models/uploads", json={"digest": digest, "size": PAYLOAD})
        assert r.status_code == 201
        upload = r.json()["id"]
        r = httpx.patch(
            f"{server.url}/api/v1/uploads/{upload}",
            content=(model / "weights.bin").read_bytes(),
            headers={"Upload-Offset": "0"},
            timeout=60,
        )
        assert r.status_code == 507, r.text
        assert r.json()["code"] == "INSUFFICIENT_STORAGE"
        assert r.json()["details"]["reason"] == "insufficient_storage"
        assert httpx.get(f"{server.url}/api/v1/uploads/{upload}").status_code == 404

        # nothing left behind: no partial data, no session rows, no version, the space is back
        assert _upload_dirs(server) == []
        assert _rows(server, "upload_sessions") == 0
        assert _rows(server, "versions") == 0
        assert _free(volume) >= free_before - 256 * 1024  # what the DB wrote meanwhile, at most
        assert client.missing_blobs("models", [digest]) == [digest]

        # an operator frees space: the same push now succeeds, without restarting anything
        filler.unlink()
        version = client.push(model, "models/big")
        assert version.number == 1
        got = b"".join(client.iter_file("models/big:1", "weights.bin"))
        assert hashlib.sha256(got).hexdigest() == digest[7:]
    assert _upload_dirs(server) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_database_or_disk_is_full_is_507_not_retry(full_server: Callable[[], Server], volume: Path) -> None:
    server = full_server()
    filler = _fill(volume, leave=0)
    statuses = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for i in range(400):  # each registry grows the database; the WAL soon needs a page it cannot get
            r = http.post("/api/v1/registries", json={"name": f"r{i}", "description": "x" * 2000})
            statuses.append(r.status_code)
            if r.status_code != 201:
                break
        assert statuses[-1] == 507, statuses[-5:]
        body = r.json()
        assert body["code"] == "INSUFFICIENT_STORAGE" and "disk is full" in body["message"]
        assert "retry" not in body["message"]
        filler.unlink()
        r = http.post("/api/v1/registries", json={"name": "after"})
        assert r.status_code == 201, r.text
        assert http.get("/api/v1/registries/after").status_code == 200


def test_mlflow_artifact_upload_on_a_full_disk_is_507_resource_exhausted(
    full_server: Callable[[], Server], volume: Path
) -> None:
    server = full_server()
    _fill(volume, leave=PAYLOAD // 3)
    r = httpx.put(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/model.bin",
        content=os.urandom(PAYLOAD),
        timeout=60,
    )
    assert r.status_code == 507, r.text
    assert r.json()["error_code"] == "RESOURCE_EXHAUSTED" and "full" in r.json()["message"]
    assert _upload_dirs(server) == []
