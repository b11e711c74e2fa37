"""Use cases for controlled promotion: policies with requirements on protected aliases and
legacy stages, checks reported on versions, promotion (and stage-transition) requests with
approvals, and their completion. Each public method is one unit of work.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelyard.domain import events as ev
from modelyard.domain.actor import Actor
from modelyard.domain.identity import AliasPolicy
from modelyard.domain.models import STAGES, Registry, Version
from modelyard.domain.names import validate_alias_name, validate_description
from modelyard.domain.paths import VersionRef
from modelyard.domain.permissions import Action, effective_role
from modelyard.domain.promotion import (
    CHECK_STATUSES,
    STAGE_POLICY_PREFIX,
    Evaluation,
    Requirements,
    evaluate,
    validate_check_name,
)
from modelyard.errors import ConflictError, InvalidArgumentError, NotFoundError, PermissionDeniedError
from modelyard.storage.interfaces import Database, MetadataStore

from . import authz
from .registry import RegistryService, utcnow

REQUEST_STATUSES = ("open", "rejected", "cancelled", "completed")
_RANK = {"restricted_viewer": 0, "viewer": 1, "member": 2, "admin": 3}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str
    summary: str
    details_url: str
    reported_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Review:
    reviewer: str
    decision: str
    comment: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    id: int
    registry: str
    collection: str
    version: int
    target_kind: str
    target: str
    status: str
    requested_by: str
    comment: str
    archive_existing: bool
    reviews: tuple[Review, ...]
    evaluation: Evaluation
    auto_promote: bool
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None


def _target(target_kind: str, target: str) -> tuple[str, str]:
    """Validate and normalize (kind, target); returns (policy key, label)."""
    if target_kind == "alias":
        validate_alias_name(target)
        return target, f"alias '{target}'"
    if target_kind == "stage":
        for s in STAGES:
            if target.lower() == s.lower():
                return STAGE_POLICY_PREFIX + s, f"stage '{s}'"
        raise InvalidArgumentError(f"stage must be one of {', '.join(STAGES)}", field="target")
    raise InvalidArgumentError("target kind must be 'alias' or 'stage'", field="target_kind")


class PromotionService:
    def __init__(self, db: Database, registry: RegistryService, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._registry = registry
        self._clock = clock

    def _event(
        self,
        store: MetadataStore,
        actor: Actor,
        action: str,
        target: str,
        *,
        reg: Registry,
        collection_id: int | None,
        after: dict[str, Any],
        now: datetime,
    ) -> None:
        self._registry._event(
            store, actor, action, target, registry=reg.name, collection_id=collection_id, after=after, now=now
        )

    # -- policies -----------------------------------------------------------------------------------

    def set_policy(
        self,
        actor: Actor,
        registry: str,
        *,
        target_kind: str,
        target: str,
        requirements: dict[str, Any],
        collection: str | None = None,
    ) -> AliasPolicy:
        """Protect an alias (or stage) and attach requirements; per registry or for one collection."""
        key, label = _target(target_kind, target)
        req = Requirements.parse(requirements)
        if target_kind == "stage" and "guards_stage" in (requirements or {}):
            raise InvalidArgumentError(
                "guards_stage belongs on an alias policy (it says whether the alias also guards its stage)",
                field="guards_stage",
            )
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.ADMINISTER)
            cid = None
            if collection is not None:
                cid = int(self._registry._collection_row(store, reg, collection)["id"])
            store.set_alias_policy(
                reg.id, cid, key, protected=True, requirements=req.to_dict(), actor=actor.name, now=now
            )
            where = f"{registry}/{collection}" if collection else registry
            self._registry._event(
                store,
                actor,
                ev.ALIAS_POLICY_SET,
                f"{where}@{key}",
                registry=registry,
                now=now,
                after={"protected": True, "requirements": req.to_dict()},
            )
            return AliasPolicy(registry, key, collection, True, req.to_dict())

    def _requirements(self, store: MetadataStore, reg: Registry, crow: Any, key: str) -> Requirements | None:
        policy = self._registry.guarding_policy(store, reg, crow, key)
        if policy is None or not policy.protected:
            return None
        return Requirements.parse(policy.requirements)

    # -- checks -------------------------------------------------------------------------------------

    def report_check(
        self,
        actor: Actor,
        registry: str,
        collection: str,
        number: int,
        name: str,
        *,
        status: str,
        summary: str = "",
        details_url: str = "",
    ) -> CheckResult:
        """An external system (CI, a bias audit) reports a named check on a version."""
        validate_check_name(name)
        if status not in CHECK_STATUSES:
            raise InvalidArgumentError(f"status must be one of {', '.join(CHECK_STATUSES)}", field="status")
        validate_description(summary)
        if details_url and not details_url.startswith(("http://", "https://")):
            raise InvalidArgumentError("details_url must be an http(s) URL", field="details_url")
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.WRITE)
            crow = self._registry._collection_row(store, reg, collection, for_update=True)
            vrow = self._registry._version_row(store, reg, crow, VersionRef(number=number))
            old = store.set_check(
                vrow["id"],
                name,
                status=status,
                summary=summary,
                details_url=details_url,
                reported_by=actor.name,
                now=now,
            )
            self._registry._event(
                store,
                actor,
                ev.CHECK_REPORTED,
                f"{registry}/{crow['name']}:{number}",
                registry=registry,
                collection_id=crow["id"],
                now=now,
                before=None if old is None else {"check": name, "status": old},
                after={"check": name, "status": status, "details_url": details_url},
            )
            for req_row in store.list_requests(crow["id"], status="open", limit=1000):
                if req_row["version_id"] == vrow["id"]:
                    self._try_complete(store, actor, reg, crow, req_row, now)
        return CheckResult(name, status, summary, details_url, actor.name, now)

    def list_checks(self, actor: Actor | None, registry: str, collection: str, number: int) -> list[CheckResult]:
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor, Action.READ)
            crow = self._registry._collection_row(store, reg, collection)
            vrow = self._registry._version_row(store, reg, crow, VersionRef(number=number))
            return [
                CheckResult(r["name"], r["status"], r["summary"], r["details_url"], r["reported_by"], r["updated_at"])
                for r in store.list_checks(vrow["id"])
            ]

    # -- requests -----------------------------------------------------------------------------------

    def request(
        self,
        actor: Actor,
        registry: str,
        collection: str,
        number: int,
        *,
        target_kind: str = "alias",
        target: str,
        comment: str = "",
        archive_existing: bool = False,
    ) -> PromotionRequest:
        """Ask to move an alias (or stage) to a version. Completes at once if nothing is required."""
        key, _label = _target(target_kind, target)
        validate_description(comment)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.WRITE)
            crow = self._registry._collection_row(store, reg, collection, for_update=True)
            vrow = self._registry._version_row(store, reg, crow, VersionRef(number=number))
            normalized = key[len(STAGE_POLICY_PREFIX) :] if target_kind == "stage" else target
            for other in store.list_requests(crow["id"], status="open", limit=1000):
                if (
                    other["target_kind"] == target_kind
                    and other["target"].lower() == normalized.lower()
                    and other["version_id"] == vrow["id"]
                ):
                    raise ConflictError(
                        f"request {other['id']} already asks for this; approve or cancel it", request_id=other["id"]
                    )
            rid = store.insert_request(
                collection_id=crow["id"],
                version_id=vrow["id"],
                target_kind=target_kind,
                target=normalized,
                archive_existing=archive_existing,
                status="open",
                requested_by=actor.name,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
            self._event(
                store,
                actor,
                ev.PROMOTION_REQUESTED,
                f"{registry}/{crow['name']}:{number}",
                reg=reg,
                collection_id=crow["id"],
                now=now,
                after={"request_id": rid, "target_kind": target_kind, "target": normalized, "version": number},
            )
            row = store.find_request(rid)
            self._try_complete(store, actor, reg, crow, row, now)
            return self._load(store, reg, crow, rid)

    def review(self, actor: Actor, request_id: int, *, approve: bool, comment: str = "") -> PromotionRequest:
        """Approve or reject. The version's author and the requester cannot approve."""
        validate_description(comment)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg, crow, row = self._open_request(store, actor, request_id, Action.READ)
            vrow = store.find_version_row_by_id(row["version_id"])
            key, _ = _target(row["target_kind"], row["target"])
            req = self._requirements(store, reg, crow, key) or Requirements()
            role = self._role(store, actor, reg)
            if _RANK.get(role or "", -1) < _RANK[req.approver_role]:
                raise PermissionDeniedError(
                    f"approving needs the '{req.approver_role}' role on registry '{reg.name}'",
                    required_role=req.approver_role,
                )
            if approve and actor.name in (vrow["created_by"], row["requested_by"]):
                raise PermissionDeniedError(
                    "you cannot approve a promotion of your own version or your own request", request_id=request_id
                )
            store.insert_review(
                request_id,
                reviewer=actor.name,
                reviewer_role=role or "",
                comment=comment,
                decision="approve" if approve else "reject",
                now=now,
            )
            target = f"{reg.name}/{crow['name']}:{vrow['number']}"
            if approve:
                self._event(
                    store,
                    actor,
                    ev.PROMOTION_APPROVED,
                    target,
                    reg=reg,
                    collection_id=crow["id"],
                    now=now,
                    after={"request_id": request_id, "comment": comment},
                )
                self._try_complete(store, actor, reg, crow, store.find_request(request_id), now)
            else:
                store.update_request(
                    request_id, status="rejected", resolved_by=actor.name, resolved_at=now, updated_at=now
                )
                self._event(
                    store,
                    actor,
                    ev.PROMOTION_REJECTED,
                    target,
                    reg=reg,
                    collection_id=crow["id"],
                    now=now,
                    after={"request_id": request_id, "comment": comment},
                )
            return self._load(store, reg, crow, request_id)

    def cancel(self, actor: Actor, request_id: int) -> PromotionRequest:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg, crow, row = self._open_request(store, actor, request_id, Action.WRITE, requester_or_admin=True)
            store.update_request(
                request_id, status="cancelled", resolved_by=actor.name, resolved_at=now, updated_at=now
            )
            vnum = store.find_version_row_by_id(row["version_id"])["number"]
            self._event(
                store,
                actor,
                ev.PROMOTION_CANCELLED,
                f"{reg.name}/{crow['name']}:{vnum}",
                reg=reg,
                collection_id=crow["id"],
                now=now,
                after={"request_id": request_id},
            )
            return self._load(store, reg, crow, request_id)

    def complete(self, actor: Actor, request_id: int) -> PromotionRequest:
        """Carry out an open request whose requirements are all met (when the policy does not auto-promote)."""
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg, crow, row = self._open_request(store, actor, request_id, Action.WRITE, requester_or_admin=True)
            if not self._try_complete(store, actor, reg, crow, row, now, force=True):
                ev_ = self._evaluate(store, reg, crow, row)
                raise ConflictError(
                    "requirements not met: " + "; ".join(s.detail for s in ev_.unmet),
                    request_id=request_id,
                    unmet=[s.detail for s in ev_.unmet],
                )
            return self._load(store, reg, crow, request_id)

    def get(self, actor: Actor | None, request_id: int) -> PromotionRequest:
        with self._db.unit_of_work(write=False) as store:
            reg, crow, _row = self._request_context(store, actor, request_id, Action.READ)
            return self._load(store, reg, crow, request_id)

    def list(
        self, actor: Actor | None, registry: str, collection: str, *, status: str | None = None, limit: int = 100
    ) -> list[PromotionRequest]:
        if status is not None and status not in REQUEST_STATUSES:
            raise InvalidArgumentError(f"status must be one of {', '.join(REQUEST_STATUSES)}", field="status")
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor, Action.READ)
            crow = self._registry._collection_row(store, reg, collection)
            return [
                self._load(store, reg, crow, r["id"])
                for r in store.list_requests(crow["id"], status=status, limit=limit)
            ]

    def waiting_for(self, actor: Actor, *, limit: int = 20) -> builtins.list[PromotionRequest]:
        """Open requests that ``actor`` may approve now: in a registry it can read, its role meets
        the policy's approver role, it neither asked nor authored the version, nor reviewed it yet."""
        out: builtins.list[PromotionRequest] = []
        with self._db.unit_of_work(write=False) as store:
            visible = authz.visible_registry_ids(store, actor)
            registries = {r.id: r for r in store.list_registries()}
            for row in store.list_open_requests(visible, limit=limit * 5):
                reg = registries[row["registry_id"]]
                crow = store.collection_row_by_id(row["collection_id"])
                key, _ = _target(row["target_kind"], row["target"])
                req = self._requirements(store, reg, crow, key) or Requirements()
                if _RANK.get(self._role(store, actor, reg) or "", -1) < _RANK[req.approver_role]:
                    continue
                vrow = store.find_version_row_by_id(row["version_id"])
                if actor.name in (vrow["created_by"], row["requested_by"]):
                    continue
                if any(r["reviewer"] == actor.name for r in store.list_reviews(row["id"])):
                    continue
                out.append(self._load(store, reg, crow, row["id"]))
                if len(out) >= limit:
                    break
        return out

    # -- internals -------------------------------------------------------------------------------------

    def _role(self, store: MetadataStore, actor: Actor, reg: Registry) -> str | None:
        if actor.org_admin:
            return "admin"
        resource = authz.resource_for(store, actor, reg)
        return effective_role(actor.principal, resource)

    def _request_context(
        self, store: MetadataStore, actor: Actor | None, request_id: int, action: Action
    ) -> tuple[Registry, Any, Any]:
        row = store.find_request(request_id, for_update=True)
        missing = NotFoundError(f"no promotion request {request_id}", request_id=request_id)
        if row is None:
            raise missing
        crow = store.collection_row_by_id(row["collection_id"])
        reg = next(r for r in store.list_registries() if r.id == crow["registry_id"])
        try:
            authz.require(store, actor, reg, action)
        except NotFoundError:
            raise missing from None
        return reg, crow, row

    def _open_request(
        self, store: MetadataStore, actor: Actor, request_id: int, action: Action, *, requester_or_admin: bool = False
    ) -> tuple[Registry, Any, Any]:
        """The request's context, refusing unless it is still open (and, if asked, ``actor`` asked
        for it or administers the registry)."""
        reg, crow, row = self._request_context(store, actor, request_id, action)
        if row["status"] != "open":
            raise ConflictError(f"request {request_id} is {row['status']}", request_id=request_id)
        if requester_or_admin and row["requested_by"] != actor.name:
            authz.require(store, actor, reg, Action.ADMINISTER)
        return reg, crow, row

    def _evaluate(self, store: MetadataStore, reg: Registry, crow: Any, row: Any) -> Evaluation:
        key, _ = _target(row["target_kind"], row["target"])
        req = self._requirements(store, reg, crow, key) or Requirements()
        vrow = store.find_version_row_by_id(row["version_id"])
        version: Version = store.versions_by_rows([vrow], registry=reg.name, collection=crow["name"], with_files=False)[
            0
        ]
        checks = {c["name"]: c["status"] for c in store.list_checks(row["version_id"])}
        approvers = [
            r["reviewer"]
            for r in store.list_reviews(row["id"])
            if r["decision"] == "approve"
            and _RANK.get(r["reviewer_role"], -1) >= _RANK[req.approver_role]
            and r["reviewer"] not in (vrow["created_by"], row["requested_by"])
        ]
        return evaluate(req, version, checks, approvers)

    def _try_complete(
        self,
        store: MetadataStore,
        actor: Actor,
        reg: Registry,
        crow: Any,
        row: Any,
        now: datetime,
        *,
        force: bool = False,
    ) -> bool:
        """Move the alias (or stage) if every requirement is met and the policy (or ``force``) allows."""
        key, _ = _target(row["target_kind"], row["target"])
        req = self._requirements(store, reg, crow, key) or Requirements()
        if not (req.auto_promote or force):
            return False
        if not self._evaluate(store, reg, crow, row).met:
            return False
        vrow = store.find_version_row_by_id(row["version_id"])
        if row["target_kind"] == "alias":
            self._registry._move_alias(
                store,
                actor,
                reg,
                crow,
                row["target"],
                vrow["id"],
                vrow["number"],
                now,
                via="promotion",
                note={"promotion_request": row["id"]},
            )
        else:
            self._registry._apply_stage(
                store, actor, reg, crow, vrow, row["target"], bool(row["archive_existing"]), now, via="promotion"
            )
        store.update_request(row["id"], status="completed", resolved_by=actor.name, resolved_at=now, updated_at=now)
        self._event(
            store,
            actor,
            ev.PROMOTION_COMPLETED,
            f"{reg.name}/{crow['name']}:{vrow['number']}",
            reg=reg,
            collection_id=crow["id"],
            now=now,
            after={"request_id": row["id"], "target_kind": row["target_kind"], "target": row["target"]},
        )
        return True

    def _load(self, store: MetadataStore, reg: Registry, crow: Any, request_id: int) -> PromotionRequest:
        row = store.find_request(request_id)
        vrow = store.find_version_row_by_id(row["version_id"])
        key, _ = _target(row["target_kind"], row["target"])
        req = self._requirements(store, reg, crow, key) or Requirements()
        reviews = tuple(
            Review(r["reviewer"], r["decision"], r["comment"], r["created_at"]) for r in store.list_reviews(request_id)
        )
        return PromotionRequest(
            id=row["id"],
            registry=reg.name,
            collection=crow["name"],
            version=vrow["number"],
            target_kind=row["target_kind"],
            target=row["target"],
            status=row["status"],
            requested_by=row["requested_by"],
            comment=row["comment"],
            archive_existing=bool(row["archive_existing"]),
            reviews=reviews,
            evaluation=self._evaluate(store, reg, crow, row),
            auto_promote=req.auto_promote,
            created_at=row["created_at"],
            resolved_by=row["resolved_by"],
            resolved_at=row["resolved_at"],
        )
