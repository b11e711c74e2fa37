"""Routes for registries, collections, collection tags and search."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from modelyard import schemas as s
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.domain.search import parse_tag_filter

from .. import render
from ..deps import actor, services
from ..routing import ApiRoute

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["registries"])


@router.get("/registries", response_model=s.RegistryList)
def list_registries(svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.RegistryList:
    return s.RegistryList(items=[render.registry(r) for r in svc.registry.list_registries(actor=who)])


@router.post("/registries", status_code=201, response_model=s.RegistryOut)
def create_registry(
    body: s.RegistryCreate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.RegistryOut:
    reg = svc.registry.create_registry(
        who, body.name, description=body.description, artifact_types=body.artifact_types, visibility=body.visibility
    )
    return render.registry(reg)


@router.get("/registries/{registry}", response_model=s.RegistryOut)
def get_registry(registry: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> s.RegistryOut:
    return render.registry(svc.registry.get_registry(registry, actor=who))


@router.patch("/registries/{registry}", response_model=s.RegistryOut)
def update_registry(
    registry: str, body: s.RegistryUpdate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.RegistryOut:
    reg = svc.registry.update_registry(
        who, registry, description=body.description, artifact_types=body.artifact_types, visibility=body.visibility
    )
    return render.registry(reg)


@router.delete("/registries/{registry}", status_code=204)
def delete_registry(registry: str, svc: Services = Depends(services), who: Actor = Depends(actor)) -> Response:
    svc.registry.delete_registry(who, registry)
    return Response(status_code=204)


def _search(
    svc: Services,
    who: Actor,
    *,
    registries: list[str] | None,
    q: str | None,
    match: str,
    tag: list[str],
    artifact_type: str | None,
    alias: str | None,
    order_by: str,
    page_size: int,
    page_token: str | None,
) -> s.Page[s.CollectionOut]:
    page = svc.registry.search_collections(
        registries=registries,
        name=q,
        match=match,
        tags=[parse_tag_filter(t) for t in tag],
        artifact_type=artifact_type,
        alias=alias,
        order_by=order_by,
        page_size=page_size,
        page_token=page_token,
        actor=who,
    )
    return s.Page[s.CollectionOut](
        items=[render.collection(c) for c in page.items], next_page_token=page.next_page_token
    )


@router.get("/search", response_model=s.Page[s.CollectionOut])
def search(
    q: str | None = Query(None, description="Collection name to match."),
    match: str = Query("substring", description="exact, prefix or substring."),
    tag: list[str] = Query([], description="'key' or 'key=value'; repeat to require several."),
    type: str | None = Query(None, description="Artifact type."),
    registry: list[str] = Query([], description="Limit to these registries; repeatable."),
    alias: str | None = Query(None, description="Only collections that have this alias set."),
    order_by: str = Query("name", description="name, created_at or updated_at; '-' prefix for descending."),
    page_size: int = Query(100),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.Page[s.CollectionOut]:
    """Search collections across registries."""
    return _search(
        svc,
        who,
        registries=registry or None,
        q=q,
        match=match,
        tag=tag,
        artifact_type=type,
        alias=alias,
        order_by=order_by,
        page_size=page_size,
        page_token=page_token,
    )


@router.get("/registries/{registry}/collections", response_model=s.Page[s.CollectionOut])
def list_collections(
    registry: str,
    q: str | None = Query(None),
    match: str = Query("substring"),
    tag: list[str] = Query([]),
    type: str | None = Query(None),
    alias: str | None = Query(None),
    order_by: str = Query("name"),
    page_size: int = Query(100),
    page_token: str | None = Query(None),
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.Page[s.CollectionOut]:
    return _search(
        svc,
        who,
        registries=[registry],
        q=q,
        match=match,
        tag=tag,
        artifact_type=type,
        alias=alias,
        order_by=order_by,
        page_size=page_size,
        page_token=page_token,
    )


@router.post("/registries/{registry}/collections", status_code=201, response_model=s.CollectionOut)
def create_collection(
    registry: str, body: s.CollectionCreate, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.CollectionOut:
    c = svc.registry.create_collection(
        who, registry, body.name, artifact_type=body.artifact_type, description=body.description, tags=body.tags
    )
    return render.collection(c)


@router.get("/registries/{registry}/collections/{collection}", response_model=s.CollectionOut)
def get_collection(
    registry: str, collection: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> s.CollectionOut:
    return render.collection(svc.registry.get_collection(registry, collection, actor=who))


@router.patch("/registries/{registry}/collections/{collection}", response_model=s.CollectionOut)
def update_collection(
    registry: str,
    collection: str,
    body: s.CollectionUpdate,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> s.CollectionOut:
    c = svc.registry.update_collection(who, registry, collection, description=body.description, new_name=body.name)
    return render.collection(c)


@router.delete("/registries/{registry}/collections/{collection}", status_code=204)
def delete_collection(
    registry: str, collection: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> Response:
    svc.registry.delete_collection(who, registry, collection)
    return Response(status_code=204)


@router.put("/registries/{registry}/collections/{collection}/tags/{key:path}", status_code=204)
def set_collection_tag(
    registry: str,
    collection: str,
    key: str,
    body: s.TagValue,
    svc: Services = Depends(services),
    who: Actor = Depends(actor),
) -> Response:
    svc.registry.set_collection_tag(who, registry, collection, key, body.value)
    return Response(status_code=204)


@router.delete("/registries/{registry}/collections/{collection}/tags/{key:path}", status_code=204)
def unset_collection_tag(
    registry: str, collection: str, key: str, svc: Services = Depends(services), who: Actor = Depends(actor)
) -> Response:
    svc.registry.unset_collection_tag(who, registry, collection, key)
    return Response(status_code=204)
