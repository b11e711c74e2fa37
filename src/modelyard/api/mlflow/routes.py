"""MLflow model-registry endpoints (``ModelRegistryService``), served under ``/api/2.0/mlflow``,
``/ajax-api/2.0/mlflow`` and ``/mlflow/<registry>/…``. Thin: parse, call a service, translate.

A registered model is a collection of the ``models`` registry unless the URL prefix names
another registry. Every change goes through ``RegistryService`` and appends its event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request

from modelyard.api.deps import actor
from modelyard.bootstrap import Services
from modelyard.domain.actor import Actor
from modelyard.domain.paths import VersionRef
from modelyard.services.mlflow_artifacts import MlflowArtifactService
from modelyard.services.mlflow_registry import MlflowRegistryService, RegisteredModel, canonical_stage
from modelyard.services.tracking import TrackingService

from . import translate as tr
from .errors import MlflowRoute
from .filters import decode_offset, encode_offset, parse_filter, parse_order_by
from .translate import Params, read_params

DEFAULT_REGISTRY = "models"
MODEL_ORDER_KEYS = ("name", "creation_timestamp", "last_updated_timestamp")
VERSION_ORDER_KEYS = ("name", "version_number", "creation_timestamp", "last_updated_timestamp")
MAX_MODEL_RESULTS = 1000
MAX_VERSION_RESULTS = 200_000

router = APIRouter(route_class=MlflowRoute)


@dataclass
class MlflowServices:
    core: Services
    tracking: TrackingService
    artifacts: MlflowArtifactService
    registry: MlflowRegistryService


def mlflow_services(request: Request) -> MlflowServices:
    return request.app.state.mlflow  # type: ignore[no-any-return]


def registry_of(request: Request) -> str:
    """The registry a request addresses: ``/mlflow/<registry>/…`` or the default ``models``."""
    return str(request.path_params.get("registry") or DEFAULT_REGISTRY)


def _model(svc: MlflowServices, rm: RegisteredModel) -> dict[str, Any]:
    return tr.registered_model(rm, svc.registry.model_ids(rm.latest_versions))


def _version(svc: MlflowServices, who: Actor, registry: str, name: str, number: int) -> dict[str, Any]:
    v = svc.core.registry.get_version(registry, name, VersionRef(number=number), actor=who)
    return tr.model_version(v, svc.registry.model_ids([v]).get(v.id))


# -- registered models -------------------------------------------------------------------------------


@router.post("/registered-models/create")
def create_registered_model(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry = registry_of(request)
    svc.core.registry.create_collection(
        who, registry, p.str("name", required=True), description=p.str("description"), tags=p.tags()
    )
    return {"registered_model": _model(svc, svc.registry.get_registered_model(who, registry, p.str("name")))}


@router.post("/registered-models/rename")
def rename_registered_model(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry = registry_of(request)
    new_name = p.str("new_name", required=True)
    svc.core.registry.update_collection(who, registry, p.str("name", required=True), new_name=new_name)
    return {"registered_model": _model(svc, svc.registry.get_registered_model(who, registry, new_name))}


@router.patch("/registered-models/update")
def update_registered_model(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry = registry_of(request)
    name = p.str("name", required=True)
    svc.core.registry.update_collection(who, registry, name, description=p.opt("description"))
    return {"registered_model": _model(svc, svc.registry.get_registered_model(who, registry, name))}


@router.delete("/registered-models/delete")
def delete_registered_model(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.core.registry.delete_collection(who, registry_of(request), p.str("name", required=True))
    return {}


@router.get("/registered-models/get")
def get_registered_model(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    rm = svc.registry.get_registered_model(who, registry_of(request), p.str("name", required=True))
    return {"registered_model": _model(svc, rm)}


@router.get("/registered-models/search")
def search_registered_models(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    limit = p.int("max_results", default=100)
    if limit > MAX_MODEL_RESULTS:
        raise_invalid("max_results", f"must be at most {MAX_MODEL_RESULTS}")
    offset = decode_offset(p.opt("page_token"))
    models, next_offset = svc.registry.search_registered_models(
        who,
        registry_of(request),
        clauses=parse_filter(p.opt("filter")),
        order_by=parse_order_by(
            # MLflow sorts registered models by last update for both timestamp keys.
            p.list("order_by"),
            allowed=MODEL_ORDER_KEYS,
            aliases={"timestamp": "last_updated_timestamp"},
        ),
        offset=offset,
        limit=max(limit, 1),
    )
    if limit < 1:
        # MLflow answers 0 and -1 with an empty page; for 0 it reads one row and, when one
        # matches, hands out a token for the same offset (docs/mlflow.md)
        return {"next_page_token": encode_offset(offset)} if limit == 0 and models else {}
    ids = svc.registry.model_ids([v for m in models for v in m.latest_versions])
    # MLflow leaves an empty repeated field out of the JSON: an empty page is {}.
    out: dict[str, Any] = {"registered_models": [tr.registered_model(m, ids) for m in models]} if models else {}
    token = encode_offset(next_offset)
    if token:
        out["next_page_token"] = token
    return out


@router.api_route("/registered-models/get-latest-versions", methods=["GET", "POST"])
def get_latest_versions(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    versions = svc.registry.latest_versions(
        who, registry_of(request), p.str("name", required=True), [str(s) for s in p.list("stages")]
    )
    ids = svc.registry.model_ids(versions)
    if not versions:
        return {}
    return {"model_versions": [tr.model_version(v, ids.get(v.id)) for v in versions]}


@router.post("/registered-models/set-tag")
def set_registered_model_tag(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.core.registry.set_collection_tag(
        who,
        registry_of(request),
        p.str("name", required=True),
        p.str("key", required=True),
        p.str("value", required=True) if p.raw("value") is None else p.str("value"),
    )
    return {}


@router.delete("/registered-models/delete-tag")
def delete_registered_model_tag(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.registry.unset_collection_tag(
        who, registry_of(request), p.str("name", required=True), p.str("key", required=True)
    )
    return {}


@router.post("/registered-models/alias")
def set_registered_model_alias(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.core.registry.set_alias(
        who, registry_of(request), p.str("name", required=True), p.str("alias", required=True), p.version()
    )
    return {}


@router.delete("/registered-models/alias")
def delete_registered_model_alias(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.registry.unset_alias(who, registry_of(request), p.str("name", required=True), p.str("alias", required=True))
    return {}


@router.get("/registered-models/alias")
def get_model_version_by_alias(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    alias = p.str("alias", required=True)
    v = svc.core.registry.get_version(
        registry_of(request), p.str("name", required=True), VersionRef(alias=alias), actor=who
    )
    return {"model_version": tr.model_version(v, svc.registry.model_ids([v]).get(v.id))}


# -- model versions ----------------------------------------------------------------------------------


@router.post("/model-versions/create")
def create_model_version(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    v = svc.registry.create_version(
        who,
        registry_of(request),
        p.str("name", required=True),
        source=p.str("source", required=True),
        run_id=p.str("run_id"),
        run_link=p.str("run_link"),
        description=p.str("description"),
        tags=p.tags(),
        model_id=p.str("model_id"),
    )
    return {"model_version": tr.model_version(v, p.str("model_id") or None)}


@router.patch("/model-versions/update")
def update_model_version(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry, name, number = registry_of(request), p.str("name", required=True), p.version()
    svc.core.registry.update_version(who, registry, name, number, description=p.opt("description"))
    return {"model_version": _version(svc, who, registry, name, number)}


@router.post("/model-versions/transition-stage")
def transition_model_version_stage(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    registry, name, number = registry_of(request), p.str("name", required=True), p.version()
    stage = canonical_stage(p.str("stage", required=True))
    svc.core.registry.set_stage(
        who,
        registry,
        name,
        number,
        stage,
        archive_existing=p.bool("archive_existing_versions", required=True),
    )
    return {"model_version": _version(svc, who, registry, name, number)}


@router.delete("/model-versions/delete")
def delete_model_version(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.core.registry.delete_version(who, registry_of(request), p.str("name", required=True), p.version())
    return {}


@router.get("/model-versions/get")
def get_model_version(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    return {"model_version": _version(svc, who, registry_of(request), p.str("name", required=True), p.version())}


@router.get("/model-versions/search")
def search_model_versions(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    limit = p.int("max_results", default=MAX_VERSION_RESULTS)
    if not 1 <= limit <= MAX_VERSION_RESULTS:
        raise_invalid("max_results", f"must be between 1 and {MAX_VERSION_RESULTS}")
    versions, next_offset = svc.registry.search_versions(
        who,
        registry_of(request),
        clauses=parse_filter(p.opt("filter"), numeric_attributes=("version_number",)),
        order_by=parse_order_by(
            p.list("order_by"),
            allowed=VERSION_ORDER_KEYS,
            aliases={"timestamp": "creation_timestamp", "version": "version_number"},
        ),
        offset=decode_offset(p.opt("page_token")),
        limit=limit,
    )
    ids = svc.registry.model_ids(versions)
    out: dict[str, Any] = {"model_versions": [tr.model_version(v, ids.get(v.id)) for v in versions]} if versions else {}
    token = encode_offset(next_offset)
    if token:
        out["next_page_token"] = token
    return out


@router.get("/model-versions/get-download-uri")
def get_model_version_download_uri(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    v = svc.core.registry.get_version(
        registry_of(request), p.str("name", required=True), VersionRef(number=p.version()), actor=who
    )
    return {"artifact_uri": svc.registry.download_uri(v)}


@router.post("/model-versions/set-tag")
def set_model_version_tag(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.core.registry.set_version_tag(
        who,
        registry_of(request),
        p.str("name", required=True),
        p.version(),
        p.str("key", required=True),
        p.str("value", required=True) if p.raw("value") is None else p.str("value"),
    )
    return {}


@router.delete("/model-versions/delete-tag")
def delete_model_version_tag(
    request: Request,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.registry.unset_version_tag(
        who, registry_of(request), p.str("name", required=True), p.version(), p.str("key", required=True)
    )
    return {}


def raise_invalid(field: str, why: str) -> None:
    from modelyard.errors import InvalidArgumentError

    raise InvalidArgumentError(f"Invalid value for parameter '{field}': {why}", field=field)
