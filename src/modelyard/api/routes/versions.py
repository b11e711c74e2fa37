"""Routes for versions, version tags, stages, aliases and path resolution."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.domain.models import FileEntry, RunRef, VersionMetadata
from modelyard.domain.paths import ArtifactPath

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(
    route_class=ApiRoute, prefix="/api/v1/registries/{registry}/collections/{collection}", tags=["versions"]
)
resolve_router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["versions"])


@router.get("/versions", response_model=s.Page[s.VersionOut])
def list_versions(
    registry: str,
    collection: str,
    page_size: int = Query(100),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.Page[s.VersionOut]:
    """Versions, newest first, without their file lists."""
    page = svc.registry.list_versions(registry, collection, page_size=page_size, page_token=page_token, actor=who)
    return s.Page[s.VersionOut](
        items=[render.version(v, with_files=False) for v in page.items], next_page_token=page.next_page_token
    )


@router.post("/versions", status_code=201, response_model=s.VersionOut)
def create_version(
    registry: str,
    collection: str,
    body: s.VersionCreate,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.VersionOut:
    """Commit a version from blobs already uploaded (see the uploads endpoints)."""
    md = VersionMetadata(
        description=body.description,
        tags=body.tags,
        run=RunRef(body.run.id, body.run.url),
        params=body.params,
        metrics=body.metrics,
        datasets=body.datasets,
        framework=body.framework,
        flavor=body.flavor,
        signature=body.signature,
        source=body.source,
    )
    v = svc.registry.create_version(
        who,
        registry,
        collection,
        files=[FileEntry(f.path, f.digest, f.size) for f in body.files],
        metadata=md,
        aliases=body.aliases,
        artifact_type=body.artifact_type,
        create_collection=body.create_collection,
    )
    return render.version(v)


@router.get("/versions/{ref}", response_model=s.VersionOut)
def get_version(
    registry: str, collection: str, ref: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.VersionOut:
    """A version by number, alias or ``latest``, with its files."""
    return render.version(svc.registry.get_version(registry, collection, ref, actor=who))


# PATCH and DELETE name the path parameter ``ref`` as GET does: one URL template, one path in
# the OpenAPI document (so a 405's ``Allow`` and the document agree); they take numbers only.
@router.patch("/versions/{ref}", response_model=s.VersionOut)
def update_version(
    registry: str,
    collection: str,
    body: s.VersionUpdate,
    number: int = Path(alias="ref", description="The version number."),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.VersionOut:
    return render.version(svc.registry.update_version(who, registry, collection, number, description=body.description))


@router.delete("/versions/{ref}", status_code=204)
def delete_version(
    registry: str,
    collection: str,
    number: s.Int64 = Path(alias="ref", description="The version number."),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    svc.registry.delete_version(who, registry, collection, number)
    return Response(status_code=204)


@router.put("/versions/{number}/tags/{key:path}", status_code=204)
def set_version_tag(
    registry: str,
    collection: str,
    number: s.Int64,
    key: str,
    body: s.TagValue,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    svc.registry.set_version_tag(who, registry, collection, number, key, body.value)
    return Response(status_code=204)


@router.delete("/versions/{number}/tags/{key:path}", status_code=204)
def unset_version_tag(
    registry: str,
    collection: str,
    number: s.Int64,
    key: str,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    svc.registry.unset_version_tag(who, registry, collection, number, key)
    return Response(status_code=204)


@router.put("/versions/{number}/stage", response_model=s.VersionOut)
def set_stage(
    registry: str,
    collection: str,
    number: s.Int64,
    body: s.StageSet,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.VersionOut:
    """Legacy lifecycle stage (None, Staging, Production, Archived)."""
    v = svc.registry.set_stage(
        who, registry, collection, number, body.stage, archive_existing=body.archive_existing_versions
    )
    return render.version(v)


@router.get("/aliases", response_model=s.AliasList)
def list_aliases(
    registry: str, collection: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.AliasList:
    c = svc.registry.get_collection(registry, collection, actor=who)
    return s.AliasList(items=[s.AliasOut(alias=a, version=n) for a, n in c.aliases.items()])


@router.put("/aliases/{alias}", response_model=s.AliasOut)
def set_alias(
    registry: str,
    collection: str,
    alias: str,
    body: s.AliasSet,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.AliasOut:
    v = svc.registry.set_alias(who, registry, collection, alias, body.version)
    return s.AliasOut(alias=alias, version=v.number)


@router.delete("/aliases/{alias}", status_code=204)
def unset_alias(
    registry: str, collection: str, alias: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> Response:
    svc.registry.unset_alias(who, registry, collection, alias)
    return Response(status_code=204)


@router.get("/aliases/{alias}/history", response_model=s.AliasHistory)
def alias_history(
    registry: str,
    collection: str,
    alias: str,
    limit: int = Query(100),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.AliasHistory:
    """Every move of the alias, newest first: which version, which before, who, when."""
    items = svc.registry.alias_history(registry, collection, alias, limit=limit, actor=who)
    return s.AliasHistory(items=[render.alias_change(a) for a in items])


@resolve_router.get("/resolve", response_model=s.VersionOut)
def resolve(
    path: str = Query(..., description="registry/collection[:version|:alias|:latest]"),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.VersionOut:
    """Resolve a path to the version it names (``:latest`` when no reference is given)."""
    p = ArtifactPath.parse(path, default_ref="latest")
    assert p.ref is not None
    return render.version(svc.registry.get_version(p.registry, p.collection, p.ref, actor=who))
