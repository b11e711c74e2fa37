"""Dedup never crosses a permission boundary (issue 8, item 2; DESIGN.md decision 8).

A digest counts as present for a caller only if the caller may download it from somewhere, or
uploaded its bytes itself. The attacker here is ``member`` (write on ``open``) who learned the
digest of a file in ``vault``, a restricted registry it holds no role in: ``blobs/missing``
says missing, exactly like for an absent digest; committing a version that names it fails
exactly like naming an absent blob; after uploading the same bytes itself it works. A reader
of ``vault`` pushing the same content with the SDK uploads 0 bytes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from gov_world import World

from modelyard import Client
from modelyard.domain.actor import SYSTEM
from modelyard.domain.digest import Digest
from modelyard.domain.models import FileEntry

SECRET = b"the restricted model's weights " * 64
SECRET_DIGEST = f"sha256:{hashlib.sha256(SECRET).hexdigest()}"
ABSENT_DIGEST = f"sha256:{hashlib.sha256(b'never uploaded by anyone').hexdigest()}"
MISSING = "/api/v1/registries/{}/blobs/missing"
VERSIONS = "/api/v1/registries/{}/collections/{}/versions"


def _vault(world: World, *, grant: tuple[str, str] | None = None) -> None:
    """Restricted registry ``vault`` holding SECRET in ``c:1``; only ``grant`` (who, role) has a role."""
    svc = world.services
    svc.registry.create_registry(SYSTEM, "vault", visibility="restricted")
    session = svc.artifacts.begin_upload(SYSTEM, "vault", digest=SECRET_DIGEST, size=len(SECRET))
    svc.artifacts.write_upload(session.id, offset=0, chunks=[SECRET])
    svc.artifacts.commit_upload(session.id)
    svc.registry.create_version(SYSTEM, "vault", "c", files=[FileEntry("weights.bin", SECRET_DIGEST, len(SECRET))])
    if grant is not None:
        kind = "service_account" if grant[0] == "ci" else "user"
        svc.identity.grant(SYSTEM, "vault", subject_kind=kind, subject=grant[0], role=grant[1])


def _missing(world: World, who: str, registry: str, digests: list[str]) -> list[str]:
    r = world.request("POST", MISSING.format(registry), who, json={"digests": digests})
    assert r.status_code == 200, r.text
    return list(r.json()["missing"])


def _commit(world: World, who: str, registry: str, collection: str, digests: list[str]) -> Any:
    files = [{"path": f"f{i}.bin", "digest": d, "size": len(SECRET)} for i, d in enumerate(digests)]
    return world.request("POST", VERSIONS.format(registry, collection), who, json={"files": files})


def _shape(r: Any, digest: str) -> tuple[int, str, str, list[str]]:
    """A commit refusal with the named digest blanked out, to compare two refusals."""
    body = r.json()
    return r.status_code, body["code"], body["message"], [d.replace(digest, "D") for d in body["details"]["missing"]]


def _upload(world: World, who: str, registry: str, data: bytes) -> Any:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    r = world.request("POST", f"/api/v1/registries/{registry}/uploads", who, json={"digest": digest, "size": len(data)})
    assert r.status_code == 201, r.text
    upload = r.json()["id"]
    r = world.request("PATCH", f"/api/v1/uploads/{upload}", who, content=data, headers={"Upload-Offset": "0"})
    assert r.status_code == 200, r.text
    return world.request("POST", f"/api/v1/uploads/{upload}/commit", who)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_digest_learned_from_an_unreadable_registry_is_missing_until_uploaded(world: World) -> None:
    _vault(world)
    before = world.snapshot()

    # 1. no existence oracle: the vault's digest answers exactly like one nobody ever uploaded
    assert _missing(world, "member", "open", [SECRET_DIGEST, ABSENT_DIGEST]) == [SECRET_DIGEST, ABSENT_DIGEST]
    assert _missing(world, "root", "open", [SECRET_DIGEST, ABSENT_DIGEST]) == [ABSENT_DIGEST]  # org admin reads all

    # 2. a commit naming it fails exactly like a commit naming an absent blob, and stores nothing
    leak = _commit(world, "member", "open", "leak", [SECRET_DIGEST])
    absent = _commit(world, "member", "open", "leak", [ABSENT_DIGEST])
    assert leak.status_code == 400 and leak.json()["code"] == "INVALID_ARGUMENT"
    assert _shape(leak, SECRET_DIGEST) == _shape(absent, ABSENT_DIGEST)
    both = _commit(world, "member", "open", "leak", [SECRET_DIGEST, ABSENT_DIGEST])
    assert sorted(both.json()["details"]["missing"]) == sorted([SECRET_DIGEST, ABSENT_DIGEST])
    r = world.request("GET", "/api/v1/registries/open/collections/leak", "member")
    assert r.status_code == 404
    assert world.snapshot() == before

    # 3. after uploading the same bytes itself, the digest is present for it and the commit works
    r = _upload(world, "member", "open", SECRET)
    assert r.status_code == 200 and r.json()["digest"] == SECRET_DIGEST
    assert _missing(world, "member", "open", [SECRET_DIGEST]) == []
    assert _missing(world, "ci", "open", [SECRET_DIGEST]) == [SECRET_DIGEST]  # a receipt is personal
    r = _commit(world, "member", "open", "mine", [SECRET_DIGEST])
    assert r.status_code == 201, r.text
    r = world.request("GET", "/api/v1/registries/open/collections/mine/versions/1/files/f0.bin", "member")
    assert r.status_code == 200 and r.content == SECRET
    # storage stays deduplicated: one blob, no upload data left behind
    assert [str(b.digest) for b in world.services.blobs.iter_blobs()].count(SECRET_DIGEST) == 1
    assert list(world.services.blobs.iter_uploads()) == []


@pytest.mark.parametrize(
    ("role", "present"),
    [(None, False), ("restricted_viewer", False), ("viewer", True), ("member", True), ("admin", True)],
)
def test_presence_follows_the_download_rule_on_the_registry_that_holds_the_digest(
    world: World, role: str | None, present: bool
) -> None:
    _vault(world, grant=("ci", role) if role else None)
    expected = [] if present else [SECRET_DIGEST]
    assert _missing(world, "ci", "open", [SECRET_DIGEST]) == expected
    r = _commit(world, "ci", "open", "reuse", [SECRET_DIGEST])
    assert r.status_code == (201 if present else 400), r.text


def test_a_team_grant_counts_and_a_deleted_version_no_longer_does(world: World) -> None:
    _vault(world)
    world.services.identity.grant(SYSTEM, "vault", subject_kind="team", subject="ml", role="viewer")
    assert _missing(world, "teamuser", "open", [SECRET_DIGEST]) == []
    world.services.registry.delete_version(SYSTEM, "vault", "c", 1)
    assert _missing(world, "teamuser", "open", [SECRET_DIGEST]) == [SECRET_DIGEST]


@contextmanager
def _served(world: World) -> Iterator[str]:
    """The world's app behind a real HTTP server on 127.0.0.1 (for the SDK)."""
    from modelyard.api.app import create_app

    config = uvicorn.Config(create_app(services=world.services), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_sdk_push_uploads_nothing_for_a_reader_and_everything_for_an_outsider(world: World, tmp_path: Path) -> None:
    _vault(world, grant=("ci", "viewer"))
    # ci pushes to 'lab', where only it holds a role, so its push cannot be helped by anyone else's
    world.services.registry.create_registry(SYSTEM, "lab", visibility="restricted")
    world.services.identity.grant(SYSTEM, "lab", subject_kind="service_account", subject="ci", role="member")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(SECRET)
    sent: dict[str, list[int]] = {"ci": [], "member": []}
    with _served(world) as url:
        for who, registry in (("ci", "lab"), ("member", "open")):
            expected = 0 if who == "ci" else len(SECRET)
            with Client(url, token=world.tokens[who]) as client:
                assert client.push_plan(tmp_path / "model", registry) == (len(SECRET), expected)
                v = client.push(tmp_path / "model", f"{registry}/copy", on_upload=sent[who].append)
                assert v.number == 1
                assert b"".join(client.iter_file(f"{registry}/copy:1", "weights.bin")) == SECRET
    assert sum(sent["ci"]) == 0  # a reader of the vault proves nothing by uploading: it may read the bytes
    assert sum(sent["member"]) == len(SECRET)  # the outsider uploads what it cannot prove it may read


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_mlflow_registration_cannot_copy_bytes_the_caller_may_not_download(world: World) -> None:
    """Side doors: the MLflow adapter's create_model_version copies files from its source."""
    _vault(world, grant=("member", "restricted_viewer"))  # member may see vault's names, not its bytes
    base = "/mlflow/open/api/2.0/mlflow/registered-models/create"
    assert world.request("POST", base, "member", json={"name": "side"}).status_code == 200
    create = "/mlflow/open/api/2.0/mlflow/model-versions/create"
    for source in ("mlflow-artifacts:/_modelyard/vault/c/1", "mlflow-artifacts:/_modelyard/vault/c/1/weights.bin"):
        r = world.request("POST", create, "member", json={"name": "side", "source": source})
        # No run owns a registered version's copy: MLflow's lineage rule refuses it before any read.
        assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), (source, r.text)
    r = world.request("POST", "/mlflow/vault/api/2.0/mlflow/model-versions/create", "member", json={"name": "c"})
    assert r.status_code in (400, 403, 404)
    r = world.request("GET", "/api/v1/registries/open/collections/side/versions", "member")
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_receipts_keep_no_blob_alive_and_go_with_the_blobs_gc_sweeps(world: World) -> None:
    data = b"uploaded, never committed"
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert _upload(world, "member", "open", data).status_code == 200
    with world.services.db.unit_of_work(write=False) as store:
        member = store.find_principal("member")
        assert store.usable_digests([digest], registry_ids=[], principal_id=member.id) == {digest}
    report = world.services.maintenance.gc(grace=timedelta(0), dry_run=False)
    assert digest in report.swept
    assert world.services.blobs.stat(Digest.parse(digest)) is None
    with world.services.db.unit_of_work(write=False) as store:
        assert store.usable_digests([digest], registry_ids=[], principal_id=member.id) == set()
    assert _missing(world, "member", "open", [digest]) == [digest]
