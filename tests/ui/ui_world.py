"""The UI suites' world, built through the services as the system actor.

Registries ``open`` (organization) and ``secret`` (restricted). Principals, each with a token:
``root`` (org admin), ``alice`` (member of both; asks for promotions), ``approver`` (admin of
``open``), ``viewer`` (viewer of ``open`` only: ``secret`` is invisible to it).

``open/fraud-detector`` has versions 1 and 2 (different params, metrics and files), alias
``champion`` set to 1, then to 2 (so a rollback returns it to 1), and
a description carrying a script tag and a ``javascript:`` link. Alias ``production`` needs
one approval by a registry admin (auto-promote); alice asked to move it to version 2.
``secret/hidden-model`` has version 1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from modelyard.bootstrap import Services
from modelyard.domain.actor import SYSTEM
from modelyard.domain.digest import Digest
from modelyard.domain.models import FileEntry, RunRef, VersionMetadata

WEIGHTS_1 = b"weights-one"
WEIGHTS_2 = b"weights-two, longer"
CONFIG = b'{"layers": 3}'
HOSTILE = "Fraud **model**.\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))"


def digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class UiWorld:
    tokens: dict[str, str] = field(default_factory=dict)
    request_id: int = 0


def _put_blob(svc: Services, data: bytes) -> None:
    sid = "seed-" + digest(data)[7:23]
    svc.blobs.begin_upload(sid)
    svc.blobs.write_chunk(sid, 0, iter([data]))
    svc.blobs.commit(sid, expected_digest=Digest.parse(digest(data)), expected_size=len(data))


def build_ui_world(svc: Services) -> UiWorld:
    w = UiWorld()
    svc.identity.create_principal(SYSTEM, "root", org_admin=True)
    for name in ("alice", "approver", "viewer"):
        svc.identity.create_principal(SYSTEM, name)
    for name in ("root", "alice", "approver", "viewer"):
        w.tokens[name] = svc.identity.create_token(SYSTEM, name="t", principal=name).secret
    for data in (WEIGHTS_1, WEIGHTS_2, CONFIG):
        _put_blob(svc, data)
    svc.registry.create_registry(SYSTEM, "open", artifact_types=["model"], visibility="organization")
    svc.registry.create_registry(SYSTEM, "secret", artifact_types=["model"], visibility="restricted")
    for reg in ("open", "secret"):
        svc.identity.grant(SYSTEM, reg, subject_kind="user", subject="alice", role="member")
    svc.identity.grant(SYSTEM, "open", subject_kind="user", subject="approver", role="admin")
    svc.identity.grant(SYSTEM, "open", subject_kind="user", subject="viewer", role="viewer")

    svc.registry.create_collection(SYSTEM, "open", "fraud-detector", description=HOSTILE, tags={"team": "risk"})
    for n, (weights, lr, auc) in enumerate(((WEIGHTS_1, "0.1", 0.91), (WEIGHTS_2, "0.05", 0.94)), start=1):
        svc.registry.create_version(
            SYSTEM,
            "open",
            "fraud-detector",
            files=[
                FileEntry("model.bin", digest(weights), len(weights)),
                FileEntry("config.json", digest(CONFIG), len(CONFIG)),
            ],
            metadata=VersionMetadata(
                description=f"Version {n}",
                params={"lr": lr, "epochs": "10"},
                metrics={"auc": auc},
                run=RunRef(f"run{n}"),
            ),
        )
    svc.registry.set_alias(SYSTEM, "open", "fraud-detector", "champion", 1)
    svc.registry.set_alias(SYSTEM, "open", "fraud-detector", "champion", 2)
    svc.promotion.set_policy(
        SYSTEM,
        "open",
        target_kind="alias",
        target="production",
        requirements={"approvals": 1, "approver_role": "admin", "auto_promote": True},
    )
    alice = svc.identity.authenticate(w.tokens["alice"])
    w.request_id = svc.promotion.request(alice, "open", "fraud-detector", 2, target="production").id

    svc.registry.create_collection(SYSTEM, "secret", "hidden-model")
    svc.registry.create_version(
        SYSTEM, "secret", "hidden-model", files=[FileEntry("model.bin", digest(WEIGHTS_1), len(WEIGHTS_1))]
    )
    return w
