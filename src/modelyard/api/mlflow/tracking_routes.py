"""The part of MLflow's tracking API (``MlflowService``) that the common MLflow flows need, so
modelyard can be the only server: experiments, runs, params, metrics, tags, inputs/outputs and
logged models. Thin: parse, call ``TrackingService``, translate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends

from modelyard.api.deps import actor
from modelyard.domain.actor import Actor
from modelyard.domain.inputs import parse_json
from modelyard.errors import InvalidArgumentError
from modelyard.services.tracking import MetricPoint

from . import translate as tr
from .errors import MlflowRoute
from .filters import decode_offset, encode_offset, parse_filter, parse_order_by
from .routes import MlflowServices, mlflow_services
from .translate import Params, read_params

router = APIRouter(route_class=MlflowRoute)
EXPERIMENT_ORDER_KEYS = ("name", "experiment_id", "creation_time", "last_update_time")


def _page(out: dict[str, Any], next_offset: int | None) -> dict[str, Any]:
    token = encode_offset(next_offset)
    if token:
        out["next_page_token"] = token
    return out


# -- experiments -------------------------------------------------------------------------------------


@router.post("/experiments/create")
def create_experiment(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    eid = svc.tracking.create_experiment(
        who, p.str("name", required=True), artifact_location=p.opt("artifact_location") or None, tags=p.tags()
    )
    return {"experiment_id": eid}


@router.get("/experiments/get")
def get_experiment(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    return {"experiment": tr.experiment(svc.tracking.get_experiment(who, p.str("experiment_id", required=True)))}


@router.get("/experiments/get-by-name")
def get_experiment_by_name(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    return {
        "experiment": tr.experiment(svc.tracking.get_experiment_by_name(who, p.str("experiment_name", required=True)))
    }


@router.api_route("/experiments/search", methods=["GET", "POST"])
def search_experiments(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    experiments, nxt = svc.tracking.search_experiments(
        who,
        view=p.str("view_type", default="ACTIVE_ONLY") or "ACTIVE_ONLY",
        clauses=parse_filter(p.opt("filter")),
        order_by=parse_order_by(p.list("order_by"), allowed=EXPERIMENT_ORDER_KEYS),
        offset=decode_offset(p.opt("page_token")),
        limit=p.int("max_results", default=1000),
    )
    return _page({"experiments": [tr.experiment(e) for e in experiments]}, nxt)


@router.post("/experiments/delete")
def delete_experiment(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_experiment_lifecycle(who, p.str("experiment_id", required=True), deleted=True)
    return {}


@router.post("/experiments/restore")
def restore_experiment(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_experiment_lifecycle(who, p.str("experiment_id", required=True), deleted=False)
    return {}


@router.post("/experiments/update")
def update_experiment(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.update_experiment(who, p.str("experiment_id", required=True), new_name=p.str("new_name"))
    return {}


@router.post("/experiments/set-experiment-tag")
def set_experiment_tag(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_experiment_tag(
        who, p.str("experiment_id", required=True), p.str("key", required=True), p.str("value")
    )
    return {}


@router.post("/experiments/delete-experiment-tag")
def delete_experiment_tag(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.delete_experiment_tag(who, p.str("experiment_id", required=True), p.str("key", required=True))
    return {}


# -- runs ---------------------------------------------------------------------------------------------


def _run_id(p: Params) -> str:
    return p.str("run_id") or p.str("run_uuid", required=True)


@router.post("/runs/create")
def create_run(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    run = svc.tracking.create_run(
        who,
        p.str("experiment_id", default="0") or "0",
        user_id=p.str("user_id"),
        run_name=p.str("run_name"),
        start_time=tr.from_ms(p.raw("start_time")),
        tags=p.tags(),
    )
    return {"run": tr.run(run)}


@router.get("/runs/get")
def get_run(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    return {"run": tr.run(svc.tracking.get_run(who, _run_id(p)))}


@router.post("/runs/update")
def update_run(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    run = svc.tracking.update_run(
        who, _run_id(p), status=p.opt("status"), end_time=tr.from_ms(p.raw("end_time")), run_name=p.opt("run_name")
    )
    return {"run_info": tr.run(run)["info"]}


@router.post("/runs/delete")
def delete_run(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_run_lifecycle(who, _run_id(p), deleted=True)
    return {}


@router.post("/runs/restore")
def restore_run(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_run_lifecycle(who, _run_id(p), deleted=False)
    return {}


def _metric(item: Any) -> MetricPoint:
    if not isinstance(item, dict) or "key" not in item:
        raise InvalidArgumentError("each metric needs a key, a value and a timestamp", field="metrics")
    raw = item.get("value")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, type(None))):
        raise InvalidArgumentError(f"metric '{item['key']}' needs a numeric value", field="metrics")
    try:
        # NaN and +/-Infinity are metric values in MLflow (JSON tokens or strings); the tracking
        # service stores them as MLflow's SQL store does.
        value = float("nan") if raw is None else float(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidArgumentError(f"metric '{item['key']}' needs a numeric value", field="metrics") from exc
    at = tr.from_ms(item.get("timestamp")) or datetime.now(UTC)
    step = tr.as_int(item.get("step") or 0, field="step")
    return MetricPoint(
        key=str(item["key"]),
        value=value,
        at=at,
        step=step,
        model_id=item.get("model_id") or None,
        dataset_name=item.get("dataset_name") or None,
        dataset_digest=item.get("dataset_digest") or None,
    )


def _pairs(items: list[Any], field: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise InvalidArgumentError(f"each of {field} needs a key and a value", field=field)
        value = item.get("value")
        out.append(
            (tr.as_str(item["key"], field=f"{field}.key"), "" if value is None else tr.as_str(value, field=field))
        )
    return out


@router.post("/runs/log-metric")
def log_metric(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    item = {k: p.raw(k) for k in ("key", "value", "timestamp", "step", "model_id", "dataset_name", "dataset_digest")}
    svc.tracking.log_batch(who, _run_id(p), metrics=[_metric(item)])
    return {}


@router.post("/runs/log-parameter")
def log_param(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.log_batch(who, _run_id(p), params=[(p.str("key", required=True), p.str("value"))])
    return {}


@router.post("/runs/set-tag")
def set_tag(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.log_batch(who, _run_id(p), tags=[(p.str("key", required=True), p.str("value"))])
    return {}


@router.post("/runs/delete-tag")
def delete_tag(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.delete_run_tag(who, _run_id(p), p.str("key", required=True))
    return {}


@router.post("/runs/log-batch")
def log_batch(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.log_batch(
        who,
        _run_id(p),
        metrics=[_metric(m) for m in p.list("metrics")],
        params=_pairs(p.list("params"), "params"),
        tags=_pairs(p.list("tags"), "tags"),
    )
    return {}


@router.post("/runs/log-model")
def log_model(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    """Legacy: MLflow appends the model's MLmodel JSON to the run tag ``mlflow.log-model.history``."""
    run = svc.tracking.get_run(who, _run_id(p))
    # Both are JSON inside a string, so the body's depth check did not see them: parse bounded.
    model = parse_json(p.str("model_json", required=True), field="model_json")
    history = parse_json(run.tags.get("mlflow.log-model.history", "[]"), field="mlflow.log-model.history")
    if not isinstance(model, dict) or not isinstance(history, list):
        raise InvalidArgumentError("model_json must be a JSON object", field="model_json")
    history.append(model)
    svc.tracking.log_batch(who, run.id, tags=[("mlflow.log-model.history", json.dumps(history))])
    return {}


@router.post("/runs/log-inputs")
def log_inputs(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    run_id = _run_id(p)
    svc.tracking.log_io(who, run_id, direction="input", kind="dataset", items=p.list("datasets"))
    svc.tracking.log_io(who, run_id, direction="input", kind="model", items=p.list("models"))
    return {}


@router.post("/runs/outputs")
def log_outputs(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.log_io(who, _run_id(p), direction="output", kind="model", items=p.list("models"))
    return {}


@router.api_route("/runs/search", methods=["GET", "POST"])
def search_runs(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    runs, nxt = svc.tracking.search_runs(
        who,
        experiment_ids=[str(e) for e in p.list("experiment_ids")],
        view=p.str("run_view_type", default="ACTIVE_ONLY") or "ACTIVE_ONLY",
        clauses=parse_filter(p.opt("filter")),
        offset=decode_offset(p.opt("page_token")),
        limit=p.int("max_results", default=1000),
    )
    return _page({"runs": [tr.run(r) for r in runs]}, nxt)


@router.get("/metrics/get-history")
def get_metric_history(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    points = svc.tracking.metric_history(who, _run_id(p), p.str("metric_key", required=True))
    return {"metrics": [tr.metric(m) for m in points]}


# -- logged models ------------------------------------------------------------------------------------


@router.post("/logged-models")
def create_logged_model(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    model = svc.tracking.create_logged_model(
        who,
        p.str("experiment_id", required=True),
        name=p.str("name"),
        source_run_id=p.opt("source_run_id"),
        model_type=p.opt("model_type"),
        params=dict(_pairs(p.list("params"), "params")),
        tags=p.tags(),
    )
    return {"model": tr.logged_model(model)}


@router.post("/logged-models/search")
def search_logged_models(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    models, nxt = svc.tracking.search_logged_models(
        who,
        experiment_ids=[str(e) for e in p.list("experiment_ids")],
        clauses=parse_filter(p.opt("filter")),
        offset=decode_offset(p.opt("page_token")),
        limit=p.int("max_results", default=100),
    )
    return _page({"models": [tr.logged_model(m) for m in models]}, nxt)


@router.get("/logged-models/{model_id}")
def get_logged_model(
    model_id: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    model = svc.tracking.get_logged_model(who, model_id, allow_deleted=p.bool("allow_deleted"))
    return {"model": tr.logged_model(model)}


@router.patch("/logged-models/{model_id}")
def finalize_logged_model(
    model_id: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    model = svc.tracking.finalize_logged_model(who, model_id, status=p.str("status", required=True))
    return {"model": tr.logged_model(model)}


@router.delete("/logged-models/{model_id}")
def delete_logged_model(
    model_id: str, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.delete_logged_model(who, model_id)
    return {}


@router.patch("/logged-models/{model_id}/tags")
def set_logged_model_tags(
    model_id: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.tracking.set_logged_model_tags(who, model_id, p.tags())
    return {}


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
def delete_logged_model_tag(
    model_id: str, tag_key: str, svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.delete_logged_model_tag(who, model_id, tag_key)
    return {}


@router.post("/logged-models/{model_id}/params")
def log_logged_model_params(
    model_id: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    svc.tracking.log_logged_model_params(who, model_id, dict(_pairs(p.list("params"), "params")))
    return {}


@router.get("/logged-models/{model_id}/artifacts/directories")
def list_logged_model_artifacts(
    model_id: str,
    p: Params = Depends(read_params),
    svc: MlflowServices = Depends(mlflow_services),
    who: Actor = Depends(actor),
) -> dict[str, Any]:
    model = svc.tracking.get_logged_model(who, model_id)
    root = model.artifact_location.removeprefix("mlflow-artifacts:").strip("/")
    sub = p.str("artifact_directory_path").strip("/")
    entries = svc.artifacts.list(who, f"{root}/{sub}" if sub else root)
    return {
        "root_uri": model.artifact_location,
        "files": [tr.artifact_entry(e) | {"path": f"{sub}/{e.name}" if sub else e.name} for e in entries],
    }


# -- experiment permissions (the routes of MLflow's basic-auth app) ----------------------------------


def _holder(p: Params) -> dict[str, str | None]:
    """MLflow names a user (``username``); modelyard also accepts a ``team``."""
    return {"principal": p.opt("username") or None, "team": p.opt("team") or None}


def _permission_out(p: Params, permission: str) -> dict[str, Any]:
    holder = {"team": p.opt("team")} if p.opt("team") else {"username": p.opt("username")}
    return {"experiment_permission": {"experiment_id": p.str("experiment_id"), **holder, "permission": permission}}


@router.post("/experiments/permissions/create")
def create_experiment_permission(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    permission = p.str("permission", required=True)
    svc.tracking.set_experiment_permission(
        who, p.str("experiment_id", required=True), **_holder(p), permission=permission
    )
    return _permission_out(p, permission)


@router.get("/experiments/permissions/get")
def get_experiment_permission(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    permission = svc.tracking.get_experiment_permission(who, p.str("experiment_id", required=True), **_holder(p))
    return _permission_out(p, permission)


@router.patch("/experiments/permissions/update")
def update_experiment_permission(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.set_experiment_permission(
        who, p.str("experiment_id", required=True), **_holder(p), permission=p.str("permission", required=True)
    )
    return {}


@router.delete("/experiments/permissions/delete")
def delete_experiment_permission(
    p: Params = Depends(read_params), svc: MlflowServices = Depends(mlflow_services), who: Actor = Depends(actor)
) -> dict[str, Any]:
    svc.tracking.delete_experiment_permission(who, p.str("experiment_id", required=True), **_holder(p))
    return {}
