"""A metric point of a run is stored once, however often it is logged (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from modelyard.bootstrap import Services
from modelyard.domain.actor import LOCAL
from modelyard.services.tracking import MetricPoint
from modelyard.storage.sql import tracking_tables as tt


def test_a_point_logged_again_with_model_ids_is_one_point_linked_to_each_model(services: Services) -> None:
    from modelyard.api.mlflow import build_mlflow_services

    tracking = build_mlflow_services(services).tracking
    run = tracking.create_run(LOCAL, tracking.create_experiment(LOCAL, "points"))
    rid = run.id
    m1 = tracking.create_logged_model(LOCAL, run.experiment_id, source_run_id=rid).model_id
    m2 = tracking.create_logged_model(LOCAL, run.experiment_id, source_run_id=rid).model_id
    at = datetime(2026, 11, 29, 12, 0, 0, 123000, tzinfo=UTC)
    point = MetricPoint("acc", 0.9, at, 0)
    tracking.log_batch(LOCAL, rid, metrics=[point, point])  # twice in one batch
    tracking.log_batch(LOCAL, rid, metrics=[point])  # and again
    tracking.log_batch(LOCAL, rid, metrics=[MetricPoint("acc", 0.9, at, 0, model_id=m1)])  # as log_model does
    tracking.log_batch(LOCAL, rid, metrics=[MetricPoint("acc", 0.9, at, 0, model_id=m1)])
    tracking.log_batch(LOCAL, rid, metrics=[MetricPoint("acc", 0.9, at, 0, model_id=m2)])  # a second model
    tracking.log_batch(LOCAL, rid, metrics=[MetricPoint("acc", 0.8, at, 0)])  # another value: another point

    assert [(p.value, p.step) for p in tracking.metric_history(LOCAL, rid, "acc")] == [(0.9, 0), (0.8, 0)]
    for model_id in (m1, m2):
        assert [(p.key, p.value) for p in tracking.get_logged_model(LOCAL, model_id).metrics] == [("acc", 0.9)]
    m = tt.mlflow_run_metrics
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(m.c.value, m.c.model_id).order_by(m.c.id)).all()
    # the first logging of 0.9 is linked to m1; m2 needs a row of its own; 0.8 is another point
    assert [tuple(r) for r in rows] == [(0.9, m1), (0.9, m2), (0.8, None)]
