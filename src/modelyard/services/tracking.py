"""Use cases of the MLflow tracking API that modelyard serves so MLflow code needs no other server:
experiments, runs (params, metrics, tags, inputs and outputs) and logged models.

Each public method is one unit of work over a ``TrackingDatabase``. Tracking data is working
data, not governed registry state: it is not written to the event log (registrations made
from it are, through ``RegistryService``). Imports ``storage.interfaces`` only.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelyard.domain.actor import LOCAL, Actor
from modelyard.domain.experiment_permissions import ExperimentAction, check_permission
from modelyard.domain.inputs import check_int64
from modelyard.domain.names import validate_file_path
from modelyard.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    LoggedModelNotFoundError,
    NotFoundError,
    RunNotFoundError,
)
from modelyard.storage.interfaces import Clause, TrackingDatabase, TrackingStore

from .experiment_access import (
    ARTIFACT_SCHEME,
    ExperimentAccess,
    ExperimentNotFoundError,
    location_path,
    missing_experiment,
    overlaps,
)
from .registry import utcnow

READ, EDIT, MANAGE = ExperimentAction.READ, ExperimentAction.EDIT, ExperimentAction.MANAGE

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
LOGGED_MODEL_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
VIEW_STAGES = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}
MAX_PARAM_VALUE = 6000
MAX_KEY = 250
MAX_TAG_VALUE = 8000
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_RESULTS = 50_000


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    key: str
    value: float
    at: datetime
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    experiment_id: str
    name: str
    user_id: str
    status: str
    start_time: datetime | None
    end_time: datetime | None
    lifecycle_stage: str
    artifact_uri: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[MetricPoint]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    status: str
    status_message: str | None
    source_run_id: str | None
    model_type: str | None
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[MetricPoint]


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or "\x00" in key:
        raise InvalidArgumentError(f"invalid {what} key '{str(key)[:80]}': 1-{MAX_KEY} characters", field=what)
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidArgumentError(f"invalid {what} key '{key[:80]}'", field=what)
    return key


def _check_value(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} value must be a string", field=what)
    if len(value) > limit:
        raise InvalidArgumentError(f"{what} value is {len(value)} characters; at most {limit}", field=what)
    return value


def _experiment_pk(experiment_id: str) -> int:
    try:
        pk = int(experiment_id)
    except (TypeError, ValueError):
        raise missing_experiment(experiment_id) from None
    if pk < 0:
        raise missing_experiment(experiment_id)
    return check_int64(pk, field="experiment_id")


def _metric(row: dict[str, Any], run_id: str | None = None) -> MetricPoint:
    value = row["value"]
    return MetricPoint(
        key=row["key"],
        value=float("nan") if value is None else float(value),
        at=row["at"],
        step=int(row["step"]),
        model_id=row.get("model_id"),
        dataset_name=row.get("dataset_name"),
        dataset_digest=row.get("dataset_digest"),
        run_id=run_id or row.get("run_uuid"),
    )


MAX_METRIC = 1.7976931348623157e308  # the largest double


def stored_metric_value(value: float) -> float | None:
    """MLflow's rule for storing a metric value: NaN is kept as NaN (stored as NULL and returned
    as NaN), +/-Infinity becomes the largest/smallest double (what MLflow's SQL store does, so
    the value survives every backend and JSON)."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return MAX_METRIC if value > 0 else -MAX_METRIC
    return value


def latest_metrics(points: Sequence[MetricPoint]) -> list[MetricPoint]:
    """MLflow's "latest" value per key: the highest (step, timestamp, value)."""
    best: dict[str, MetricPoint] = {}
    for p in points:
        cur = best.get(p.key)
        if cur is None or (p.step, p.at, p.value) >= (cur.step, cur.at, cur.value):
            best[p.key] = p
    return [best[k] for k in sorted(best)]


class TrackingService:
    def __init__(
        self,
        db: TrackingDatabase,
        *,
        access: ExperimentAccess | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._access = access or ExperimentAccess()
        self._clock = clock

    # -- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self, actor: Actor, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        if not isinstance(name, str) or not name.strip() or len(name) > 500:
            raise InvalidArgumentError(
                "experiment name must be a non-empty string of at most 500 characters", field="name"
            )
        if artifact_location and not artifact_location.startswith(ARTIFACT_SCHEME):
            raise InvalidArgumentError(
                "modelyard stores experiment artifacts itself; artifact_location must be empty or mlflow-artifacts:",
                field="artifact_location",
            )
        location = _custom_location(artifact_location) if artifact_location else None
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            if store.find_experiment_by_name(name) is not None:
                raise AlreadyExistsError(f"Experiment '{name}' already exists.", experiment=name)
            if location is not None:
                taken = [location_path(loc) for loc in store.experiment_artifact_locations()]
                if overlaps(location_path(location), taken):
                    raise InvalidArgumentError(
                        f"artifact_location '{location[:200]}' overlaps another experiment's artifact location; "
                        "leave it empty or choose a separate folder",
                        field="artifact_location",
                    )
            eid = store.insert_experiment(name=name, artifact_location=location, now=now)
            for k, v in (tags or {}).items():
                store.set_experiment_tag(eid, _check_key(k, "tag"), _check_value(v, "tag", MAX_TAG_VALUE))
            if actor.id is not None:  # the creator manages it (org admins and auth-off 'local' already do)
                store.set_experiment_permission(eid, principal_id=actor.id, team_id=None, permission="MANAGE", now=now)
        return str(eid)

    def _experiment(
        self, store: TrackingStore, experiment_id: str, actor: Actor | None = None, action: ExperimentAction = READ
    ) -> dict[str, Any]:
        """The experiment, if ``actor`` may do ``action`` on it (None: a trusted internal caller)."""
        row = store.find_experiment(_experiment_pk(experiment_id))
        if row is None:
            raise missing_experiment(experiment_id)
        self._access.require(store, actor, int(row["id"]), action)
        return row

    @staticmethod
    def _experiments(store: TrackingStore, rows: Sequence[dict[str, Any]]) -> list[Experiment]:
        tags = store.experiment_tags([r["id"] for r in rows])
        return [
            Experiment(
                str(r["id"]),
                r["name"],
                r["artifact_location"],
                r["lifecycle_stage"],
                r["created_at"],
                r["updated_at"],
                tags[r["id"]],
            )
            for r in rows
        ]

    def get_experiment(self, actor: Actor | None, experiment_id: str) -> Experiment:
        with self._db.unit_of_work(write=False) as store:
            return self._experiments(store, [self._experiment(store, experiment_id, actor)])[0]

    def get_experiment_by_name(self, actor: Actor | None, name: str) -> Experiment:
        with self._db.unit_of_work(write=False) as store:
            row = store.find_experiment_by_name(name)
            hidden = ExperimentNotFoundError(f"Could not find experiment with name '{name}'", experiment=name)
            if row is None:
                raise hidden
            self._access.require(store, actor, int(row["id"]), READ, hidden=hidden)
            return self._experiments(store, [row])[0]

    def search_experiments(
        self,
        actor: Actor | None,
        *,
        view: str = "ACTIVE_ONLY",
        clauses: Sequence[Clause] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        offset: int = 0,
        limit: int = 1000,
    ) -> tuple[list[Experiment], int | None]:
        stages = VIEW_STAGES.get(view)
        if stages is None:
            raise InvalidArgumentError(f"invalid view_type '{view}'", field="view_type")
        _check_limit(limit)
        with self._db.unit_of_work(write=False) as store:
            rows = store.search_experiments(
                lifecycle_stages=stages,
                clauses=clauses,
                order_by=order_by or [("creation_time", True)],
                offset=offset,
                limit=limit,
                visible_ids=self._access.readable_ids(store, actor),
            )
            more = len(rows) > limit
            return self._experiments(store, rows[:limit]), (offset + limit if more else None)

    def update_experiment(self, actor: Actor, experiment_id: str, *, new_name: str) -> None:
        if not isinstance(new_name, str) or not new_name.strip():
            raise InvalidArgumentError("new_name must be a non-empty string", field="new_name")
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, EDIT)
            other = store.find_experiment_by_name(new_name)
            if other is not None and other["id"] != row["id"]:
                raise AlreadyExistsError(f"Experiment '{new_name}' already exists.", experiment=new_name)
            store.update_experiment(row["id"], now=self._clock(), name=new_name)

    def set_experiment_lifecycle(self, actor: Actor, experiment_id: str, *, deleted: bool) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, MANAGE)
            if deleted and row["id"] == 0:
                raise InvalidArgumentError("the Default experiment (id 0) cannot be deleted", field="experiment_id")
            store.update_experiment(row["id"], now=self._clock(), lifecycle_stage="deleted" if deleted else "active")

    def set_experiment_tag(self, actor: Actor, experiment_id: str, key: str, value: str) -> None:
        _check_key(key, "tag")
        _check_value(value, "tag", MAX_TAG_VALUE)
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, EDIT)
            store.set_experiment_tag(row["id"], key, value)

    def delete_experiment_tag(self, actor: Actor, experiment_id: str, key: str) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, EDIT)
            store.delete_experiment_tag(row["id"], key)

    # -- runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        actor: Actor,
        experiment_id: str,
        *,
        user_id: str = "",
        run_name: str = "",
        start_time: datetime | None = None,
        tags: dict[str, str] | None = None,
    ) -> Run:
        tags = dict(tags or {})
        for k, v in tags.items():
            _check_key(k, "tag")
            _check_value(v, "tag", MAX_TAG_VALUE)
        run_name = run_name or tags.get("mlflow.runName", "") or f"run-{uuid.uuid4().hex[:8]}"
        tags["mlflow.runName"] = run_name
        is_local = actor.name == LOCAL.name and actor.kind == LOCAL.kind
        user = (user_id or actor.name) if is_local else actor.name
        now = self._clock()
        run_uuid = uuid.uuid4().hex
        with self._db.unit_of_work(write=True) as store:
            exp = self._experiment(store, experiment_id, actor, EDIT)
            if exp["lifecycle_stage"] != "active":
                raise InvalidArgumentError(f"experiment {experiment_id} is deleted", field="experiment_id")
            artifact_uri = f"{exp['artifact_location'].rstrip('/')}/{run_uuid}/artifacts"
            pk = store.insert_run(
                run_uuid=run_uuid,
                experiment_id=exp["id"],
                name=run_name,
                user_id=user,
                start_time=start_time or now,
                artifact_uri=artifact_uri,
                now=now,
            )
            for k, v in tags.items():
                store.set_run_tag(pk, k, v)
            return self._runs(store, [store.find_run(run_uuid)])[0]  # type: ignore[list-item]

    def _run(
        self, store: TrackingStore, run_id: str, actor: Actor | None = None, action: ExperimentAction = READ
    ) -> dict[str, Any]:
        """The run, if ``actor`` may do ``action`` on its experiment (a run of an experiment the
        actor may not read answers exactly like a missing run)."""
        row = store.find_run(run_id) if isinstance(run_id, str) else None
        missing = RunNotFoundError(f"Run with id={str(run_id)[:40]} not found", run_id=str(run_id)[:40])
        if row is None:
            raise missing
        self._access.require(store, actor, int(row["experiment_id"]), action, hidden=missing)
        return row

    @staticmethod
    def _runs(store: TrackingStore, rows: Sequence[dict[str, Any]]) -> list[Run]:
        pks = [r["id"] for r in rows]
        params = store.run_params(pks)
        tags = store.run_tags(pks)
        points: dict[int, list[MetricPoint]] = {pk: [] for pk in pks}
        for m in store.run_metrics(pks):
            points[m["run_id"]].append(_metric(m))
        io: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
        for item in store.run_io(pks):
            io[item["run_id"]].append(item)
        exps: dict[int, str] = {}
        out = []
        for r in rows:
            exps.setdefault(r["experiment_id"], str(r["experiment_id"]))
            out.append(
                Run(
                    id=r["run_uuid"],
                    experiment_id=exps[r["experiment_id"]],
                    name=r["name"],
                    user_id=r["user_id"],
                    status=r["status"],
                    start_time=r["start_time"],
                    end_time=r["end_time"],
                    lifecycle_stage=r["lifecycle_stage"],
                    artifact_uri=r["artifact_uri"],
                    params=params[r["id"]],
                    tags=tags[r["id"]],
                    metrics=[
                        MetricPoint(
                            p.key, p.value, p.at, p.step, p.model_id, p.dataset_name, p.dataset_digest, r["run_uuid"]
                        )
                        for p in latest_metrics(points[r["id"]])
                    ],
                    inputs=[dict(i["payload"], kind=i["kind"]) for i in io[r["id"]] if i["direction"] == "input"],
                    outputs=[dict(i["payload"], kind=i["kind"]) for i in io[r["id"]] if i["direction"] == "output"],
                )
            )
        return out

    def get_run(self, actor: Actor | None, run_id: str) -> Run:
        with self._db.unit_of_work(write=False) as store:
            return self._runs(store, [self._run(store, run_id, actor)])[0]

    def update_run(
        self,
        actor: Actor,
        run_id: str,
        *,
        status: str | None = None,
        end_time: datetime | None = None,
        run_name: str | None = None,
    ) -> Run:
        fields: dict[str, Any] = {}
        if status:
            if status not in RUN_STATUSES:
                raise InvalidArgumentError(f"invalid run status '{status[:20]}'", field="status")
            fields["status"] = status
        if end_time is not None:
            fields["end_time"] = end_time
        if run_name:
            fields["name"] = run_name
        with self._db.unit_of_work(write=True) as store:
            row = self._run(store, run_id, actor, EDIT)
            self._check_active(row)
            if fields:
                store.update_run(row["id"], now=self._clock(), **fields)
            if run_name:
                store.set_run_tag(row["id"], "mlflow.runName", run_name)
            return self._runs(store, [self._run(store, run_id)])[0]

    @staticmethod
    def _check_active(row: dict[str, Any]) -> None:
        if row["lifecycle_stage"] != "active":
            raise InvalidArgumentError(
                f"The run {row['run_uuid']} must be in the 'active' state. Current state is deleted.",
                field="run_id",
            )

    def set_run_lifecycle(self, actor: Actor, run_id: str, *, deleted: bool) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._run(store, run_id, actor, MANAGE)
            store.update_run(row["id"], now=self._clock(), lifecycle_stage="deleted" if deleted else "active")

    def search_runs(
        self,
        actor: Actor | None,
        *,
        experiment_ids: Sequence[str],
        view: str = "ACTIVE_ONLY",
        offset: int = 0,
        limit: int = 1000,
        clauses: Sequence[Clause] = (),
    ) -> tuple[list[Run], int | None]:
        """Runs of the experiments matching every clause, newest first."""
        stages = VIEW_STAGES.get(view)
        if stages is None:
            raise InvalidArgumentError(f"invalid run_view_type '{view}'", field="run_view_type")
        _check_limit(limit)
        pks = [_experiment_pk(e) for e in experiment_ids]
        with self._db.unit_of_work(write=False) as store:
            pks = self._readable(store, actor, pks)
            rows = store.search_runs(experiment_ids=pks, lifecycle_stages=stages, offset=0, limit=MAX_RESULTS)
            runs = self._runs(store, rows)
        if clauses:
            runs = [r for r in runs if all(_run_matches(r, c) for c in clauses)]
        page = runs[offset : offset + limit]
        return page, (offset + limit if len(runs) > offset + limit else None)

    def log_batch(
        self,
        actor: Actor,
        run_id: str,
        *,
        metrics: Sequence[MetricPoint] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Params are write-once (a different value for an existing key is refused); tags upsert."""
        if len(metrics) > MAX_BATCH_METRICS or len(params) > MAX_BATCH_PARAMS or len(tags) > MAX_BATCH_TAGS:
            raise InvalidArgumentError(
                f"a batch holds at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and "
                f"{MAX_BATCH_TAGS} tags",
                field="batch",
            )
        for m in metrics:
            _check_key(m.key, "metric")
        new_params: dict[str, str] = {}
        for k, v in params:
            _check_key(k, "param")
            v = _check_value(v, "param", MAX_PARAM_VALUE)
            if k in new_params and new_params[k] != v:
                raise InvalidArgumentError(f"param '{k}' is given twice with different values", field="params")
            new_params[k] = v
        for k, v in tags:
            _check_key(k, "tag")
            _check_value(v, "tag", MAX_TAG_VALUE)
        with self._db.unit_of_work(write=True) as store:
            row = self._run(store, run_id, actor, EDIT)
            self._check_active(row)
            fresh = []
            for k, v in new_params.items():
                old = store.find_run_param(row["id"], k)
                if old is None:
                    fresh.append((k, v))
                elif old != v:
                    raise InvalidArgumentError(
                        f"Changing param values is not allowed. Param with key='{k}' was already logged with "
                        f"value='{old}' for run ID='{run_id}'. Attempted logging new value '{v}'.",
                        field="params",
                    )
            store.insert_run_params(row["id"], fresh)
            for k, v in tags:
                store.set_run_tag(row["id"], k, v)
                if k == "mlflow.runName":
                    store.update_run(row["id"], now=self._clock(), name=v)
            store.insert_run_metrics(
                row["id"],
                [
                    {
                        "key": m.key,
                        "value": stored_metric_value(m.value),
                        "at": m.at,
                        "step": m.step,
                        "model_id": m.model_id,
                        "dataset_name": m.dataset_name,
                        "dataset_digest": m.dataset_digest,
                    }
                    for m in metrics
                ],
            )

    def delete_run_tag(self, actor: Actor, run_id: str, key: str) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._run(store, run_id, actor, EDIT)
            self._check_active(row)
            if not store.delete_run_tag(row["id"], key):
                raise NotFoundError(f"No tag with name: {key} in run with id {run_id}", tag=key)

    def metric_history(self, actor: Actor | None, run_id: str, key: str) -> list[MetricPoint]:
        with self._db.unit_of_work(write=False) as store:
            row = self._run(store, run_id, actor)
            return [_metric(m, run_id) for m in store.run_metrics([row["id"]], key=key)]

    def log_io(self, actor: Actor, run_id: str, *, direction: str, kind: str, items: Sequence[dict[str, Any]]) -> None:
        """Record dataset inputs, model inputs or model outputs of a run (as MLflow sends them)."""
        with self._db.unit_of_work(write=True) as store:
            row = self._run(store, run_id, actor, EDIT)
            for item in items:
                if kind == "model":  # a model input or output must be one the actor may read
                    self._logged_model(store, str(item.get("model_id", "")), actor, allow_deleted=True)
                store.insert_run_io(row["id"], direction=direction, kind=kind, payload=dict(item))

    # -- logged models -----------------------------------------------------------------------------

    def create_logged_model(
        self,
        actor: Actor,
        experiment_id: str,
        *,
        name: str = "",
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        name = name or f"model-{model_id[2:10]}"
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            exp = self._experiment(store, experiment_id, actor, EDIT)
            if source_run_id:
                self._run(store, source_run_id, actor)
            location = f"{exp['artifact_location'].rstrip('/')}/models/{model_id}/artifacts"
            pk = store.insert_logged_model(
                model_id=model_id,
                experiment_id=exp["id"],
                name=name,
                source_run_id=source_run_id or None,
                model_type=model_type or None,
                status="LOGGED_MODEL_PENDING",
                status_message=None,
                artifact_location=location,
                lifecycle_stage="active",
                created_at=now,
                updated_at=now,
            )
            for k, v in (params or {}).items():
                store.set_logged_model_param(pk, _check_key(k, "param"), _check_value(v, "param", MAX_PARAM_VALUE))
            for k, v in (tags or {}).items():
                store.set_logged_model_tag(pk, _check_key(k, "tag"), _check_value(v, "tag", MAX_TAG_VALUE))
            return self._logged_models(store, [store.find_logged_model(model_id)])[0]  # type: ignore[list-item]

    def _logged_model(
        self,
        store: TrackingStore,
        model_id: str,
        actor: Actor | None = None,
        action: ExperimentAction = READ,
        *,
        allow_deleted: bool = False,
    ) -> dict[str, Any]:
        row = store.find_logged_model(model_id) if isinstance(model_id, str) else None
        missing = LoggedModelNotFoundError(
            f"Logged model with ID '{str(model_id)[:80]}' not found.", model_id=str(model_id)[:80]
        )
        if row is None or (row["lifecycle_stage"] != "active" and not allow_deleted):
            raise missing
        self._access.require(store, actor, int(row["experiment_id"]), action, hidden=missing)
        return row

    @staticmethod
    def _logged_models(store: TrackingStore, rows: Sequence[dict[str, Any]]) -> list[LoggedModel]:
        pks = [r["id"] for r in rows]
        params = store.logged_model_params(pks)
        tags = store.logged_model_tags(pks)
        return [
            LoggedModel(
                model_id=r["model_id"],
                experiment_id=str(r["experiment_id"]),
                name=r["name"],
                artifact_location=r["artifact_location"],
                status=r["status"],
                status_message=r["status_message"],
                source_run_id=r["source_run_id"],
                model_type=r["model_type"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                tags=tags[r["id"]],
                params=params[r["id"]],
                metrics=[_metric(m) for m in store.metrics_of_logged_model(r["model_id"])],
            )
            for r in rows
        ]

    def get_logged_model(self, actor: Actor | None, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        with self._db.unit_of_work(write=False) as store:
            row = self._logged_model(store, model_id, actor, allow_deleted=allow_deleted)
            return self._logged_models(store, [row])[0]

    def finalize_logged_model(self, actor: Actor, model_id: str, *, status: str) -> LoggedModel:
        if status not in LOGGED_MODEL_STATUSES:
            raise InvalidArgumentError(f"invalid logged model status '{str(status)[:40]}'", field="status")
        with self._db.unit_of_work(write=True) as store:
            row = self._logged_model(store, model_id, actor, EDIT)
            store.update_logged_model(row["id"], now=self._clock(), status=status)
            return self._logged_models(store, [self._logged_model(store, model_id)])[0]

    def delete_logged_model(self, actor: Actor, model_id: str) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._logged_model(store, model_id, actor, MANAGE)
            store.update_logged_model(row["id"], now=self._clock(), lifecycle_stage="deleted")

    def set_logged_model_tags(self, actor: Actor, model_id: str, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            _check_key(k, "tag")
            _check_value(v, "tag", MAX_TAG_VALUE)
        with self._db.unit_of_work(write=True) as store:
            row = self._logged_model(store, model_id, actor, EDIT)
            for k, v in tags.items():
                store.set_logged_model_tag(row["id"], k, v)
            store.update_logged_model(row["id"], now=self._clock())

    def delete_logged_model_tag(self, actor: Actor, model_id: str, key: str) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._logged_model(store, model_id, actor, EDIT)
            if not store.delete_logged_model_tag(row["id"], key):
                raise NotFoundError(f"No tag with key '{key}' found for logged model '{model_id}'", tag=key)

    def log_logged_model_params(self, actor: Actor, model_id: str, params: dict[str, str]) -> None:
        for k, v in params.items():
            _check_key(k, "param")
            _check_value(v, "param", MAX_PARAM_VALUE)
        with self._db.unit_of_work(write=True) as store:
            row = self._logged_model(store, model_id, actor, EDIT)
            for k, v in params.items():
                store.set_logged_model_param(row["id"], k, v)

    def search_logged_models(
        self,
        actor: Actor | None,
        *,
        experiment_ids: Sequence[str],
        clauses: Sequence[Clause] = (),
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[LoggedModel], int | None]:
        _check_limit(limit)
        pks = [_experiment_pk(e) for e in experiment_ids]
        with self._db.unit_of_work(write=False) as store:
            pks = self._readable(store, actor, pks)
            rows = store.search_logged_models(experiment_ids=pks, clauses=clauses, offset=offset, limit=limit)
            more = len(rows) > limit
            return self._logged_models(store, rows[:limit]), (offset + limit if more else None)

    # -- experiment permissions (MLflow's basic-auth API) ------------------------------------------

    def _readable(self, store: TrackingStore, actor: Actor | None, pks: list[int]) -> list[int]:
        """The experiments of ``pks`` the actor may read (searches silently leave out the others)."""
        visible = self._access.readable_ids(store, actor)
        return pks if visible is None else [pk for pk in pks if pk in set(visible)]

    def _holder(self, store: TrackingStore, principal: str | None, team: str | None) -> tuple[int | None, int | None]:
        if bool(principal) == bool(team):
            raise InvalidArgumentError("name exactly one of username or team", field="username")
        if principal:
            pid = store.find_principal_id(principal)
            if pid is None:
                raise NotFoundError(f"User with username={principal[:128]} not found", principal=principal[:128])
            return pid, None
        tid = store.find_team_id(str(team))
        if tid is None:
            raise NotFoundError(f"Team '{str(team)[:128]}' not found", team=str(team)[:128])
        return None, tid

    def set_experiment_permission(
        self,
        actor: Actor | None,
        experiment_id: str,
        *,
        principal: str | None = None,
        team: str | None = None,
        permission: str,
    ) -> None:
        """Grant (or change) a principal's or a team's permission on an experiment; needs MANAGE."""
        permission = check_permission(permission)
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, MANAGE)
            pid, tid = self._holder(store, principal, team)
            store.set_experiment_permission(
                int(row["id"]), principal_id=pid, team_id=tid, permission=permission, now=self._clock()
            )

    def get_experiment_permission(
        self, actor: Actor | None, experiment_id: str, *, principal: str | None = None, team: str | None = None
    ) -> str:
        """The permission granted to a principal or team on an experiment; needs MANAGE."""
        with self._db.unit_of_work(write=False) as store:
            row = self._experiment(store, experiment_id, actor, MANAGE)
            pid, tid = self._holder(store, principal, team)
            found = store.find_experiment_permission(int(row["id"]), principal_id=pid, team_id=tid)
        if found is None:
            raise NotFoundError(
                f"no permission is granted on experiment {experiment_id} to {principal or team}",
                experiment_id=str(experiment_id)[:40],
            )
        return found

    def delete_experiment_permission(
        self, actor: Actor | None, experiment_id: str, *, principal: str | None = None, team: str | None = None
    ) -> None:
        with self._db.unit_of_work(write=True) as store:
            row = self._experiment(store, experiment_id, actor, MANAGE)
            pid, tid = self._holder(store, principal, team)
            if not store.delete_experiment_permission(int(row["id"]), principal_id=pid, team_id=tid):
                raise NotFoundError(
                    f"no permission is granted on experiment {experiment_id} to {principal or team}",
                    experiment_id=str(experiment_id)[:40],
                )


def _custom_location(location: str) -> str:
    """A client-chosen ``mlflow-artifacts:`` location, normalized to ``mlflow-artifacts:/<path>``.

    A top-level folder of digits is refused: ``mlflow-artifacts:/<id>`` is where experiment
    ``<id>`` keeps its artifacts by default, and the artifact proxy authorizes a path by the
    experiment whose location holds it, so no experiment may claim another's folder.
    """
    path = location_path(location)
    if not path:
        raise InvalidArgumentError("artifact_location must name a folder", field="artifact_location")
    validate_file_path(path)
    head = path.split("/", 1)[0]
    if head.isdigit() or head == "_modelyard":
        raise InvalidArgumentError(
            f"artifact_location may not start with '{head}/': that folder is reserved", field="artifact_location"
        )
    return f"{ARTIFACT_SCHEME}/{path}"


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or limit < 1 or limit > MAX_RESULTS:
        raise InvalidArgumentError(f"max_results must be between 1 and {MAX_RESULTS}", field="max_results")


_RUN_ATTRIBUTES = {
    "run_id": lambda r: r.id,
    "run_name": lambda r: r.name,
    "status": lambda r: r.status,
    "user_id": lambda r: r.user_id,
    "artifact_uri": lambda r: r.artifact_uri,
    "lifecycle_stage": lambda r: r.lifecycle_stage,
    "start_time": lambda r: int(r.start_time.timestamp() * 1000) if r.start_time else None,
    "end_time": lambda r: int(r.end_time.timestamp() * 1000) if r.end_time else None,
}


def _like(value: str, pattern: str, *, fold: bool) -> bool:
    import re

    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return op == "!=" or op == "NOT IN"
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op in ("LIKE", "ILIKE"):
        return _like(str(actual), str(expected), fold=op == "ILIKE")
    if op == "IN":
        return str(actual) in [str(e) for e in expected]
    if op == "NOT IN":
        return str(actual) not in [str(e) for e in expected]
    try:
        a, b = float(actual), float(expected)
    except (TypeError, ValueError):
        return False
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}.get(op, False)


def _run_matches(run: Run, clause: Clause) -> bool:
    kind, key, op, value = clause
    if kind == "tag":
        return _compare(run.tags.get(key), op, value)
    if kind == "param":
        return _compare(run.params.get(key), op, value)
    if kind == "metric":
        latest = {m.key: m.value for m in run.metrics}
        return _compare(latest.get(key), op, value)
    if kind == "attribute" and key in _RUN_ATTRIBUTES:
        return _compare(_RUN_ATTRIBUTES[key](run), op, value)
    raise InvalidArgumentError(f"invalid search key '{key}' for runs", field="filter")
