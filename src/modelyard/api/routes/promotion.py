"""Routes for controlled promotion: policies with requirements, checks on versions,
promotion requests (approve / reject / cancel / complete) and rollback."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["promotion"])
_COLL = "/registries/{registry}/collections/{collection}"


@router.put("/registries/{registry}/promotion-policies", response_model=s.AliasPolicyOut)
def set_promotion_policy(
    registry: str, body: s.PromotionPolicySet, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.AliasPolicyOut:
    """Protect an alias or stage and require approvals, checks and metadata rules (registry admins)."""
    p = svc.promotion.set_policy(
        who,
        registry,
        target_kind=body.target_kind,
        target=body.target,
        requirements=body.requirements,
        collection=body.collection,
    )
    return render.alias_policy(p)


@router.post(_COLL + "/versions/{number}/checks", status_code=201, response_model=s.CheckOut)
def report_check(
    registry: str,
    collection: str,
    number: s.Int64,
    body: s.CheckReport,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.CheckOut:
    """Report a named check (like a commit status): pending, success, failure or error."""
    c = svc.promotion.report_check(
        who,
        registry,
        collection,
        number,
        body.name,
        status=body.status,
        summary=body.summary,
        details_url=body.details_url,
    )
    return render.check(c)


@router.get(_COLL + "/versions/{number}/checks", response_model=s.CheckList)
def list_checks(
    registry: str, collection: str, number: s.Int64, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.CheckList:
    return s.CheckList(items=[render.check(c) for c in svc.promotion.list_checks(who, registry, collection, number)])


@router.post(_COLL + "/promotions", status_code=201, response_model=s.PromotionOut)
def request_promotion(
    registry: str,
    collection: str,
    body: s.PromotionCreate,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.PromotionOut:
    """Ask to move an alias (or stage) to a version; shows which requirements are met."""
    p = svc.promotion.request(
        who,
        registry,
        collection,
        body.version,
        target_kind=body.target_kind,
        target=body.target,
        comment=body.comment,
        archive_existing=body.archive_existing_versions,
    )
    return render.promotion(p)


@router.get(_COLL + "/promotions", response_model=s.PromotionList)
def list_promotions(
    registry: str,
    collection: str,
    status: str | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.PromotionList:
    items = svc.promotion.list(who, registry, collection, status=status, limit=limit)
    return s.PromotionList(items=[render.promotion(p) for p in items])


@router.get("/promotions/{request_id}", response_model=s.PromotionOut)
def get_promotion(
    request_id: s.Int64, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PromotionOut:
    return render.promotion(svc.promotion.get(who, request_id))


@router.post("/promotions/{request_id}/approve", response_model=s.PromotionOut)
def approve(
    request_id: s.Int64, body: s.ReviewIn, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PromotionOut:
    return render.promotion(svc.promotion.review(who, request_id, approve=True, comment=body.comment))


@router.post("/promotions/{request_id}/reject", response_model=s.PromotionOut)
def reject(
    request_id: s.Int64, body: s.ReviewIn, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PromotionOut:
    return render.promotion(svc.promotion.review(who, request_id, approve=False, comment=body.comment))


@router.post("/promotions/{request_id}/cancel", response_model=s.PromotionOut)
def cancel(request_id: s.Int64, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.PromotionOut:
    return render.promotion(svc.promotion.cancel(who, request_id))


@router.post("/promotions/{request_id}/complete", response_model=s.PromotionOut)
def complete(request_id: s.Int64, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.PromotionOut:
    """Carry out a request whose requirements are met (policies without auto_promote)."""
    return render.promotion(svc.promotion.complete(who, request_id))


@router.post(_COLL + "/aliases/{alias}/rollback", response_model=s.VersionOut)
def rollback(
    registry: str,
    collection: str,
    alias: str,
    body: s.RollbackIn,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.VersionOut:
    """Move the alias back to its previous version (or ``to``), atomically."""
    v = svc.registry.rollback_alias(who, registry, collection, alias, to=body.to)
    return render.version(v, with_files=False)
