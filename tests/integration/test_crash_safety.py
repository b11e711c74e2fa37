"""SIGKILL the server mid-upload and around commits: no half-version is ever visible.

After each kill the server restarts on the same data; every visible version must be
complete (all its files download byte-identical and verify), every acknowledged version
must survive, a retried push must succeed, and ``uploads purge`` / ``gc`` must clean up
the leftovers without touching a blob a version references.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from modelyard import Client, CollectionNotFoundError, ModelyardError

from .conftest import Server

BIG = 200 * 1024 * 1024
SHORT_TTL_HOURS = "0.001"  # 3.6 s: sessions left by a killed upload expire quickly, so purge takes them


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}"


def _big_file(path: Path) -> Path:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(BIG >> 20):
            f.write(i.to_bytes(8, "big") + block[8:])
    return path


def _upload_bytes(srv: Server) -> dict[str, int]:
    base = srv.data_dir / "blobs" / "v1" / "uploads"
    return {d.name: (d / "data").stat().st_size for d in base.iterdir() if (d / "data").exists()}


def _assert_complete(client: Client, path: str, tmp: Path) -> list[int]:
    """Every visible version pulls completely; returns the visible numbers."""
    numbers = []
    for v in client.list_versions(path):
        full = client.get_version(f"{path}:{v.number}")
        out = tmp / f"check-{path.replace('/', '_')}-{v.number}-{time.monotonic_ns()}"
        client.pull(f"{path}:{v.number}", out)  # verifies every file's sha256 against the manifest
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
            f.path for f in full.files or []
        )
        assert all((out / f.path).stat().st_size == f.size for f in full.files or [])
        shutil.rmtree(out)
        numbers.append(v.number)
    return sorted(numbers)


def _events(client: Client, action: str) -> list[str]:
    return [e.target for e in client.list_events(action=action)]


def _wait_expired(started: float) -> None:
    remaining = float(SHORT_TTL_HOURS) * 3600 + 0.5 - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


def _cleanup_and_check(srv: Server, client: Client, tmp: Path, paths: list[str]) -> tuple[list[str], list[str]]:
    """Purge expired uploads and sweep unreferenced blobs; every version still pulls afterwards.

    Returns (purged upload sessions, swept digests).
    """
    purge = json.loads(srv.cli("uploads", "purge", "--delete", "--json").stdout)
    assert purge["dry_run"] is False
    assert _upload_bytes(srv) == {}

    referenced = {
        f.digest
        for p in paths
        for v in client.list_versions(p)
        for f in client.get_version(f"{p}:{v.number}").files or []
    }
    report = json.loads(srv.cli("gc", "--delete", "--grace-hours", "0", "--json").stdout)
    assert report["dry_run"] is False
    assert not referenced & set(report["swept"])
    after = json.loads(srv.cli("gc", "--grace-hours", "0", "--json").stdout)
    assert after["swept"] == [] and after["blobs_scanned"] == after["blobs_referenced"] == len(referenced)
    for p in paths:
        _assert_complete(client, p, tmp)
    return list(purge["sessions"]), list(report["swept"])


def test_sigkill_during_large_upload(make_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make_server(MODELYARD_UPLOAD_TTL_HOURS=SHORT_TTL_HOURS).start()
    small = tmp_path / "small"
    small.mkdir()
    (small / "model.bin").write_bytes(b"small model" * 1000)
    big = _big_file(tmp_path / "big.bin")
    big_digest = _sha(big)

    client = Client(srv.url, timeout=60)
    assert client.push(small, "models/stable").number == 1

    some_bytes_in = threading.Event()
    sent = [0]
    outcome: list[BaseException | object] = []

    def on_upload(n: int) -> None:
        sent[0] += n
        if sent[0] >= 32 * 1024 * 1024:
            some_bytes_in.set()

    def push_big() -> None:
        try:
            with Client(srv.url, timeout=60) as c:
                outcome.append(c.push(big, "models/big", on_upload=on_upload))
        except ModelyardError as exc:
            outcome.append(exc)

    started = time.monotonic()
    t = threading.Thread(target=push_big)
    t.start()
    assert some_bytes_in.wait(timeout=60)
    deadline = time.monotonic() + 30
    while not any(0 < n < BIG for n in _upload_bytes(srv).values()):
        assert time.monotonic() < deadline, "the server never received any upload bytes"
        time.sleep(0.01)
    srv.kill()
    t.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], ModelyardError)
    partial = _upload_bytes(srv)
    assert len(partial) == 1 and 0 < next(iter(partial.values())) < BIG

    srv.extra_env.clear()  # the restarted server uses the default upload TTL
    srv.start()
    with pytest.raises(CollectionNotFoundError):
        client.get_collection("models/big")
    assert _assert_complete(client, "models/stable", tmp_path) == [1]
    assert _events(client, "version.created") == ["models/stable:1"]

    # The retry succeeds (its bytes are checked by the cleanup below). While the interrupted session
    # is alive it is resumed where the killed server left it (only the rest is sent); once its short
    # TTL has run out (a slow, loaded machine) the push starts over and the session is left to purge.
    resent = [0]
    v = client.push(big, "models/big", on_upload=lambda n: resent.__setitem__(0, resent[0] + n))
    assert v.number == 1 and v.files is not None and v.files[0].digest == big_digest
    resumed = resent[0] <= BIG - next(iter(partial.values()))
    assert resent[0] == BIG or resumed

    # An orphan blob, as if a crash hit between blob commit and version commit.
    orphan = tmp_path / "orphan.bin"
    orphan.write_bytes(b"never referenced")
    orphan_digest = _sha(orphan)
    client.upload_blob("models", orphan, orphan_digest, orphan.stat().st_size)

    _wait_expired(started)
    purged, swept = _cleanup_and_check(srv, client, tmp_path, ["models/stable", "models/big"])
    assert purged == ([] if resumed else list(partial)) and swept == [orphan_digest]
    client.close()


def test_sigkill_around_commits(make_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Writers push continuously; the server is killed twice while commits are in flight."""
    srv: Server = make_server(MODELYARD_UPLOAD_TTL_HOURS=SHORT_TTL_HOURS).start()
    writers, rounds, per_round = 6, 2, 10
    counter = iter(range(1_000_000))
    lock = threading.Lock()
    sources: dict[str, Path] = {}  # manifest digest -> local dir (filled after a 201)
    attempted: dict[int, Path] = {}
    acked: dict[int, str] = {}  # version number -> manifest digest, acknowledged with 201
    verified: set[int] = set()  # versions already pulled and compared after a restart

    def make_source() -> Path:
        with lock:
            i = next(counter)
        d = tmp_path / f"src{i}"
        (d / "sub").mkdir(parents=True)
        (d / "weights.bin").write_bytes(i.to_bytes(4, "big") * 20_000)
        (d / "sub" / "config.json").write_text(json.dumps({"i": i}))
        attempted[i] = d
        return d

    def writer(stop: threading.Event) -> None:
        with Client(srv.url, timeout=30) as c:
            while not stop.is_set():
                d = make_source()
                try:
                    v = c.push(d, "models/busy")
                except ModelyardError:
                    return  # the server died under us
                with lock:
                    acked[v.number] = v.digest
                    sources[v.digest] = d

    client = Client(srv.url, timeout=30)
    started = time.monotonic()
    for _ in range(rounds):
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(stop,)) for _ in range(writers)]
        before = len(acked)
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < before + per_round:
            assert time.monotonic() < deadline, f"writers stalled:\n{srv.log()}"
            time.sleep(0.002)
        srv.kill()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        started = time.monotonic()
        srv.start()

        visible = client.list_versions("models/busy")
        numbers = sorted(v.number for v in visible)
        assert numbers == list(range(1, len(numbers) + 1)), "version numbers must stay gapless"
        digests = {v.number: v.digest for v in visible}
        for number, digest in acked.items():
            assert digests.get(number) == digest, f"acknowledged version {number} was lost"
        assert sorted(_events(client, "version.created")) == sorted(f"models/busy:{n}" for n in numbers)
        # Versions committed just before the kill (the 201 never arrived) must be complete too.
        for v in visible:
            if v.number in verified:
                continue
            full = client.get_version(f"models/busy:{v.number}")
            src = sources.get(v.digest) or next(
                p
                for p in attempted.values()
                if {f.path: _sha(p / f.path) for f in full.files or []} == {f.path: f.digest for f in full.files or []}
            )
            out = tmp_path / f"pull-{v.number}-{time.monotonic_ns()}"
            client.pull(f"models/busy:{v.number}", out)
            for f in full.files or []:
                assert (out / f.path).read_bytes() == (src / f.path).read_bytes()
            with lock:
                acked[v.number] = v.digest
                sources[v.digest] = src
            verified.add(v.number)

    retry = client.push(make_source(), "models/busy")
    assert retry.number == len(acked) + 1

    _wait_expired(started)
    _cleanup_and_check(srv, client, tmp_path, ["models/busy"])
    client.close()
