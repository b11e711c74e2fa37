"""The common MLflow flow with modelyard as the only server, using the real mlflow client."""

from __future__ import annotations

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from .conftest import Server

REQS = ["scikit-learn"]  # skip pip inference (a slow subprocess per log_model)


@pytest.fixture(scope="module")
def trained() -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.RandomState(0)
    x = rng.rand(60, 3)
    y = (x[:, 0] + x[:, 1] > 1).astype(int)
    return LogisticRegression().fit(x, y), x


def test_log_register_promote_alias_and_load(server: Server, uri: str, trained: tuple) -> None:
    clf, x = trained
    name = server.name("flow")
    mlflow.set_experiment(server.name("exp"))
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("acc", 0.93)
        mlflow.sklearn.log_model(clf, name="model", registered_model_name=name, pip_requirements=REQS)
    client = MlflowClient()

    got = client.get_run(run.info.run_id)
    assert got.data.params == {"C": "1.0"}
    assert got.data.metrics == {"acc": 0.93}
    assert got.info.status == "FINISHED"

    [v1] = client.get_latest_versions(name)
    assert (v1.version, v1.current_stage, v1.status) == ("1", "None", "READY")
    assert v1.run_id == run.info.run_id
    # mlflow's ModelVersion.from_proto drops model_id, so check the wire directly.
    wire = httpx.get(f"{uri}/api/2.0/mlflow/model-versions/get", params={"name": name, "version": "1"}).json()
    model_id = wire["model_version"]["model_id"]
    assert model_id.startswith("m-")

    # A second version, then promote v1 with archive_existing_versions and move v2 to Staging.
    mlflow.register_model(f"models:/{model_id}", name)
    client.transition_model_version_stage(name, "2", "Production")
    promoted = client.transition_model_version_stage(name, "1", "production", archive_existing_versions=True)
    assert promoted.current_stage == "Production"
    assert client.get_model_version(name, "2").current_stage == "Archived"

    updated = client.update_model_version(name, "1", description="the first one")
    assert updated.description == "the first one"
    client.set_registered_model_alias(name, "champion", "1")

    assert client.get_model_version_download_uri(name, "1") == f"mlflow-artifacts:/_modelyard/models/{name}/1"
    for model_uri in (f"models:/{name}/Production", f"models:/{name}@champion", f"models:/{name}/1"):
        loaded = mlflow.pyfunc.load_model(model_uri)
        assert (loaded.predict(x) == clf.predict(x)).all(), model_uri
    latest = mlflow.pyfunc.load_model(f"models:/{name}/latest")
    assert (latest.predict(x) == clf.predict(x)).all()


def test_registered_version_survives_deleting_run_artifacts(server: Server, uri: str, trained: tuple) -> None:
    clf, x = trained
    name = server.name("immutable")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(clf, name="model", registered_model_name=name, pip_requirements=REQS)
    client = MlflowClient()
    lm = client.get_logged_model(info.model_id)
    # Delete the logged model's artifacts through the proxy: the registered copy is unaffected.
    repo_path = lm.artifact_location.removeprefix("mlflow-artifacts:")
    r = httpx.delete(f"{uri}/api/2.0/mlflow-artifacts/artifacts{repo_path}")
    assert r.status_code == 200, r.text
    listing = httpx.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts", params={"path": repo_path.strip("/")}).json()
    assert listing.get("files", []) == []
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert (loaded.predict(x) == clf.predict(x)).all()
    # The registered copy itself cannot be written or deleted through the proxy.
    r = httpx.delete(f"{uri}/api/2.0/mlflow-artifacts/artifacts/_modelyard/models/{name}/1/MLmodel")
    assert (r.status_code, r.json()["error_code"]) == (409, "RESOURCE_CONFLICT")


def test_copy_model_version_creates_destination(server: Server, uri: str, trained: tuple) -> None:
    clf, x = trained
    src, dst = server.name("src"), server.name("dst")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(clf, name="model", registered_model_name=src, pip_requirements=REQS)
    client = MlflowClient()
    client.set_model_version_tag(src, "1", "team", "search")
    copy = client.copy_model_version(f"models:/{src}/1", dst)
    assert (copy.name, copy.version, copy.source) == (dst, "1", f"models:/{src}/1")
    assert copy.run_id == run.info.run_id
    assert copy.tags == {"team": "search"}
    assert client.get_registered_model(dst).name == dst
    again = client.copy_model_version(f"models:/{src}/1", dst)
    assert again.version == "2"
    loaded = mlflow.pyfunc.load_model(f"models:/{dst}/2")
    assert (loaded.predict(x) == clf.predict(x)).all()


def test_register_from_runs_uri_and_local_file(server: Server, uri: str, tmp_path) -> None:
    client = MlflowClient()
    name = server.name("files")
    with mlflow.start_run() as run:
        (tmp_path / "weights.bin").write_bytes(b"\x00\x01" * 1000)
        (tmp_path / "MLmodel").write_text("flavors: {}\n")
        mlflow.log_artifacts(str(tmp_path), artifact_path="raw")
    client.create_registered_model(name)
    v = client.create_model_version(name, f"runs:/{run.info.run_id}/raw", run_id=run.info.run_id)
    assert v.version == "1"
    files = sorted(f.path for f in client.list_artifacts(run.info.run_id, "raw"))
    assert files == ["raw/MLmodel", "raw/weights.bin"]
    out = mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "weights.bin").read_bytes() == b"\x00\x01" * 1000, out

    local = tmp_path / "local-model"
    local.mkdir()
    (local / "a.txt").write_text("hello")
    v2 = client.create_model_version(name, f"file://{local}")
    assert v2.version == "2"
    dl2 = mlflow.artifacts.download_artifacts(f"models:/{name}/2", dst_path=str(tmp_path / "dl2"))
    assert (tmp_path / "dl2" / "a.txt").read_text() == "hello", dl2

    with pytest.raises(MlflowException) as exc:
        client.create_model_version(name, f"runs:/{run.info.run_id}/nothing-here")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    # An external source modelyard cannot read is recorded as a reference only.
    v3 = client.create_model_version(name, "s3://bucket/elsewhere/model")
    assert client.get_model_version_download_uri(name, v3.version) == "s3://bucket/elsewhere/model"


def test_tree_model_needs_skops_trusted_types(server: Server, uri: str) -> None:
    """docs/mlflow.md's skops note: mlflow's own rule for tree models, not the server's."""
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.RandomState(0)
    x = rng.rand(40, 3)
    tree = DecisionTreeClassifier(max_depth=3).fit(x, (x[:, 0] > 0.5).astype(int))
    name = server.name("tree")
    with mlflow.start_run(), pytest.raises(MlflowException, match="skops_trusted_types"):
        mlflow.sklearn.log_model(tree, name="model", registered_model_name=name, pip_requirements=REQS)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            tree,
            name="model",
            registered_model_name=name,
            pip_requirements=REQS,
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/latest")
    assert (loaded.predict(x) == tree.predict(x)).all()
