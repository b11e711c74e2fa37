"""Non-finite metric values and hostile text through the real ``mlflow`` client (issue 8, item 12).

MLflow accepts NaN and +/-Infinity metric values: its SQL store keeps NaN (``is_nan``) and
clamps +/-Infinity to the largest double. modelyard does the same, on SQLite and PostgreSQL
(NaN was stored as NULL on both, +/-Infinity crashed the JSON rendering of ``get_run``).
Where MLflow refuses (text no database can store), the client gets ``INVALID_PARAMETER_VALUE``,
not a 500. (The client itself refuses a step beyond int64; ``tests/api/test_hostile_input.py``
sends one over plain HTTP.)
"""

from __future__ import annotations

import math

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from .conftest import Server

TOP = 1.7976931348623157e308  # the largest double: where MLflow clamps +/-Infinity


def test_nan_and_infinite_metrics_round_trip_as_in_mlflow(server: Server, uri: str) -> None:
    client = MlflowClient()
    eid = client.create_experiment(server.name("nan"))
    rid = client.create_run(eid).info.run_id
    client.log_metric(rid, "loss", float("nan"), step=0)
    client.log_metric(rid, "loss", float("inf"), step=1)
    client.log_batch(rid, metrics=[Metric("loss", float("-inf"), 1000, 2), Metric("loss", 0.25, 1000, 3)])
    client.log_metric(rid, "only_nan", float("nan"), step=0)

    history = sorted(client.get_metric_history(rid, "loss"), key=lambda m: m.step)
    values = [m.value for m in history]
    assert math.isnan(values[0]) and values[1:] == [TOP, -TOP, 0.25]
    run = client.get_run(rid)
    assert run.data.metrics["loss"] == 0.25
    assert math.isnan(run.data.metrics["only_nan"])
    [nan_point] = client.get_metric_history(rid, "only_nan")
    assert math.isnan(nan_point.value) and nan_point.step == 0


def test_unstorable_text_and_int64_overflow_are_invalid_parameter_values(server: Server, uri: str) -> None:
    client = MlflowClient()
    eid = client.create_experiment(server.name("bad"))
    rid = client.create_run(eid).info.run_id
    attempts = [
        lambda: client.log_param(rid, "p", "a\x00b"),
        lambda: client.set_tag(rid, "t", "a\x00b"),
        lambda: client.create_registered_model(server.name("m"), description="a\x00b"),
    ]
    for attempt in attempts:
        with pytest.raises(MlflowException) as exc:
            attempt()
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE", exc.value
    run = client.get_run(rid)
    assert run.data.params == {} and "t" not in run.data.tags and run.data.metrics == {}
