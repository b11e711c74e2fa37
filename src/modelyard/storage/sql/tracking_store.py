"""``SqlTrackingStore``: reads and writes of the MLflow adapter's tables, and the MLflow-shaped
searches over collections and versions, inside the same transaction as ``SqlMetadataStore``.

``SqlTrackingDatabase`` wraps ``engine.Database`` so a tracking unit of work is the same kind of
transaction (SQLite ``BEGIN IMMEDIATE`` for writers, PostgreSQL READ COMMITTED) as every other.
Rows come back as plain dicts keyed by column name. Store methods never commit.
Driver exceptions are translated here (``IntegrityError`` -> ``AlreadyExistsError``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, not_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from modelyard.domain.models import Collection, Version
from modelyard.errors import AlreadyExistsError, InvalidArgumentError

from . import tables as t
from . import tracking_tables as tt
from .engine import Database
from .store import SqlMetadataStore, _collection_select
from .upsert import upsert

# MLflow filter clause: (kind, key, op, value). kind is "attribute", "tag", "param" or "not_tag".
Clause = tuple[str, str, str, Any]


class SqlTrackingDatabase:
    """Hands out tracking units of work over an existing ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.dialect = db.dialect

    @contextmanager
    def unit_of_work(self, *, write: bool) -> Iterator[SqlTrackingStore]:
        with self._db.unit_of_work(write=write) as meta:
            yield SqlTrackingStore(meta.conn, dialect=meta.dialect, meta=meta)


def _glob_pattern(like: str) -> str:
    """Translate a SQL LIKE pattern into a case-sensitive SQLite GLOB pattern."""
    out = []
    for ch in like:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


class SqlTrackingStore:
    """Implements ``storage.interfaces.TrackingStore`` over one SQLAlchemy connection."""

    def __init__(self, conn: Connection, *, dialect: str, meta: SqlMetadataStore) -> None:
        self.conn = conn
        self.dialect = dialect
        self.meta = meta

    # -- helpers ------------------------------------------------------------------------------

    def _first(self, q: Any) -> dict[str, Any] | None:
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def _all(self, q: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def _like(self, col: Any, op: str, pattern: str) -> Any:
        if op == "ILIKE":
            return func.lower(col).like(pattern.lower())
        if self.dialect == "sqlite":
            return col.op("GLOB")(_glob_pattern(pattern))
        return col.like(pattern)

    def _compare(self, col: Any, op: str, value: Any) -> Any:
        if op == "=":
            return col == value
        if op == "!=":
            return col != value
        if op in ("LIKE", "ILIKE"):
            return self._like(col, op, value)
        if op == "IN":
            return col.in_(list(value))
        if op == "NOT IN":
            return col.not_in(list(value))
        if op == ">":
            return col > value
        if op == ">=":
            return col >= value
        if op == "<":
            return col < value
        if op == "<=":
            return col <= value
        raise InvalidArgumentError(f"unsupported comparator '{op}'", field="filter")

    def _tag_clause(self, table: Any, owner_col: Any, owner_id: Any, key: str, op: str, value: Any) -> Any:
        """A tag comparison. Only items that have the tag match, ``!=`` included (as MLflow); kind
        ``not_tag`` clauses (``without_tag``) are the anti-join."""
        return (
            select(table.c.id)
            .where(owner_col == owner_id, table.c.key == key, self._compare(table.c.value, op, value))
            .exists()
        )

    @staticmethod
    def _without_tag(collection_id: Any, key: str, value: str) -> Any:
        """The collection (of a version) has no tag ``key`` with ``value``."""
        ct = t.collection_tags
        return not_(
            select(ct.c.id).where(ct.c.collection_id == collection_id, ct.c.key == key, ct.c.value == value).exists()
        )

    # -- experiments --------------------------------------------------------------------------

    def insert_experiment(self, *, name: str, artifact_location: str | None, now: datetime) -> int:
        e = tt.mlflow_experiments
        try:
            with self.conn.begin_nested():
                eid = int(
                    self.conn.execute(
                        insert(e).values(
                            name=name,
                            artifact_location=artifact_location or "",
                            lifecycle_stage="active",
                            created_at=now,
                            updated_at=now,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"experiment '{name}' already exists", experiment=name) from exc
        if not artifact_location:
            self.conn.execute(update(e).where(e.c.id == eid).values(artifact_location=f"mlflow-artifacts:/{eid}"))
        return eid

    def find_experiment(self, experiment_id: int) -> dict[str, Any] | None:
        return self._first(select(tt.mlflow_experiments).where(tt.mlflow_experiments.c.id == experiment_id))

    def find_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        return self._first(select(tt.mlflow_experiments).where(tt.mlflow_experiments.c.name == name))

    def update_experiment(self, experiment_id: int, *, now: datetime, **fields: Any) -> None:
        e = tt.mlflow_experiments
        try:
            with self.conn.begin_nested():
                self.conn.execute(update(e).where(e.c.id == experiment_id).values(updated_at=now, **fields))
        except IntegrityError as exc:
            raise AlreadyExistsError(f"experiment '{fields.get('name', '')}' already exists") from exc

    def search_experiments(
        self,
        *,
        lifecycle_stages: Sequence[str],
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
        visible_ids: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]:
        """``visible_ids`` (None: all) limits the search to experiments the caller may read."""
        e = tt.mlflow_experiments
        q = select(e).where(e.c.lifecycle_stage.in_(list(lifecycle_stages)))
        if visible_ids is not None:
            q = q.where(e.c.id.in_(list(visible_ids)))
        cols = {
            "name": e.c.name,
            "experiment_id": e.c.id,
            "creation_time": e.c.created_at,
            "last_update_time": e.c.updated_at,
        }
        for kind, key, op, value in clauses:
            if kind == "tag":
                q = q.where(
                    self._tag_clause(
                        tt.mlflow_experiment_tags, tt.mlflow_experiment_tags.c.experiment_id, e.c.id, key, op, value
                    )
                )
            elif key in cols:
                q = q.where(self._compare(cols[key], op, value))
            else:
                raise InvalidArgumentError(f"invalid attribute key '{key}'", field="filter")
        orders = [cols[k].desc() if desc else cols[k].asc() for k, desc in order_by if k in cols]
        q = q.order_by(*orders, e.c.id.desc()).offset(offset).limit(limit + 1)
        return self._all(q)

    def experiment_tags(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in experiment_ids}
        et = tt.mlflow_experiment_tags
        for r in self.conn.execute(
            select(et.c.experiment_id, et.c.key, et.c.value).where(et.c.experiment_id.in_(list(experiment_ids)))
        ):
            out[r[0]][r[1]] = r[2]
        return out

    def set_experiment_tag(self, experiment_id: int, key: str, value: str) -> None:
        self._upsert(tt.mlflow_experiment_tags, "experiment_id", experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: int, key: str) -> None:
        et = tt.mlflow_experiment_tags
        self.conn.execute(delete(et).where(et.c.experiment_id == experiment_id, et.c.key == key))

    def _upsert(self, table: Any, owner: str, owner_id: int, key: str, value: str) -> str | None:
        old = self.conn.execute(
            select(table.c.value).where(table.c[owner] == owner_id, table.c.key == key)
        ).scalar_one_or_none()
        if old is None:
            self.conn.execute(insert(table).values({owner: owner_id, "key": key, "value": value}))
        elif old != value:
            self.conn.execute(update(table).where(table.c[owner] == owner_id, table.c.key == key).values(value=value))
        return old  # type: ignore[no-any-return]

    # -- runs ---------------------------------------------------------------------------------

    def insert_run(
        self,
        *,
        run_uuid: str,
        experiment_id: int,
        name: str,
        user_id: str,
        start_time: datetime | None,
        artifact_uri: str,
        now: datetime,
    ) -> int:
        return int(
            self.conn.execute(
                insert(tt.mlflow_runs).values(
                    run_uuid=run_uuid,
                    experiment_id=experiment_id,
                    name=name,
                    user_id=user_id,
                    status="RUNNING",
                    start_time=start_time,
                    end_time=None,
                    lifecycle_stage="active",
                    artifact_uri=artifact_uri,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )

    def find_run(self, run_uuid: str) -> dict[str, Any] | None:
        return self._first(select(tt.mlflow_runs).where(tt.mlflow_runs.c.run_uuid == run_uuid))

    def update_run(self, run_pk: int, *, now: datetime, **fields: Any) -> None:
        self.conn.execute(update(tt.mlflow_runs).where(tt.mlflow_runs.c.id == run_pk).values(updated_at=now, **fields))

    def search_runs(
        self,
        *,
        experiment_ids: Sequence[int],
        lifecycle_stages: Sequence[str],
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        r = tt.mlflow_runs
        q = (
            select(r)
            .where(r.c.experiment_id.in_(list(experiment_ids)), r.c.lifecycle_stage.in_(list(lifecycle_stages)))
            .order_by(r.c.start_time.desc(), r.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return self._all(q)

    def run_params(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        return self._kv(tt.mlflow_run_params, "run_id", run_pks)

    def run_tags(self, run_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        return self._kv(tt.mlflow_run_tags, "run_id", run_pks)

    def _kv(self, table: Any, owner: str, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for row in self.conn.execute(
                select(table.c[owner], table.c.key, table.c.value)
                .where(table.c[owner].in_(list(ids)))
                .order_by(table.c.key)
            ):
                out[row[0]][row[1]] = row[2]
        return out

    def find_run_param(self, run_pk: int, key: str) -> str | None:
        p = tt.mlflow_run_params
        return self.conn.execute(  # type: ignore[no-any-return]
            select(p.c.value).where(p.c.run_id == run_pk, p.c.key == key)
        ).scalar_one_or_none()

    def insert_run_params(self, run_pk: int, params: Sequence[tuple[str, str]]) -> None:
        if params:
            rows = [{"run_id": run_pk, "key": k, "value": v} for k, v in params]
            self.conn.execute(insert(tt.mlflow_run_params), rows)

    def set_run_tag(self, run_pk: int, key: str, value: str) -> None:
        self._upsert(tt.mlflow_run_tags, "run_id", run_pk, key, value)

    def delete_run_tag(self, run_pk: int, key: str) -> bool:
        rt = tt.mlflow_run_tags
        return bool(self.conn.execute(delete(rt).where(rt.c.run_id == run_pk, rt.c.key == key)).rowcount)

    def insert_run_metrics(self, run_pk: int, metrics: Sequence[dict[str, Any]]) -> None:
        """Store metric points of a run, each point once (``_point_identity``, as MLflow keys them).

        Logging a point again stores nothing, unless it names a model: then the stored point is
        linked to that model (or, if it already names another one, a row links it to this one
        too; ``run_metrics`` still shows the point once). mlflow's ``log_model`` does exactly
        this: it logs the run's metrics of the model's step again, with the new ``model_id``.
        """
        if not metrics:
            return
        m = tt.mlflow_run_metrics
        keys = {x["key"] for x in metrics}
        ats = {x["at"] for x in metrics}
        stored: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in self._all(select(m).where(m.c.run_id == run_pk, m.c.key.in_(keys), m.c.at.in_(ats))):
            stored.setdefault(_point_identity(row), []).append(row)
        fresh = []
        for point in metrics:
            rows = stored.setdefault(_point_identity(point), [])
            model_id = point.get("model_id")
            if rows and (model_id is None or any(r["model_id"] == model_id for r in rows)):
                continue
            unlinked = next((r for r in rows if r["model_id"] is None and r.get("id") is not None), None)
            if unlinked is not None:
                self.conn.execute(update(m).where(m.c.id == unlinked["id"]).values(model_id=model_id))
                unlinked["model_id"] = model_id
                continue
            row = {"run_id": run_pk, **point}
            rows.append(row)
            fresh.append(row)
        if fresh:
            self.conn.execute(insert(m), fresh)

    def run_metrics(self, run_pks: Sequence[int], *, key: str | None = None) -> list[dict[str, Any]]:
        """Every metric point of the runs (optionally one key), each once, in logging order."""
        m = tt.mlflow_run_metrics
        q = select(m).where(m.c.run_id.in_(list(run_pks)))
        if key is not None:
            q = q.where(m.c.key == key)
        seen: set[tuple[Any, ...]] = set()
        out = []
        for row in self._all(q.order_by(m.c.id)):
            identity = (row["run_id"], *_point_identity(row))
            if identity not in seen:
                seen.add(identity)
                out.append(row)
        return out

    def metrics_of_logged_model(self, model_id: str) -> list[dict[str, Any]]:
        m = tt.mlflow_run_metrics
        q = (
            select(m, tt.mlflow_runs.c.run_uuid)
            .join(tt.mlflow_runs, tt.mlflow_runs.c.id == m.c.run_id)
            .where(m.c.model_id == model_id)
            .order_by(m.c.id)
        )
        return self._all(q)

    def insert_run_io(self, run_pk: int, *, direction: str, kind: str, payload: dict[str, Any]) -> None:
        self.conn.execute(
            insert(tt.mlflow_run_io).values(run_id=run_pk, direction=direction, kind=kind, payload=payload)
        )

    def run_io(self, run_pks: Sequence[int]) -> list[dict[str, Any]]:
        io = tt.mlflow_run_io
        return self._all(select(io).where(io.c.run_id.in_(list(run_pks))).order_by(io.c.id))

    # -- logged models ----------------------------------------------------------------------------

    def insert_logged_model(self, **values: Any) -> int:
        return int(self.conn.execute(insert(tt.mlflow_logged_models).values(**values)).inserted_primary_key[0])  # type: ignore[index]

    def find_logged_model(self, model_id: str) -> dict[str, Any] | None:
        lm = tt.mlflow_logged_models
        return self._first(select(lm).where(lm.c.model_id == model_id))

    def update_logged_model(self, model_pk: int, *, now: datetime, **fields: Any) -> None:
        lm = tt.mlflow_logged_models
        self.conn.execute(update(lm).where(lm.c.id == model_pk).values(updated_at=now, **fields))

    def search_logged_models(
        self, *, experiment_ids: Sequence[int], clauses: Sequence[Clause], offset: int, limit: int
    ) -> list[dict[str, Any]]:
        lm = tt.mlflow_logged_models
        q = select(lm).where(lm.c.experiment_id.in_(list(experiment_ids)), lm.c.lifecycle_stage == "active")
        cols = {
            "name": lm.c.name,
            "model_id": lm.c.model_id,
            "source_run_id": lm.c.source_run_id,
            "status": lm.c.status,
            "model_type": lm.c.model_type,
            "creation_timestamp": lm.c.created_at,
            "creation_time": lm.c.created_at,
            "last_updated_timestamp": lm.c.updated_at,
        }
        for kind, key, op, value in clauses:
            if kind == "tag":
                q = q.where(
                    self._tag_clause(
                        tt.mlflow_logged_model_tags, tt.mlflow_logged_model_tags.c.model_pk, lm.c.id, key, op, value
                    )
                )
            elif kind == "param":
                q = q.where(
                    self._tag_clause(
                        tt.mlflow_logged_model_params, tt.mlflow_logged_model_params.c.model_pk, lm.c.id, key, op, value
                    )
                )
            elif key in cols:
                q = q.where(self._compare(cols[key], op, value))
            else:
                raise InvalidArgumentError(f"invalid attribute key '{key}'", field="filter")
        q = q.order_by(lm.c.created_at.desc(), lm.c.id.desc()).offset(offset).limit(limit + 1)
        return self._all(q)

    def logged_model_params(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        return self._kv(tt.mlflow_logged_model_params, "model_pk", model_pks)

    def logged_model_tags(self, model_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        return self._kv(tt.mlflow_logged_model_tags, "model_pk", model_pks)

    def set_logged_model_param(self, model_pk: int, key: str, value: str) -> None:
        self._upsert(tt.mlflow_logged_model_params, "model_pk", model_pk, key, value)

    def set_logged_model_tag(self, model_pk: int, key: str, value: str) -> None:
        self._upsert(tt.mlflow_logged_model_tags, "model_pk", model_pk, key, value)

    def delete_logged_model_tag(self, model_pk: int, key: str) -> bool:
        tg = tt.mlflow_logged_model_tags
        return bool(self.conn.execute(delete(tg).where(tg.c.model_pk == model_pk, tg.c.key == key)).rowcount)

    def link_version(self, version_id: int, model_id: str) -> None:
        self.conn.execute(insert(tt.mlflow_version_links).values(version_id=version_id, model_id=model_id))

    def model_ids_of_versions(self, version_ids: Sequence[int]) -> dict[int, str]:
        vl = tt.mlflow_version_links
        if not version_ids:
            return {}
        rows = self.conn.execute(select(vl.c.version_id, vl.c.model_id).where(vl.c.version_id.in_(list(version_ids))))
        return {r[0]: r[1] for r in rows}

    # -- proxied artifacts -------------------------------------------------------------------------

    def put_artifact(self, path: str, *, digest: str, size: int, now: datetime) -> None:
        a = tt.mlflow_artifacts
        existing = self.conn.execute(select(a.c.id).where(a.c.path == path)).scalar_one_or_none()
        if existing is None:
            self.conn.execute(insert(a).values(path=path, digest=digest, size=size, created_at=now, updated_at=now))
        else:
            self.conn.execute(update(a).where(a.c.id == existing).values(digest=digest, size=size, updated_at=now))

    def find_artifact(self, path: str) -> dict[str, Any] | None:
        a = tt.mlflow_artifacts
        return self._first(select(a.c.path, a.c.digest, a.c.size).where(a.c.path == path))

    def artifacts_under(self, prefix: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every artifact whose path starts with ``prefix/`` (all of them for an empty prefix)."""
        a = tt.mlflow_artifacts
        q = select(a.c.path, a.c.digest, a.c.size)
        if prefix:
            q = q.where(a.c.path.startswith(prefix + "/", autoescape=True))
        q = q.order_by(a.c.path)
        if limit is not None:
            q = q.limit(limit)
        return self._all(q)

    def delete_artifacts(self, path: str) -> int:
        a = tt.mlflow_artifacts
        cond = or_(a.c.path == path, a.c.path.startswith(path + "/", autoescape=True)) if path else literal(True)
        return int(self.conn.execute(delete(a).where(cond)).rowcount)

    def insert_multipart(
        self,
        upload_id: str,
        *,
        path: str,
        num_parts: int,
        created_by: str,
        created_by_id: int | None,
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(tt.mlflow_multipart_uploads).values(
                id=upload_id,
                path=path,
                num_parts=num_parts,
                created_by=created_by,
                created_by_id=created_by_id,
                last_activity_at=now,
                created_at=now,
                updated_at=now,
            )
        )

    def touch_multipart(self, upload_id: str, *, now: datetime) -> None:
        """Record activity on a multipart upload (a part arrived), which keeps ``uploads purge`` off it."""
        mu = tt.mlflow_multipart_uploads
        self.conn.execute(update(mu).where(mu.c.id == upload_id).values(last_activity_at=now, updated_at=now))

    def find_multipart(self, upload_id: str) -> dict[str, Any] | None:
        mu = tt.mlflow_multipart_uploads
        return self._first(select(mu).where(mu.c.id == upload_id))

    def put_multipart_part(self, upload_id: str, part_number: int, *, digest: str, size: int) -> None:
        mp = tt.mlflow_multipart_parts
        self.conn.execute(delete(mp).where(mp.c.upload_id == upload_id, mp.c.part_number == part_number))
        self.conn.execute(insert(mp).values(upload_id=upload_id, part_number=part_number, digest=digest, size=size))

    def multipart_parts(self, upload_id: str) -> list[dict[str, Any]]:
        mp = tt.mlflow_multipart_parts
        return self._all(select(mp).where(mp.c.upload_id == upload_id).order_by(mp.c.part_number))

    def delete_multipart(self, upload_id: str) -> None:
        self.meta.delete_multipart_upload(upload_id)

    # -- experiment permissions ------------------------------------------------------------------

    @staticmethod
    def _holder(principal_id: int | None, team_id: int | None) -> tuple[str, int | None]:
        return ("principal_id", principal_id) if principal_id is not None else ("team_id", team_id)

    def set_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None, permission: str, now: datetime
    ) -> str | None:
        column, holder = self._holder(principal_id, team_id)
        key = {"experiment_id": experiment_id, column: holder}
        table = tt.mlflow_experiment_permissions
        return upsert(self.conn, table, key, {"permission": permission}, now=now, old="permission")  # type: ignore[no-any-return]

    def find_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None
    ) -> str | None:
        column, holder = self._holder(principal_id, team_id)
        ep = tt.mlflow_experiment_permissions
        return self.conn.execute(
            select(ep.c.permission).where(ep.c.experiment_id == experiment_id, ep.c[column] == holder)
        ).scalar_one_or_none()

    def delete_experiment_permission(
        self, experiment_id: int, *, principal_id: int | None, team_id: int | None
    ) -> bool:
        column, holder = self._holder(principal_id, team_id)
        ep = tt.mlflow_experiment_permissions
        done = self.conn.execute(delete(ep).where(ep.c.experiment_id == experiment_id, ep.c[column] == holder))
        return bool(done.rowcount)

    def experiment_permissions_held(
        self, principal_id: int | None, team_ids: tuple[int, ...], experiment_ids: Sequence[int] | None = None
    ) -> dict[int, list[str]]:
        """Experiment id -> the permissions granted to the principal directly or through its teams
        (all experiments, or only ``experiment_ids``)."""
        ep = tt.mlflow_experiment_permissions
        conds = []
        if principal_id is not None:
            conds.append(ep.c.principal_id == principal_id)
        if team_ids:
            conds.append(ep.c.team_id.in_(list(team_ids)))
        if not conds:
            return {}
        q = select(ep.c.experiment_id, ep.c.permission).where(or_(*conds))
        if experiment_ids is not None:
            q = q.where(ep.c.experiment_id.in_(list(experiment_ids)))
        out: dict[int, list[str]] = {}
        for eid, permission in self.conn.execute(q):
            out.setdefault(int(eid), []).append(permission)
        return out

    def find_principal_id(self, name: str) -> int | None:
        found = self.meta.find_principal(name)
        return None if found is None else found.id

    def find_team_id(self, name: str) -> int | None:
        found = self.meta.find_team(name)
        return None if found is None else found.id

    def experiments_at_locations(self, locations: Sequence[str]) -> list[dict[str, Any]]:
        """Experiments whose artifact location is one of ``locations``."""
        e = tt.mlflow_experiments
        if not locations:
            return []
        return self._all(select(e).where(e.c.artifact_location.in_(list(locations))))

    def experiment_artifact_locations(self) -> list[str]:
        e = tt.mlflow_experiments
        return list(self.conn.execute(select(e.c.artifact_location)).scalars())

    # -- MLflow-shaped registry searches -------------------------------------------------------------

    def search_collections(
        self,
        registry_id: int,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> list[Collection]:
        """Collections of one registry matching MLflow filter clauses; ``limit + 1`` rows from ``offset``."""
        c = t.collections.c
        q = _collection_select().where(c.registry_id == registry_id)
        cols = {"name": c.name, "creation_timestamp": c.created_at, "last_updated_timestamp": c.updated_at}
        for kind, key, op, value in clauses:
            if kind == "tag":
                ct = t.collection_tags
                q = q.where(self._tag_clause(ct, ct.c.collection_id, c.id, key, op, value))
            elif kind == "not_tag":
                q = q.where(self._without_tag(c.id, key, value))
            elif key == "name":
                q = q.where(self._compare(c.name, op, value))
            else:
                raise InvalidArgumentError(f"invalid attribute key '{key}' for registered models", field="filter")
        orders = [cols[k].desc() if desc else cols[k].asc() for k, desc in order_by]
        if not any(k == "name" for k, _ in order_by):
            orders.append(c.name.asc())
        q = q.order_by(*orders, c.id.asc()).offset(offset).limit(limit + 1)
        rows = list(self.conn.execute(q).mappings())
        return self.meta.collections_by_rows(rows)

    def search_versions(
        self,
        registry_id: int,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> list[Version]:
        """Versions of one registry matching MLflow filter clauses; ``limit + 1`` from ``offset``."""
        v = t.versions
        c = t.collections
        q = (
            select(v, c.c.name.label("collection_name"))
            .join(c, c.c.id == v.c.collection_id)
            .where(c.c.registry_id == registry_id)
        )
        cols = {
            "name": c.c.name,
            "version_number": v.c.number,
            "run_id": v.c.run_id,
            "source_path": v.c.source,
            "creation_timestamp": v.c.created_at,
            "last_updated_timestamp": v.c.updated_at,
            "current_stage": v.c.stage,
        }
        for kind, key, op, value in clauses:
            if kind == "tag":
                q = q.where(self._tag_clause(t.version_tags, t.version_tags.c.version_id, v.c.id, key, op, value))
            elif kind == "not_tag":
                q = q.where(self._without_tag(c.c.id, key, value))
            elif key == "model_id":
                vl = tt.mlflow_version_links
                q = q.where(
                    select(vl.c.id).where(vl.c.version_id == v.c.id, self._compare(vl.c.model_id, op, value)).exists()
                )
            elif key in cols:
                q = q.where(self._compare(cols[key], op, value))
            else:
                raise InvalidArgumentError(f"invalid attribute key '{key}' for model versions", field="filter")
        orders = [cols[k].desc() if desc else cols[k].asc() for k, desc in order_by]
        if not order_by:  # MLflow's default: last update first
            orders = [v.c.updated_at.desc(), c.c.name.asc(), v.c.number.desc()]
        q = q.order_by(*orders, v.c.id.asc()).offset(offset).limit(limit + 1)
        rows = list(self.conn.execute(q).mappings())
        return self._versions(rows)

    def _versions(self, rows: Sequence[Any]) -> list[Version]:
        """Build ``Version`` objects (without file lists) for version rows, in the rows' order."""
        if not rows:
            return []
        reg_of = dict(
            self.conn.execute(
                select(t.collections.c.id, t.registries.c.name)
                .join(t.registries, t.registries.c.id == t.collections.c.registry_id)
                .where(t.collections.c.id.in_({r["collection_id"] for r in rows}))
            ).all()
        )
        groups: dict[int, list[Any]] = {}
        for r in rows:
            groups.setdefault(r["collection_id"], []).append(r)
        by_id: dict[int, Version] = {}
        for cid, group in groups.items():
            for ver in self.meta.versions_by_rows(
                group, registry=reg_of[cid], collection=group[0]["collection_name"], with_files=False
            ):
                by_id[ver.id] = ver
        return [by_id[r["id"]] for r in rows]

    def latest_versions_by_stage(self, collection_ids: Sequence[int]) -> dict[int, list[Version]]:
        """For each collection, its highest-numbered version in every stage that has one.

        In MLflow's order: stages ordered by the lowest-numbered version now in them.
        """
        if not collection_ids:
            return {}
        v = t.versions
        c = t.collections
        best = (
            select(
                v.c.collection_id,
                v.c.stage,
                func.max(v.c.number).label("number"),
                func.min(v.c.number).label("first"),
            )
            .where(v.c.collection_id.in_(list(collection_ids)))
            .group_by(v.c.collection_id, v.c.stage)
            .subquery()
        )
        q = (
            select(v, c.c.name.label("collection_name"))
            .join(c, c.c.id == v.c.collection_id)
            .join(best, and_(best.c.collection_id == v.c.collection_id, best.c.number == v.c.number))
            .order_by(v.c.collection_id, best.c.first)
        )
        rows = list(self.conn.execute(q).mappings())
        out: dict[int, list[Version]] = {i: [] for i in collection_ids}
        for r, ver in zip(rows, self._versions(rows), strict=True):
            out[r["collection_id"]].append(ver)
        return out


def _point_identity(point: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a metric point of a run one point: key, timestamp, step and value (a NaN is
    stored as NULL). MLflow's metrics table has this as its primary key."""
    return (point["key"], point["at"], int(point["step"] or 0), point["value"])
