"""Domain objects -> wire models. One function per entity."""

from __future__ import annotations

from modelyard import schemas as s
from modelyard.domain.identity import AliasPolicy, Grant, PrincipalInfo, Team, TokenInfo
from modelyard.domain.models import AliasChange, Collection, Event, Registry, UploadSession, Version
from modelyard.services.promotion import CheckResult, PromotionRequest


def registry(r: Registry) -> s.RegistryOut:
    return s.RegistryOut(
        name=r.name,
        description=r.description,
        artifact_types=list(r.artifact_types),
        visibility=r.visibility,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def collection(c: Collection) -> s.CollectionOut:
    return s.CollectionOut(
        registry=c.registry,
        name=c.name,
        path=c.path,
        artifact_type=c.artifact_type,
        description=c.description,
        tags=c.tags,
        aliases=c.aliases,
        latest_version=c.latest_version,
        created_at=c.created_at,
        updated_at=c.updated_at,
        created_by=c.created_by,
    )


def version(v: Version, *, with_files: bool = True) -> s.VersionOut:
    md = v.metadata
    return s.VersionOut(
        registry=v.registry,
        collection=v.collection,
        number=v.number,
        path=v.path,
        artifact_type=v.artifact_type,
        digest=v.digest,
        size=v.size,
        file_count=v.file_count,
        files=[s.FileOut(path=f.path, digest=f.digest, size=f.size) for f in v.files] if with_files else None,
        description=md.description,
        tags=md.tags,
        run=s.RunRefModel(id=md.run.id, url=md.run.url),
        params=md.params,
        metrics=md.metrics,
        datasets=md.datasets,
        framework=md.framework,
        flavor=md.flavor,
        signature=md.signature,
        source=md.source,
        aliases=list(v.aliases),
        stage=v.stage,
        created_at=v.created_at,
        updated_at=v.updated_at,
        created_by=v.created_by,
    )


def alias_change(a: AliasChange) -> s.AliasChangeOut:
    return s.AliasChangeOut(
        alias=a.alias,
        version=a.version,
        previous_version=a.previous_version,
        actor=a.actor,
        at=a.at,
        event_id=a.event_id,
    )


def upload(u: UploadSession) -> s.UploadOut:
    return s.UploadOut(
        id=u.id,
        digest=u.digest,
        size=u.size,
        offset=u.offset,
        expires_at=u.expires_at,
        registry=u.registry,
        created_at=u.created_at,
    )


def event(e: Event) -> s.EventOut:
    return s.EventOut(
        id=e.id,
        at=e.at,
        actor=e.actor,
        action=e.action,
        target=e.target,
        registry=e.registry,
        before=e.before,
        after=e.after,
        request_id=e.request_id,
        client_address=e.client_address,
        token_name=e.token_name,
    )


def principal(p: PrincipalInfo) -> s.PrincipalOut:
    return s.PrincipalOut(
        name=p.name,
        kind=p.kind,
        display_name=p.display_name,
        email=p.email,
        org_admin=p.org_admin,
        disabled=p.disabled,
        teams=list(p.teams),
        created_at=p.created_at,
    )


def team(t: Team) -> s.TeamOut:
    return s.TeamOut(name=t.name, description=t.description, members=list(t.members), created_at=t.created_at)


def token(t: TokenInfo) -> s.TokenOut:
    return s.TokenOut(
        id=t.id,
        name=t.name,
        principal=t.principal,
        prefix=t.prefix,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
        created_at=t.created_at,
    )


def grant(g: Grant) -> s.GrantOut:
    return s.GrantOut(registry=g.registry, subject_kind=g.subject_kind, subject=g.subject, role=g.role)


def alias_policy(p: AliasPolicy) -> s.AliasPolicyOut:
    return s.AliasPolicyOut(
        registry=p.registry,
        alias=p.alias,
        collection=p.collection,
        protected=p.protected,
        requirements=p.requirements,
    )


def check(c: CheckResult) -> s.CheckOut:
    return s.CheckOut(
        name=c.name,
        status=c.status,
        summary=c.summary,
        details_url=c.details_url,
        reported_by=c.reported_by,
        updated_at=c.updated_at,
    )


def promotion(p: PromotionRequest) -> s.PromotionOut:
    return s.PromotionOut(
        id=p.id,
        registry=p.registry,
        collection=p.collection,
        version=p.version,
        target_kind=p.target_kind,
        target=p.target,
        status=p.status,
        requested_by=p.requested_by,
        comment=p.comment,
        archive_existing_versions=p.archive_existing,
        requirements_met=p.evaluation.met,
        requirements=[
            s.RequirementOut(kind=r.kind, name=r.name, met=r.met, detail=r.detail) for r in p.evaluation.statuses
        ],
        reviews=[s.ReviewOut(reviewer=r.reviewer, decision=r.decision, comment=r.comment, at=r.at) for r in p.reviews],
        auto_promote=p.auto_promote,
        created_at=p.created_at,
        resolved_by=p.resolved_by,
        resolved_at=p.resolved_at,
    )
