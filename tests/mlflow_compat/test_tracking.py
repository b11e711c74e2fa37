"""The tracking subset and the artifact proxy (including multipart uploads) via the real client."""

from __future__ import annotations

import time

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from .conftest import Server


def test_experiments(server: Server, uri: str) -> None:
    client = MlflowClient()
    name = server.name("exp")
    eid = client.create_experiment(name, tags={"team": "ads"})
    exp = client.get_experiment(eid)
    assert (exp.name, exp.tags, exp.lifecycle_stage) == (name, {"team": "ads"}, "active")
    assert exp.artifact_location == f"mlflow-artifacts:/{eid}"
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name(server.name("absent")) is None
    with pytest.raises(MlflowException) as exc:
        client.create_experiment(name)
    assert exc.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.set_experiment_tag(eid, "stage", "dev")
    client.rename_experiment(eid, name + "-x")
    assert client.get_experiment(eid).name == name + "-x"
    assert client.get_experiment(eid).tags["stage"] == "dev"
    assert name + "-x" in [e.name for e in client.search_experiments(filter_string=f"name LIKE '{name}%'")]
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert eid not in [e.experiment_id for e in client.search_experiments()]
    client.restore_experiment(eid)
    assert client.get_experiment("0").name == "Default"
    with pytest.raises(MlflowException) as exc:
        client.get_experiment("987654")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_runs_params_metrics_tags(server: Server, uri: str) -> None:
    client = MlflowClient()
    eid = client.create_experiment(server.name("runs"))
    run = client.create_run(eid, run_name="first", tags={"purpose": "test"})
    rid = run.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric("loss", 0.5, 1000, 0), Metric("loss", 0.25, 2000, 1)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("k", "v")],
    )
    client.log_metric(rid, "acc", 0.8, step=3)
    client.log_param(rid, "lr", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException) as exc:
        client.log_param(rid, "lr", "0.2")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    client.set_tag(rid, "drop", "me")
    client.delete_tag(rid, "drop")
    got = client.get_run(rid)
    assert got.info.run_name == "first"
    assert got.data.metrics == {"loss": 0.25, "acc": 0.8}
    assert got.data.params == {"lr": "0.1"}
    assert {"purpose": "test", "k": "v"}.items() <= got.data.tags.items() and "drop" not in got.data.tags
    assert [(m.value, m.step) for m in client.get_metric_history(rid, "loss")] == [(0.5, 0), (0.25, 1)]

    other = client.create_run(eid).info.run_id
    client.log_metric(other, "loss", 0.9)
    found = client.search_runs([eid], filter_string="metrics.loss < 0.5")
    assert [r.info.run_id for r in found] == [rid]
    assert [r.info.run_id for r in client.search_runs([eid], filter_string="params.lr = '0.1'")] == [rid]
    client.set_terminated(rid, status="FINISHED")
    assert client.get_run(rid).info.status == "FINISHED"
    client.delete_run(other)
    assert [r.info.run_id for r in client.search_runs([eid])] == [rid]
    with pytest.raises(MlflowException) as exc:
        client.get_run("0" * 32)
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logged_models_and_run_outputs(server: Server, uri: str) -> None:
    client = MlflowClient()
    eid = client.create_experiment(server.name("lm"))
    rid = client.create_run(eid).info.run_id
    model = client.create_logged_model(
        eid, name="clf", source_run_id=rid, params={"depth": "3"}, tags={"t": "1"}, model_type="sklearn"
    )
    assert model.model_id.startswith("m-") and str(model.status) == "PENDING"
    client.finalize_logged_model(model.model_id, "READY")
    client.set_logged_model_tags(model.model_id, {"u": "2"})
    client.delete_logged_model_tag(model.model_id, "t")
    client.log_model_params(model.model_id, {"extra": "x"})
    got = client.get_logged_model(model.model_id)
    assert (got.name, str(got.status), got.source_run_id, got.tags, got.params) == (
        "clf",
        "READY",
        rid,
        {"u": "2"},
        {"depth": "3", "extra": "x"},
    )
    client.log_outputs(rid, [mlflow.entities.LoggedModelOutput(model.model_id, step=5)])
    assert [(o.model_id, o.step) for o in client.get_run(rid).outputs.model_outputs] == [(model.model_id, 5)]
    found = client.search_logged_models(experiment_ids=[eid], filter_string="name = 'clf'")
    assert [m.model_id for m in found] == [model.model_id]
    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as exc:
        client.get_logged_model(model.model_id)
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_artifact_proxy_upload_list_download_delete(server: Server, uri: str, tmp_path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("alpha")
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "d"), artifact_path="out")
        mlflow.log_text("hello", "notes/readme.txt")
    client = MlflowClient()
    rid = run.info.run_id
    assert sorted((f.path, f.is_dir) for f in client.list_artifacts(rid, "out")) == [
        ("out/a.txt", False),
        ("out/sub", True),
    ]
    assert [f.file_size for f in client.list_artifacts(rid, "out/sub")] == [10240]
    dst = client.download_artifacts(rid, "out", str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "out" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 40, dst
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "hello"
    base = f"{uri}/api/2.0/mlflow-artifacts/artifacts"
    r = httpx.get(f"{base}/{run.info.artifact_uri.removeprefix('mlflow-artifacts:/')}/out/a.txt")
    assert r.status_code == 200 and r.text == "alpha" and r.headers["content-length"] == "5"
    r = httpx.get(f"{base}/0/nothing/here.txt")
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = httpx.put(f"{base}/_modelyard/models/x/1/f", content=b"x")
    assert (r.status_code, r.json()["error_code"]) == (409, "RESOURCE_CONFLICT")
    r = httpx.get(f"{base}/../etc/passwd")
    assert r.status_code in (400, 404)


def test_multipart_upload(server: Server, uri: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = httpx.get(f"{uri}/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is True
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "4096")
    payload = bytes(range(256)) * 70  # 17,920 bytes -> 5 parts
    (tmp_path / "big.bin").write_bytes(payload)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"))
    out = MlflowClient().download_artifacts(run.info.run_id, "big.bin", str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "big.bin").read_bytes() == payload, out
    # Abort leaves nothing behind; completing with a wrong ETag is refused.
    directory = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    mpu = f"{uri}/api/2.0/mlflow-artifacts/mpu"
    created = httpx.post(f"{mpu}/create/{directory}", json={"path": "aborted.bin", "num_parts": 1}).json()
    part_url = created["credentials"][0]["url"]
    assert httpx.put(part_url, content=b"abc").status_code == 200
    r = httpx.post(
        f"{mpu}/complete/{directory}",
        json={"path": "aborted.bin", "upload_id": created["upload_id"], "parts": [{"part_number": 1, "etag": "wrong"}]},
    )
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    r = httpx.post(f"{mpu}/abort/{directory}", json={"path": "aborted.bin", "upload_id": created["upload_id"]})
    assert r.status_code == 200
    assert httpx.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts/{directory}/aborted.bin").status_code == 404


def _log_model_in_a_run(url: str) -> tuple[list[tuple[float, int]], list[tuple[str, float, int]]]:
    """Log two points of a metric, then a model (which logs the step-0 point again with its
    ``model_id``); return the run's metric history and the logged model's metrics."""

    class Identity(mlflow.pyfunc.PythonModel):  # here, not at import: mlflow warns at class creation
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"log-model-metrics-{time.monotonic_ns()}")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.9)
        mlflow.log_metric("acc", 0.95, step=1)
        mlflow.log_metric("loss", 0.3)
        info = mlflow.pyfunc.log_model(name="model", python_model=Identity(), pip_requirements=[])
    client = MlflowClient(url)
    history = [(m.value, m.step) for m in client.get_metric_history(run.info.run_id, "acc")]
    linked = sorted((m.key, m.value, m.step) for m in client.get_logged_model(info.model_id).metrics)
    return history, linked


def test_metrics_logged_inside_log_model_are_one_point(server: Server, uri: str, mlflow_server: str) -> None:
    """mlflow's ``log_model`` logs the run's metrics again with the new ``model_id``: the history
    still has each point once (as a real ``mlflow server`` answers), and the model has them."""
    try:
        expected = _log_model_in_a_run(mlflow_server)
        got = _log_model_in_a_run(uri)
    finally:
        mlflow.set_tracking_uri(uri)
    assert expected == ([(0.9, 0), (0.95, 1)], [("acc", 0.9, 0), ("loss", 0.3, 0)])
    assert got == expected
