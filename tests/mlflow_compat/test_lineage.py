"""Issue 10: a version's lineage must be true (MLflow 3's source rules), and the JSON a
hand-written REST client sees is MLflow's (empty fields, error_class, timestamps, latest_versions).
The real mlflow client against a real modelyard server process.
"""

from __future__ import annotations

import time

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .conftest import Server

API = "/api/2.0/mlflow"


def _refused(client: MlflowClient, name: str, source: str, run_id: str | None = None) -> str:
    with pytest.raises(MlflowException) as exc:
        client.create_model_version(name, source, run_id=run_id)
    assert (exc.value.error_code, exc.value.get_http_status_code()) == ("INVALID_PARAMETER_VALUE", 400), source
    return exc.value.message


def test_sources_must_belong_to_the_named_run(server: Server, uri: str, tmp_path) -> None:
    client = MlflowClient()
    name = server.name("lineage")
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    with mlflow.start_run() as a:
        mlflow.log_artifacts(str(tmp_path), artifact_path="model")
    with mlflow.start_run() as b:
        mlflow.log_artifacts(str(tmp_path), artifact_path="model")
    ra, rb = a.info.run_id, b.info.run_id
    client.create_registered_model(name)
    owns = "The run_id request parameter must identify the resource that contains the source."

    # runs:/ needs the run id it names; a missing or another run id is refused (MLflow's message).
    assert owns in _refused(client, name, f"runs:/{ra}/model")
    assert owns in _refused(client, name, f"runs:/{ra}/model", run_id=rb)
    # mlflow-artifacts: paths must lie under the named run's artifact root.
    b_files = f"{client.get_run(rb).info.artifact_uri}/model"
    assert owns in _refused(client, name, b_files, run_id=ra)
    assert owns in _refused(client, name, b_files)
    assert owns in _refused(client, name, b_files, run_id="0123456789abcdef0123456789abcdef")
    # hosts the client picks, and relative paths however spelled.
    assert "cannot use the 'https' scheme" in _refused(client, name, "https://example.com/model")
    assert "cannot use the 'ftp' scheme" in _refused(client, name, "ftp://example.com/model")
    for traversal in ("s3://b/a/../b", "s3://b/a/%2e%2e/b", "s3://b/a/%252e%252e/b", "s3://b/a/./b"):
        assert "without relative path references" in _refused(client, name, traversal)
    # a runs: URI naming another tracking server, and a logged model without its model_id.
    assert owns in _refused(client, name, f"runs://elsewhere/{ra}/model", run_id=ra)
    assert "model_id request parameter" in _refused(client, name, "models:/m-0123456789abcdef")
    assert client.search_model_versions(f"name = '{name}'") == []  # nothing stored

    # True lineage still registers, and the run's bytes are copied.
    v1 = client.create_model_version(name, f"runs:/{ra}/model", run_id=ra)
    a_files = f"{client.get_run(ra).info.artifact_uri}/model"
    v2 = client.create_model_version(name, a_files, run_id=ra)
    v3 = client.create_model_version(name, "s3://bucket/models/x")  # a reference only, as before
    assert [(v.version, v.run_id) for v in (v1, v2, v3)] == [("1", ra), ("2", ra), ("3", "")]
    out = mlflow.artifacts.download_artifacts(f"models:/{name}/2", dst_path=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "MLmodel").read_text() == "flavors: {}\n", out


def test_rest_answers_have_mlflows_shape(server: Server, uri: str) -> None:
    client = MlflowClient()
    name = server.name("shape")
    http = httpx.Client(base_url=f"{uri}{API}")
    client.create_registered_model(name)
    # Empty repeated fields and unset fields are left out; run_id/description/run_link are ''.
    assert set(http.get("registered-models/get", params={"name": name}).json()["registered_model"]) == {
        "name",
        "creation_timestamp",
        "last_updated_timestamp",
    }
    client.create_model_version(name, "s3://bucket/a")
    client.create_model_version(name, "s3://bucket/b")
    mv = http.get("model-versions/get", params={"name": name, "version": "1"}).json()["model_version"]
    assert (mv["run_id"], mv["description"], mv["run_link"]) == ("", "", "")
    assert "user_id" not in mv and "tags" not in mv and "aliases" not in mv
    got = client.get_model_version(name, "1")
    assert (got.run_id, got.description) == ("", "")
    assert http.get("registered-models/search", params={"filter": f"name = '{name}-none'"}).json() == {}
    assert http.get("model-versions/search", params={"filter": f"name = '{name}-none'"}).json() == {}
    # Errors carry MLflow's sqlstate and error_class.
    err = http.get("registered-models/get", params={"name": f"{name}-none"}).json()
    assert (err["error_code"], err["sqlstate"], err["error_class"]) == (
        "RESOURCE_DOES_NOT_EXIST",
        "KAM00",
        "RESOURCE_NOT_FOUND",
    )

    # Tags and aliases leave last_updated_timestamp alone; stage transitions move it.
    def stamps() -> tuple[int, int]:
        model = client.get_registered_model(name)
        return model.last_updated_timestamp, client.get_model_version(name, "1").last_updated_timestamp

    before = stamps()
    time.sleep(0.01)
    client.set_registered_model_tag(name, "k", "v")
    client.set_model_version_tag(name, "1", "k", "v")
    client.set_registered_model_alias(name, "champion", "1")
    client.delete_registered_model_alias(name, "champion")
    client.set_registered_model_alias(name, "champion", "1")
    assert stamps() == before
    time.sleep(0.01)
    client.transition_model_version_stage(name, "1", "Staging")
    after = stamps()
    assert after[0] > before[0] and after[1] > before[1]

    # latest_versions: MLflow's order (stages by their lowest version), and no aliases in them.
    client.transition_model_version_stage(name, "2", "Production")
    client.create_model_version(name, "s3://bucket/c")  # 3, stage None
    model = http.get("registered-models/get", params={"name": name}).json()["registered_model"]
    assert [(v["version"], v["current_stage"]) for v in model["latest_versions"]] == [
        ("1", "Staging"),
        ("2", "Production"),
        ("3", "None"),
    ]
    assert all("aliases" not in v for v in model["latest_versions"])
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    client.transition_model_version_stage(name, "1", "None")  # now None holds 1 and 3: None comes first
    latest = client.get_latest_versions(name)
    assert [(v.version, v.current_stage) for v in latest] == [("3", "None"), ("2", "Production")]
    assert latest[0].aliases == []  # get-latest-versions fills aliases, as MLflow: 3 has none
    assert client.get_latest_versions(name, stages=["Production"])[0].version == "2"
