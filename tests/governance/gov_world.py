"""The governance suite's world (see conftest.py): principals, registries and content, built
through the services as the system actor."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, text

from modelyard.bootstrap import Services
from modelyard.domain.actor import SYSTEM
from modelyard.domain.models import FileEntry

DATA = b"weights-of-the-model"
DIGEST = f"sha256:{hashlib.sha256(DATA).hexdigest()}"
FILES = [FileEntry("model.bin", DIGEST, len(DATA))]
UPLOAD_DATA = b"bytes-of-an-upload"
UPLOAD_DIGEST = f"sha256:{hashlib.sha256(UPLOAD_DATA).hexdigest()}"

REGISTRIES = {"organization": "open", "restricted": "secret"}
# Roles granted directly on both registries (teamuser also gets 'member' through team 'ml').
GRANTS = {
    "radmin": "admin",
    "member": "member",
    "viewer": "viewer",
    "rviewer": "restricted_viewer",
    "teamuser": "restricted_viewer",
    "ci": "member",
}
USERS = ["root", "radmin", "member", "viewer", "rviewer", "outsider", "teamuser", "bystander"]


@dataclass
class World:
    services: Services
    http: Any
    tokens: dict[str, str] = field(default_factory=dict)
    open_requests: dict[str, int] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def uid(self, prefix: str = "x") -> str:
        return f"{prefix}{next(self._ids)}"

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def request(self, method: str, url: str, who: str | None, **kw: Any) -> Any:
        headers = {**self.headers(who), **kw.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kw)

    def event_count(self) -> int:
        with self.services.db.unit_of_work(write=False) as store:
            return store.chain_head()[0]

    def events(self) -> list[Any]:
        page = self.services.audit.list_events(None, page_size=1000)
        return list(page.items)

    def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, and the blob store: to prove a denied request changed nothing."""
        out: dict[str, list[str]] = {}
        engine = self.services.db.engine
        names = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version")
        with engine.connect() as conn:
            for name in names:
                out[name] = sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{name}"')).all())
        out["@blobs"] = sorted(str(b.digest) for b in self.services.blobs.iter_blobs())
        out["@uploads"] = sorted(u for u, _ in self.services.blobs.iter_uploads())
        return out

    # -- building blocks (as the system actor, through the services) ---------------------------------

    def make_registry(self, name: str, visibility: str) -> None:
        svc = self.services
        svc.registry.create_registry(SYSTEM, name, artifact_types=["model"], visibility=visibility)
        for who, role in GRANTS.items():
            kind = "service_account" if who == "ci" else "user"
            svc.identity.grant(SYSTEM, name, subject_kind=kind, subject=who, role=role)
        svc.identity.grant(SYSTEM, name, subject_kind="team", subject="ml", role="member")

    def new_version(self, registry: str, collection: str = "c") -> int:
        return self.services.registry.create_version(SYSTEM, registry, collection, files=FILES).number

    def new_upload(self, registry: str, *, write: bool = False) -> str:
        session = self.services.artifacts.begin_upload(SYSTEM, registry, digest=UPLOAD_DIGEST, size=len(UPLOAD_DATA))
        if write:
            self.services.artifacts.write_upload(session.id, offset=0, chunks=[UPLOAD_DATA])
        return session.id

    def new_request(self, registry: str, target: str) -> int:
        """An open promotion request on ``target`` for a fresh version, asked by ``system``."""
        number = self.new_version(registry)
        return self.services.promotion.request(SYSTEM, registry, "c", number, target=target).id


def _put_blob(services: Services, data: bytes, digest: str) -> None:
    from modelyard.domain.digest import Digest

    sid = "seed-" + digest[7:23]
    services.blobs.begin_upload(sid)
    services.blobs.write_chunk(sid, 0, iter([data]))
    services.blobs.commit(sid, expected_digest=Digest.parse(digest), expected_size=len(data))


def build_world(services: Services, http: Any) -> World:
    svc = services
    w = World(svc, http)
    for name in USERS:
        svc.identity.create_principal(SYSTEM, name, org_admin=name == "root")
    svc.identity.create_principal(SYSTEM, "ci", kind="service_account")
    svc.identity.create_team(SYSTEM, "ml")
    svc.identity.add_team_member(SYSTEM, "ml", "teamuser")
    for name in [*USERS, "ci"]:
        secret = svc.identity.create_token(SYSTEM, name="t", principal=name).secret
        svc.identity.authenticate(secret)  # first use records last_used_at; later requests write nothing
        w.tokens[name] = secret
    _put_blob(svc, DATA, DIGEST)
    for visibility, reg in REGISTRIES.items():
        w.make_registry(reg, visibility)
        svc.registry.create_collection(SYSTEM, reg, "c", tags={"k": "v"})
        w.new_version(reg)
        w.new_version(reg)
        svc.registry.set_alias(SYSTEM, reg, "c", "champion", 1)
        svc.registry.set_version_tag(SYSTEM, reg, "c", 1, "k", "v")
        svc.identity.set_alias_policy(SYSTEM, reg, "guarded")
        svc.promotion.set_policy(SYSTEM, reg, target_kind="alias", target="gate", requirements={"approvals": 20})
        svc.promotion.set_policy(
            SYSTEM, reg, target_kind="alias", target="manual", requirements={"auto_promote": False}
        )
        w.open_requests[reg] = svc.promotion.request(SYSTEM, reg, "c", 1, target="gate").id
    return w
