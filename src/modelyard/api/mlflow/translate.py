"""modelyard entities -> MLflow JSON (proto field names, int64 as JSON numbers, enums as names),
and MLflow request values -> modelyard values. Epoch milliseconds exist only here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.datastructures import QueryParams

from modelyard.domain.actor import LOCAL
from modelyard.domain.inputs import MAX_VERSION_NUMBER, check_data, check_int64, parse_json
from modelyard.domain.models import Version
from modelyard.errors import InvalidArgumentError, NonFiniteNumberError
from modelyard.services.mlflow_artifacts import ArtifactEntry
from modelyard.services.mlflow_registry import RegisteredModel
from modelyard.services.tracking import Experiment, LoggedModel, MetricPoint, Run

# -- time ------------------------------------------------------------------------------------------


def ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp() * 1000)


def from_ms(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidArgumentError(
            f"invalid timestamp '{str(value)[:40]}': use epoch milliseconds", field="timestamp"
        ) from exc


# -- requests ----------------------------------------------------------------------------------------


class Params:
    """The fields of one MLflow request: the query string (GET) merged with the JSON body.

    The readers are the adapter's one door for values: integers are signed 64-bit
    (``OutOfRangeError``), strings are storable text (checked for the whole body and query by
    ``read_params``), and a string parameter sent as a NaN/Infinity token is refused (MLflow's
    parameters are strings; only metric values may be non-finite).
    """

    def __init__(self, query: QueryParams, body: dict[str, Any]) -> None:
        self._query = query
        self._body = body

    def raw(self, name: str) -> Any:
        if name in self._body:
            return self._body[name]
        return self._query.get(name)

    def str(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self.raw(name)
        if value is None or (required and value == ""):
            if required:
                raise InvalidArgumentError(f"Missing value for required parameter '{name}'.", field=name)
            return default
        return as_str(value, field=name)

    def opt(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else self.str(name)

    def list(self, name: str) -> list[Any]:
        if name in self._body:
            value = self._body[name]
            if value is None:
                return []
            if not isinstance(value, list):
                raise InvalidArgumentError(f"Invalid value for parameter '{name}': expected a list", field=name)
            return value
        return list(self._query.getlist(name))

    def bool(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            if required:
                raise InvalidArgumentError(f"Missing value for required parameter '{name}'.", field=name)
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise InvalidArgumentError(f"Invalid value for parameter '{name}': expected true or false", field=name)

    def int(self, name: str, *, default: int | None = None, required: bool = False) -> int:
        value = self.raw(name)
        if value is None or value == "":
            if required or default is None:
                raise InvalidArgumentError(f"Missing value for required parameter '{name}'.", field=name)
            return default
        return as_int(value, field=name)

    def version(self, name: str = "version") -> int:
        """An integer, as MLflow parses it; numbers no version has (``0``, ``-1``) are not found."""
        text = self.str(name, required=True)
        digits = text.removeprefix("-")
        if not digits.isascii() or not digits.isdigit():
            raise InvalidArgumentError(
                f"Parameter '{name}' must be an integer version number, got '{text[:40]}'", field=name
            )
        number = int(text)
        if number < 1:
            return 0  # no version has it, whatever the database: 404, as MLflow
        return check_int64(number, field=name, high=MAX_VERSION_NUMBER)  # past a 32-bit column: 400

    def tags(self, name: str = "tags") -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.list(name):
            if not isinstance(item, dict) or "key" not in item:
                raise InvalidArgumentError(
                    f"Invalid value for parameter '{name}': expected {{key, value}} items", field=name
                )
            value = item.get("value")
            out[as_str(item["key"], field=f"{name}.key")] = (
                "" if value is None else as_str(value, field=f"{name}.value")
            )
        return out


def as_str(value: Any, *, field: str) -> str:
    """An MLflow string field: a JSON string, or a number MLflow clients may send unquoted.

    A ``NaN``/``Infinity`` token is refused (``NonFiniteNumberError``): MLflow's string fields
    cannot hold one, and ``str(nan)`` would silently store ``"nan"``.
    """
    if isinstance(value, (dict, list, bool)):
        raise InvalidArgumentError(f"Invalid value for parameter '{field}': expected a string", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise NonFiniteNumberError(
            f"Invalid value for parameter '{field}': {value!r} is not a string or a finite number", field=field
        )
    return str(value)


def as_int(value: Any, *, field: str) -> int:
    """An MLflow int32/int64 field (a JSON number or a numeric string) as a signed 64-bit integer."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"Invalid value for parameter '{field}': expected an integer", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(float('inf'))
        raise InvalidArgumentError(f"Invalid value for parameter '{field}': expected an integer", field=field) from exc
    return check_int64(number, field=field)


async def read_params(request: Request) -> Params:
    """FastAPI dependency: parse the JSON body (also a double-encoded JSON string) and the query.

    The body's nesting is bounded before parsing, and every string (keys too) and integer in
    it must pass the input rules (``domain/inputs.py``; the URL is checked by ``MlflowRoute``). Floats may be
    NaN or Infinity here: metric values can be (as in MLflow); ``Params.str`` refuses them.
    """
    body: Any = {}
    if request.method in ("POST", "PATCH", "DELETE", "PUT"):
        raw = await request.body()
        if raw.strip():
            body = parse_json(raw)
            if isinstance(body, str):
                body = parse_json(body)
            if not isinstance(body, dict):
                raise InvalidArgumentError("request body must be a JSON object", field="body")
            check_data(body, field="", allow_non_finite=True)
    return Params(request.query_params, body)


# -- registry ------------------------------------------------------------------------------------------


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _user_id(created_by: str) -> str:
    """MLflow's ``user_id``: empty (left out) unless an authenticated principal made the change."""
    return "" if created_by == LOCAL.name else created_by


def model_version(v: Version, model_id: str | None = None, *, aliases: bool = True) -> dict[str, Any]:
    """A ModelVersion as MLflow's server writes it: proto2 JSON, so ``description``, ``run_id`` and
    ``run_link`` are always present (``''`` when empty) and empty lists are left out.
    ``aliases=False`` for ``latest_versions``, where MLflow leaves them out."""
    md = v.metadata
    out: dict[str, Any] = {
        "name": v.collection,
        "version": str(v.number),
        "creation_timestamp": ms(v.created_at),
        "last_updated_timestamp": ms(v.updated_at),
    }
    if user := _user_id(v.created_by):
        out["user_id"] = user
    out.update(
        current_stage=v.stage,
        description=md.description or "",
        source=md.source,
        run_id=md.run.id or "",
        status="READY",
        run_link=md.run.url or "",
    )
    if md.tags:
        out["tags"] = _tags(md.tags)
    if aliases and v.aliases:
        out["aliases"] = list(v.aliases)
    if model_id:
        out["model_id"] = model_id
    if md.params:
        out["model_params"] = [{"name": k, "value": str(val)} for k, val in md.params.items()]
    return out


def registered_model(rm: RegisteredModel, model_ids: dict[int, str] | None = None) -> dict[str, Any]:
    """A RegisteredModel as MLflow's server writes it: empty lists and fields are left out."""
    c = rm.collection
    out: dict[str, Any] = {
        "name": c.name,
        "creation_timestamp": ms(c.created_at),
        "last_updated_timestamp": ms(c.updated_at),
    }
    if user := _user_id(c.created_by):
        out["user_id"] = user
    if c.description:
        out["description"] = c.description
    if rm.latest_versions:
        out["latest_versions"] = [
            model_version(v, (model_ids or {}).get(v.id), aliases=False) for v in rm.latest_versions
        ]
    if c.tags:
        out["tags"] = _tags(c.tags)
    if c.aliases:
        out["aliases"] = [{"alias": a, "version": str(n)} for a, n in c.aliases.items()]
    return out


# -- tracking --------------------------------------------------------------------------------------------


def experiment(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": ms(e.created_at),
        "last_update_time": ms(e.updated_at),
        "tags": _tags(e.tags),
    }


def metric(m: MetricPoint) -> dict[str, Any]:
    out: dict[str, Any] = {"key": m.key, "value": m.value, "timestamp": ms(m.at), "step": m.step}
    if m.value != m.value:
        out["value"] = "NaN"
    for k in ("model_id", "dataset_name", "dataset_digest", "run_id"):
        if getattr(m, k):
            out[k] = getattr(m, k)
    return out


def run(r: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": r.experiment_id,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": ms(r.start_time),
        "artifact_uri": r.artifact_uri,
        "lifecycle_stage": r.lifecycle_stage,
    }
    if r.end_time is not None:
        info["end_time"] = ms(r.end_time)
    dataset_inputs = [
        {k: v for k, v in i.items() if k in ("tags", "dataset")} for i in r.inputs if i.get("kind") == "dataset"
    ]
    model_inputs = [{"model_id": i["model_id"]} for i in r.inputs if i.get("kind") == "model"]
    model_outputs = [
        {"model_id": o["model_id"], "step": int(o.get("step", 0) or 0)} for o in r.outputs if o.get("kind") == "model"
    ]
    return {
        "info": info,
        "data": {
            "metrics": [metric(m) for m in r.metrics],
            "params": [{"key": k, "value": v} for k, v in r.params.items()],
            "tags": _tags(r.tags),
        },
        "inputs": {"dataset_inputs": dataset_inputs, "model_inputs": model_inputs},
        "outputs": {"model_outputs": model_outputs},
    }


def logged_model(m: LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "creation_timestamp_ms": ms(m.created_at),
        "last_updated_timestamp_ms": ms(m.updated_at),
        "artifact_uri": m.artifact_location,
        "status": m.status,
        "tags": _tags(m.tags),
    }
    if m.source_run_id:
        info["source_run_id"] = m.source_run_id
    if m.model_type:
        info["model_type"] = m.model_type
    if m.status_message:
        info["status_message"] = m.status_message
    return {
        "info": info,
        "data": {
            "params": [{"key": k, "value": v} for k, v in m.params.items()],
            "metrics": [metric(x) for x in m.metrics],
        },
    }


def artifact_entry(e: ArtifactEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"path": e.name, "is_dir": e.is_dir}
    if e.size is not None:
        out["file_size"] = e.size
    return out
