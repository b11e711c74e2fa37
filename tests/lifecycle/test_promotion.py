"""Promotion policies, requests, approvals, checks, metadata rules, stages and rollback."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import pytest

from modelyard.bootstrap import Services
from modelyard.domain.actor import SYSTEM, Actor
from modelyard.domain.models import FileEntry, VersionMetadata
from modelyard.errors import (
    AliasNotFoundError,
    ConflictError,
    InvalidArgumentError,
    PermissionDeniedError,
    PromotionRequiredError,
)


@dataclass
class Org:
    svc: Services
    admin: Actor
    alice: Actor  # member, author of the versions
    bob: Actor  # member
    carol: Actor  # member
    vera: Actor  # viewer
    ci: Actor  # service account, member


def _actor(svc: Services, name: str) -> Actor:
    token = svc.identity.create_token(SYSTEM, name=f"t-{name}", principal=name).secret
    return svc.identity.authenticate(token)


@pytest.fixture
def org(services: Services) -> Org:
    svc = services
    svc.identity.bootstrap_admin(SYSTEM, "admin")
    for name in ("alice", "bob", "carol", "vera"):
        svc.identity.create_principal(SYSTEM, name)
    svc.identity.create_principal(SYSTEM, "ci", kind="service_account")
    for name, role in (("alice", "member"), ("bob", "member"), ("carol", "member"), ("vera", "viewer")):
        svc.identity.grant(SYSTEM, "models", subject_kind="user", subject=name, role=role)
    svc.identity.grant(SYSTEM, "models", subject_kind="service_account", subject="ci", role="member")
    o = Org(
        svc,
        _actor(svc, "admin"),
        _actor(svc, "alice"),
        _actor(svc, "bob"),
        _actor(svc, "carol"),
        _actor(svc, "vera"),
        _actor(svc, "ci"),
    )
    blob = _blob(svc, b"weights", o.alice)
    for auc in (0.95, 0.85, 0.97):
        svc.registry.create_version(
            o.alice, "models", "fraud", files=[blob], metadata=VersionMetadata(metrics={"auc": auc})
        )
    return o


def _blob(svc: Services, data: bytes, uploader: Actor) -> FileEntry:
    """Upload as ``uploader``: a digest counts as present only for its uploader (blob receipts)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    session = svc.artifacts.begin_upload(uploader, "models", digest=digest, size=len(data))
    svc.artifacts.write_upload(session.id, offset=0, chunks=[data])
    svc.artifacts.commit_upload(session.id, actor=uploader)
    return FileEntry("model.bin", digest, len(data))


def _policy(o: Org, **requirements: object) -> None:
    o.svc.promotion.set_policy(o.admin, "models", target_kind="alias", target="production", requirements=requirements)


def _alias(o: Org, name: str = "production") -> int | None:
    return o.svc.registry.get_collection("models", "fraud").aliases.get(name)


def _events(o: Org, action: str) -> list:
    return o.svc.audit.list_events(None, action=action, page_size=1000).items


def test_two_approvals_move_the_alias_and_record_who_approved(org: Org) -> None:
    _policy(org, approvals=2)
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    assert req.status == "open" and not req.evaluation.met and _alias(org) is None
    req = org.svc.promotion.review(org.bob, req.id, approve=True, comment="looks good")
    assert req.status == "open" and _alias(org) is None
    req = org.svc.promotion.review(org.carol, req.id, approve=True)
    assert req.status == "completed" and _alias(org) == 1
    approved = _events(org, "promotion.approved")
    assert [e.actor for e in approved] == ["bob", "carol"]
    assert approved[0].after["comment"] == "looks good"
    moved = _events(org, "alias.set")[-1]
    assert moved.after == {"alias": "production", "version": 1, "promotion_request": req.id}


def test_author_and_requester_cannot_approve(org: Org) -> None:
    _policy(org, approvals=1)
    req = org.svc.promotion.request(org.bob, "models", "fraud", 1, target="production")
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.review(org.alice, req.id, approve=True)  # author of version 1
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.review(org.bob, req.id, approve=True)  # requester
    assert org.svc.promotion.get(None, req.id).status == "open" and _alias(org) is None


def test_same_approver_counts_once(org: Org) -> None:
    _policy(org, approvals=2)
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    org.svc.promotion.review(org.bob, req.id, approve=True)
    with pytest.raises(Exception) as info:
        org.svc.promotion.review(org.bob, req.id, approve=True)
    assert info.value.code == "ALREADY_EXISTS"  # type: ignore[attr-defined]
    assert org.svc.promotion.get(None, req.id).status == "open"


def test_approver_role_is_enforced(org: Org) -> None:
    _policy(org, approvals=1, approver_role="admin")
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.review(org.bob, req.id, approve=True)
    assert org.svc.promotion.review(org.admin, req.id, approve=True).status == "completed"


def test_viewer_cannot_request_or_approve(org: Org) -> None:
    _policy(org, approvals=1)
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.request(org.vera, "models", "fraud", 1, target="production")
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.review(org.vera, req.id, approve=True)


def test_failed_or_missing_check_blocks_and_success_completes(org: Org) -> None:
    _policy(org, checks=["integration-tests", "bias-audit"])
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    details = {s.name: s.detail for s in req.evaluation.statuses}
    assert details["integration-tests"] == "check 'integration-tests' is not reported"
    org.svc.promotion.report_check(org.ci, "models", "fraud", 1, "integration-tests", status="success")
    org.svc.promotion.report_check(org.ci, "models", "fraud", 1, "bias-audit", status="failure")
    assert org.svc.promotion.get(None, req.id).status == "open" and _alias(org) is None
    org.svc.promotion.report_check(org.ci, "models", "fraud", 1, "bias-audit", status="success")
    assert org.svc.promotion.get(None, req.id).status == "completed" and _alias(org) == 1
    checks = {c.name: (c.status, c.reported_by) for c in org.svc.promotion.list_checks(None, "models", "fraud", 1)}
    assert checks == {"bias-audit": ("success", "ci"), "integration-tests": ("success", "ci")}


def test_check_on_another_version_does_not_count(org: Org) -> None:
    _policy(org, checks=["integration-tests"])
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    org.svc.promotion.report_check(org.ci, "models", "fraud", 2, "integration-tests", status="success")
    assert org.svc.promotion.get(None, req.id).status == "open"


def test_metric_rule_blocks_a_worse_model(org: Org) -> None:
    _policy(org, rules=[{"field": "metrics.auc", "op": ">=", "value": 0.91}])
    bad = org.svc.promotion.request(org.alice, "models", "fraud", 2, target="production")  # auc 0.85
    assert bad.status == "open" and [s.met for s in bad.evaluation.statuses] == [False]
    good = org.svc.promotion.request(org.alice, "models", "fraud", 3, target="production")  # auc 0.97
    assert good.status == "completed" and _alias(org) == 3


def test_signature_and_tag_rules(org: Org) -> None:
    _policy(
        org, rules=[{"field": "signature", "op": "exists"}, {"field": "tags.validated", "op": "==", "value": "true"}]
    )
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    assert [s.met for s in req.evaluation.statuses] == [False, False]
    org.svc.registry.set_version_tag(org.alice, "models", "fraud", 1, "validated", "true")
    assert [s.met for s in org.svc.promotion.get(None, req.id).evaluation.statuses] == [False, True]


def test_direct_moves_of_a_guarded_alias_are_refused_even_for_admins(org: Org) -> None:
    _policy(org, approvals=1)
    with pytest.raises(PromotionRequiredError):
        org.svc.registry.set_alias(org.admin, "models", "fraud", "production", 1)
    with pytest.raises(PromotionRequiredError):
        org.svc.registry.create_version(
            org.admin, "models", "fraud", files=[_blob(org.svc, b"w2", org.admin)], aliases=["production"]
        )
    assert _alias(org) is None and org.svc.registry.get_collection("models", "fraud").latest_version == 3


def test_manual_policy_waits_for_the_requester(org: Org) -> None:
    _policy(org, approvals=1, auto_promote=False)
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    with pytest.raises(ConflictError):
        org.svc.promotion.complete(org.alice, req.id)  # not approved yet
    org.svc.promotion.review(org.bob, req.id, approve=True)
    assert org.svc.promotion.get(None, req.id).status == "open" and _alias(org) is None
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.complete(org.carol, req.id)  # neither requester nor admin
    assert org.svc.promotion.complete(org.alice, req.id).status == "completed" and _alias(org) == 1


def test_reject_and_cancel_close_the_request(org: Org) -> None:
    _policy(org, approvals=1)
    r1 = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    assert org.svc.promotion.review(org.bob, r1.id, approve=False, comment="no").status == "rejected"
    with pytest.raises(ConflictError):
        org.svc.promotion.review(org.carol, r1.id, approve=True)
    r2 = org.svc.promotion.request(org.alice, "models", "fraud", 1, target="production")
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.cancel(org.bob, r2.id)
    assert org.svc.promotion.cancel(org.alice, r2.id).status == "cancelled"
    assert _alias(org) is None
    assert [e.action for e in _events(org, "promotion.*")] == [
        "promotion.requested",
        "promotion.rejected",
        "promotion.requested",
        "promotion.cancelled",
    ]


def test_unguarded_alias_request_completes_at_once(org: Org) -> None:
    req = org.svc.promotion.request(org.alice, "models", "fraud", 2, target="candidate")
    assert req.status == "completed" and _alias(org, "candidate") == 2


def test_invalid_policies_are_refused_with_what_to_fix(org: Org) -> None:
    for bad in (
        {"approvals": -1},
        {"approvals": "2"},
        {"checks": "x"},
        {"rules": [{"field": "metrics.auc", "op": ">="}]},
        {"rules": [{"field": "nope", "op": "exists"}]},
        {"approver_role": "owner"},
        {"colour": 1},
    ):
        with pytest.raises(InvalidArgumentError):
            org.svc.promotion.set_policy(
                org.admin, "models", target_kind="alias", target="production", requirements=bad
            )
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.set_policy(org.alice, "models", target_kind="alias", target="production", requirements={})
    assert org.svc.identity.list_alias_policies(org.admin, "models") == []


def test_stage_transition_request_with_archiving(org: Org) -> None:
    org.svc.promotion.set_policy(
        org.admin, "models", target_kind="stage", target="Production", requirements={"approvals": 1}
    )
    org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Staging")  # unguarded stage
    with pytest.raises(PromotionRequiredError):
        org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Production")
    r1 = org.svc.promotion.request(org.alice, "models", "fraud", 1, target_kind="stage", target="production")
    org.svc.promotion.review(org.bob, r1.id, approve=True)
    assert org.svc.registry.get_version("models", "fraud", 1).stage == "Production"
    r3 = org.svc.promotion.request(
        org.alice, "models", "fraud", 3, target_kind="stage", target="Production", archive_existing=True
    )
    org.svc.promotion.review(org.carol, r3.id, approve=True)
    stages = {n: org.svc.registry.get_version("models", "fraud", n).stage for n in (1, 2, 3)}
    assert stages == {1: "Archived", 2: "None", 3: "Production"}


def test_rollback_moves_back_fast_and_is_recorded(org: Org) -> None:
    org.svc.registry.set_alias(org.alice, "models", "fraud", "production", 1)
    org.svc.registry.set_alias(org.alice, "models", "fraud", "production", 2)
    started = time.perf_counter()
    v = org.svc.registry.rollback_alias(org.bob, "models", "fraud", "production")
    elapsed = time.perf_counter() - started
    assert v.number == 1 and _alias(org) == 1
    last = _events(org, "alias.set")[-1]
    assert last.actor == "bob" and last.after["rollback"] is True and last.after["rolled_back_from"] == 2
    assert org.svc.registry.rollback_alias(org.bob, "models", "fraud", "production", to=3).number == 3
    assert elapsed < 5  # sanity bound only; bench/ measures the real figure


def test_rollback_of_a_guarded_alias_needs_an_admin_but_no_new_approvals(org: Org) -> None:
    _policy(org, approvals=1)
    for n in (1, 2):
        req = org.svc.promotion.request(org.alice, "models", "fraud", n, target="production")
        org.svc.promotion.review(org.bob, req.id, approve=True)
    assert _alias(org) == 2
    with pytest.raises(PermissionDeniedError):
        org.svc.registry.rollback_alias(org.alice, "models", "fraud", "production")
    assert org.svc.registry.rollback_alias(org.admin, "models", "fraud", "production").number == 1
    assert _events(org, "alias.set")[-1].actor == "admin"


def test_rollback_without_history_or_alias_is_a_clear_error(org: Org) -> None:
    with pytest.raises(AliasNotFoundError):
        org.svc.registry.rollback_alias(org.alice, "models", "fraud", "production")
    org.svc.registry.set_alias(org.alice, "models", "fraud", "production", 1)
    with pytest.raises(ConflictError):
        org.svc.registry.rollback_alias(org.alice, "models", "fraud", "production")
    assert _alias(org) == 1


def test_promotion_over_http(org: Org, http) -> None:  # type: ignore[no-untyped-def]
    admin = {"Authorization": "Bearer " + org.svc.identity.create_token(SYSTEM, name="h", principal="admin").secret}
    bob = {"Authorization": "Bearer " + org.svc.identity.create_token(SYSTEM, name="h", principal="bob").secret}
    alice = {"Authorization": "Bearer " + org.svc.identity.create_token(SYSTEM, name="h", principal="alice").secret}
    r = http.put(
        "/api/v1/registries/models/promotion-policies",
        json={"target": "production", "requirements": {"approvals": 1, "checks": ["ci"]}},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["requirements"]["approvals"] == 1
    r = http.put(
        "/api/v1/registries/models/promotion-policies",
        json={"target": "production", "requirements": {"approvals": 99}},
        headers=admin,
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_ARGUMENT"
    r = http.put("/api/v1/registries/models/collections/fraud/aliases/production", json={"version": 1}, headers=admin)
    assert r.status_code == 409 and r.json()["details"]["reason"] == "promotion_required"
    r = http.post(
        "/api/v1/registries/models/collections/fraud/promotions",
        json={"version": 1, "target": "production"},
        headers=alice,
    )
    assert r.status_code == 201
    rid = r.json()["id"]
    assert [x["met"] for x in r.json()["requirements"]] == [False, False]
    assert http.post(f"/api/v1/promotions/{rid}/approve", json={}, headers=bob).json()["status"] == "open"
    r = http.post(
        "/api/v1/registries/models/collections/fraud/versions/1/checks",
        json={"name": "ci", "status": "success", "details_url": "https://ci.example/1"},
        headers=alice,
    )
    assert r.status_code == 201
    assert http.get(f"/api/v1/promotions/{rid}", headers=bob).json()["status"] == "completed"
    r = http.post(
        "/api/v1/registries/models/collections/fraud/versions/1/checks",
        json={"name": "ci", "status": "maybe"},
        headers=alice,
    )
    assert r.status_code == 400
    r = http.post(
        "/api/v1/registries/models/collections/fraud/aliases/production/rollback", json={"to": 3}, headers=admin
    )
    assert r.status_code == 200 and r.json()["number"] == 3
    assert http.get("/api/v1/promotions/999999", headers=admin).status_code == 404


# -- a guard on an alias also guards the stage that maps to it (issue 14) ----------------------------------


def _stage(o: Org, n: int) -> str:
    return o.svc.registry.get_version("models", "fraud", n).stage


def test_alias_requirements_also_guard_the_production_stage(org: Org) -> None:
    _policy(org, approvals=1)
    for who in (org.alice, org.admin):
        with pytest.raises(PromotionRequiredError) as info:
            org.svc.registry.set_stage(who, "models", "fraud", 1, "Production")
        assert "guarded by alias 'production'" in str(info.value)
    assert _stage(org, 1) == "None" and _events(org, "version.stage_changed") == []
    org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Staging")  # 'staging' has no policy
    # The stage moves through a request that meets the alias's requirements.
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target_kind="stage", target="Production")
    assert req.status == "open" and [s.kind for s in req.evaluation.statuses] == ["approvals"]
    assert _stage(org, 1) == "Staging"
    assert org.svc.promotion.review(org.bob, req.id, approve=True).status == "completed"
    assert _stage(org, 1) == "Production"
    # Leaving the guarded stage is like removing the protected alias: registry admins only.
    with pytest.raises(PermissionDeniedError):
        org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Archived")
    assert _stage(org, 1) == "Production"
    org.svc.registry.set_stage(org.admin, "models", "fraud", 1, "Archived")
    assert _stage(org, 1) == "Archived"


def test_a_protected_alias_without_requirements_limits_its_stage_to_admins(org: Org) -> None:
    org.svc.identity.set_alias_policy(org.admin, "models", "staging")
    with pytest.raises(PermissionDeniedError):
        org.svc.registry.set_stage(org.alice, "models", "fraud", 2, "Staging")
    assert _stage(org, 2) == "None"
    org.svc.registry.set_stage(org.alice, "models", "fraud", 2, "Production")  # 'production' is not guarded
    assert org.svc.registry.set_stage(org.admin, "models", "fraud", 3, "Staging").stage == "Staging"


def test_an_admin_can_separate_the_stage_from_the_alias(org: Org) -> None:
    _policy(org, approvals=1, guards_stage=False)
    assert org.svc.identity.list_alias_policies(org.admin, "models")[0].requirements["guards_stage"] is False
    assert org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Production").stage == "Production"
    with pytest.raises(PromotionRequiredError):  # the alias itself stays guarded
        org.svc.registry.set_alias(org.alice, "models", "fraud", "production", 1)
    with pytest.raises(InvalidArgumentError):  # the switch belongs on alias policies
        org.svc.promotion.set_policy(
            org.admin, "models", target_kind="stage", target="Production", requirements={"guards_stage": False}
        )
    with pytest.raises(InvalidArgumentError):
        _policy(org, guards_stage="no")


def test_a_stage_policy_of_its_own_wins_over_the_alias(org: Org) -> None:
    _policy(org, approvals=2)
    org.svc.promotion.set_policy(
        org.admin, "models", target_kind="stage", target="Production", requirements={"approvals": 1}
    )
    req = org.svc.promotion.request(org.alice, "models", "fraud", 1, target_kind="stage", target="Production")
    assert org.svc.promotion.review(org.bob, req.id, approve=True).status == "completed"
    assert _stage(org, 1) == "Production"


def test_stage_guard_over_http(org: Org, http) -> None:  # type: ignore[no-untyped-def]
    admin = {"Authorization": "Bearer " + org.svc.identity.create_token(SYSTEM, name="h", principal="admin").secret}
    alice = {"Authorization": "Bearer " + org.svc.identity.create_token(SYSTEM, name="h", principal="alice").secret}
    stage_url = "/api/v1/registries/models/collections/fraud/versions/1/stage"
    policy_url = "/api/v1/registries/models/promotion-policies"
    r = http.put(policy_url, json={"target": "production", "requirements": {"approvals": 1}}, headers=admin)
    assert r.status_code == 200 and "guards_stage" not in r.json()["requirements"]
    r = http.put(stage_url, json={"stage": "Production"}, headers=alice)
    assert r.status_code == 409 and r.json()["details"]["reason"] == "promotion_required"
    assert "alias 'production'" in r.json()["message"]
    assert http.get("/api/v1/registries/models/collections/fraud/versions/1", headers=alice).json()["stage"] == "None"
    r = http.put(
        policy_url,
        json={"target": "production", "requirements": {"approvals": 1, "guards_stage": False}},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["requirements"]["guards_stage"] is False
    r = http.put(stage_url, json={"stage": "Production"}, headers=alice)
    assert r.status_code == 200 and r.json()["stage"] == "Production"


def test_no_request_takes_a_version_out_of_a_guarded_stage(org: Org) -> None:
    _policy(org, approvals=1)
    for n in (1, 3):
        req = org.svc.promotion.request(org.alice, "models", "fraud", n, target_kind="stage", target="Production")
        org.svc.promotion.review(org.bob, req.id, approve=True)
    assert (_stage(org, 1), _stage(org, 3)) == ("Production", "Production")
    # A request into an unguarded stage completes at once: it must not be a way out of Production.
    with pytest.raises(PermissionDeniedError):
        org.svc.promotion.request(org.alice, "models", "fraud", 3, target_kind="stage", target="Staging")
    # Nor may a member archive the other Production versions (a rollback in disguise).
    with pytest.raises(PermissionDeniedError):
        org.svc.registry.set_stage(org.alice, "models", "fraud", 1, "Production", archive_existing=True)
    assert (_stage(org, 1), _stage(org, 3)) == ("Production", "Production")
    # An approved request into the guarded stage archives the others, as before.
    req = org.svc.promotion.request(
        org.alice, "models", "fraud", 2, target_kind="stage", target="Production", archive_existing=True
    )
    org.svc.promotion.review(org.bob, req.id, approve=True)
    assert [_stage(org, n) for n in (1, 2, 3)] == ["Archived", "Production", "Archived"]


def test_a_request_does_not_move_a_protected_alias_that_requires_nothing(org: Org) -> None:
    """Protected means registry admins only; a promotion request with no requirements adds no
    approval, so completing it needs an admin too (for the alias and the stage it guards)."""
    org.svc.identity.set_alias_policy(org.admin, "models", "production")
    for kind, target in (("alias", "production"), ("stage", "Production")):
        with pytest.raises(PermissionDeniedError):
            org.svc.promotion.request(org.alice, "models", "fraud", 1, target_kind=kind, target=target)
    assert _alias(org) is None and _stage(org, 1) == "None"
    assert org.svc.promotion.request(org.admin, "models", "fraud", 1, target="production").status == "completed"
    assert _alias(org) == 1
