"""Routes for identities and access: whoami, users and service accounts, teams, tokens,
registry members (grants) and alias policies (protected aliases)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request, Response

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["governance"])


@router.get("/whoami", response_model=s.WhoAmI)
def whoami(request: Request, who: Actor = Depends(actor)) -> s.WhoAmI:
    return s.WhoAmI(
        name=who.name,
        kind=who.kind,
        org_admin=who.org_admin,
        token_name=who.token_name,
        auth_enabled=request.app.state.auth_enabled(),
    )


@router.get("/principals", response_model=s.PrincipalList)
def list_principals(
    kind: str | None = Query(None), svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PrincipalList:
    """Users and service accounts of the organization."""
    return s.PrincipalList(items=[render.principal(p) for p in svc.identity.list_principals(who, kind=kind)])


@router.post("/principals", status_code=201, response_model=s.PrincipalOut)
def create_principal(
    body: s.PrincipalCreate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PrincipalOut:
    """Create a user or a service account (org admins)."""
    p = svc.identity.create_principal(
        who, body.name, kind=body.kind, display_name=body.display_name, email=body.email, org_admin=body.org_admin
    )
    return render.principal(p)


@router.get("/principals/{name}", response_model=s.PrincipalOut)
def get_principal(name: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.PrincipalOut:
    return render.principal(svc.identity.get_principal(who, name))


@router.patch("/principals/{name}", response_model=s.PrincipalOut)
def update_principal(
    name: str, body: s.PrincipalUpdate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.PrincipalOut:
    """Make or unmake an org admin; disable or enable an account (org admins)."""
    return render.principal(svc.identity.update_principal(who, name, org_admin=body.org_admin, disabled=body.disabled))


@router.get("/teams", response_model=s.TeamList)
def list_teams(svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.TeamList:
    return s.TeamList(items=[render.team(t) for t in svc.identity.list_teams(who)])


@router.post("/teams", status_code=201, response_model=s.TeamOut)
def create_team(body: s.TeamCreate, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.TeamOut:
    return render.team(svc.identity.create_team(who, body.name, description=body.description))


@router.get("/teams/{team}", response_model=s.TeamOut)
def get_team(team: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.TeamOut:
    return render.team(svc.identity.get_team(who, team))


@router.post("/teams/{team}/members", response_model=s.TeamOut)
def add_team_member(
    team: str, body: s.TeamMember, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.TeamOut:
    return render.team(svc.identity.add_team_member(who, team, body.principal))


@router.delete("/teams/{team}/members/{principal}", response_model=s.TeamOut)
def remove_team_member(
    team: str, principal: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.TeamOut:
    return render.team(svc.identity.remove_team_member(who, team, principal))


@router.get("/tokens", response_model=s.TokenList)
def list_tokens(
    principal: str | None = Query(None, description="Whose tokens (org admins); '*' for all."),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.TokenList:
    """Token metadata (never the secrets)."""
    return s.TokenList(items=[render.token(t) for t in svc.identity.list_tokens(who, principal=principal)])


@router.post("/tokens", status_code=201, response_model=s.NewTokenOut)
def create_token(body: s.TokenCreate, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.NewTokenOut:
    """Create an API token. The secret is in this response only."""
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    new = svc.identity.create_token(who, name=body.name, principal=body.principal, expires_in=expires)
    return s.NewTokenOut(**render.token(new.info).model_dump(), token=new.secret)


@router.delete("/tokens/{token_id}", response_model=s.TokenOut)
def revoke_token(token_id: s.Int64, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.TokenOut:
    """Revoke a token (yours, or anyone's for org admins). Takes effect on the next request."""
    return render.token(svc.identity.revoke_token(who, token_id))


@router.get("/registries/{registry}/members", response_model=s.GrantList)
def list_members(registry: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.GrantList:
    return s.GrantList(items=[render.grant(g) for g in svc.identity.list_grants(who, registry)])


@router.put("/registries/{registry}/members", response_model=s.GrantOut)
def set_member(
    registry: str, body: s.GrantSet, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.GrantOut:
    """Grant a role on the registry to a user, service account or team (registry admins)."""
    g = svc.identity.grant(who, registry, subject_kind=body.subject_kind, subject=body.subject, role=body.role)
    return render.grant(g)


@router.delete("/registries/{registry}/members/{subject_kind}/{subject}", status_code=204)
def remove_member(
    registry: str, subject_kind: str, subject: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> Response:
    svc.identity.revoke_grant(who, registry, subject_kind=subject_kind, subject=subject)
    return Response(status_code=204)


@router.get("/registries/{registry}/alias-policies", response_model=s.AliasPolicyList)
def list_alias_policies(
    registry: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.AliasPolicyList:
    return s.AliasPolicyList(items=[render.alias_policy(p) for p in svc.identity.list_alias_policies(who, registry)])


@router.put("/registries/{registry}/alias-policies/{alias}", response_model=s.AliasPolicyOut)
def set_alias_policy(
    registry: str,
    alias: str,
    body: s.AliasPolicySet,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.AliasPolicyOut:
    """Protect an alias name (registry admins): only registry admins may then move it."""
    p = svc.identity.set_alias_policy(who, registry, alias, collection=body.collection, protected=body.protected)
    return render.alias_policy(p)


@router.delete("/registries/{registry}/alias-policies/{alias}", status_code=204)
def delete_alias_policy(
    registry: str,
    alias: str,
    collection: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    svc.identity.delete_alias_policy(who, registry, alias, collection=collection)
    return Response(status_code=204)
