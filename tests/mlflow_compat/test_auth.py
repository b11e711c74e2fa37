"""With governance on, the mlflow client's credentials map to modelyard principals and the same
permissions apply through the MLflow API as through the native one (real server, real client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from modelyard import Client

from .conftest import SRC, _start


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An auth-on SQLite server with an admin, a member of `models`, a viewer and a restricted registry."""
    data_dir = tmp_path_factory.mktemp("governed")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cli = [sys.executable, "-c", "from modelyard.cli import main; main()"]
    # admin bootstrap works on an existing database only (it creates none): create it first.
    subprocess.run([*cli, "db", "upgrade", "--data-dir", str(data_dir)], capture_output=True, check=True, env=env)
    boot = subprocess.run(
        [
            sys.executable,
            "-c",
            "from modelyard.cli import main; main()",
            "admin",
            "bootstrap",
            "root",
            "--json",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    admin_token = json.loads(boot.stdout)["token"]
    proc, url = _start({"MODELYARD_DATA_DIR": str(data_dir)}, data_dir)
    try:
        with Client(url, token=admin_token) as admin:
            tokens = {"admin": admin_token}
            for name, role in (("mia", "member"), ("vic", "viewer")):
                admin.create_principal(name)
                admin.grant("models", name, role)
                tokens[name] = admin.create_token("mlflow", principal=name).token
            admin.create_principal("outsider")
            tokens["outsider"] = admin.create_token("mlflow", principal="outsider").token
            admin.create_registry("secret", visibility="restricted")
            admin.grant("secret", "mia", "member")
        yield {"url": url, **tokens}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _client(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> MlflowClient:
    for key in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_bearer_token_acts_as_the_principal(governed: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"])
    client.create_registered_model("auth-bearer")
    with Client(governed["url"], token=governed["admin"]) as admin:
        created = [e for e in admin.list_events(action="collection.created") if e.target == "models/auth-bearer"]
    assert [(e.actor, e.token_name) for e in created] == [("mia", "mlflow")]


def test_basic_auth_with_the_token_as_password(governed: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client = _client(
        monkeypatch, governed["url"], MLFLOW_TRACKING_USERNAME="mia", MLFLOW_TRACKING_PASSWORD=governed["mia"]
    )
    client.create_registered_model("auth-basic")
    assert client.get_registered_model("auth-basic").name == "auth-basic"


def test_no_or_bad_credentials_are_unauthenticated(governed: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ({}, {"MLFLOW_TRACKING_TOKEN": "my_not-a-real-token"}):
        client = _client(monkeypatch, governed["url"], **env)
        with pytest.raises(MlflowException) as info:
            client.search_registered_models()
        assert info.value.error_code == "UNAUTHENTICATED"


def test_root_health_is_public_and_get_artifact_needs_credentials(governed: dict[str, str]) -> None:
    """MLflow's root endpoints behind the edge's authentication: the liveness probe ``/health``
    answers without credentials (as ``/api/v1/health``), the UI's ``get-artifact`` does not and
    answers in MLflow's error shape."""
    url = governed["url"]
    r = httpx.get(f"{url}/health")
    assert (r.status_code, r.text) == (200, "OK")
    params = {"name": "auth-root", "version": "1", "path": "MLmodel"}
    r = httpx.get(f"{url}/model-versions/get-artifact", params=params)
    assert (r.status_code, r.json()["error_code"]) == (401, "UNAUTHENTICATED")
    r = httpx.get(
        f"{url}/model-versions/get-artifact", params=params, headers={"Authorization": f"Bearer {governed['vic']}"}
    )
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_viewer_reads_but_cannot_write(governed: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"]).create_registered_model("auth-ro")
    viewer = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["vic"])
    assert viewer.get_registered_model("auth-ro").name == "auth-ro"
    with pytest.raises(RestException) as info:
        viewer.create_registered_model("auth-denied")
    assert info.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(RestException) as info:
        viewer.set_registered_model_tag("auth-ro", "k", "v")
    assert info.value.error_code == "PERMISSION_DENIED"
    assert viewer.get_registered_model("auth-ro").tags == {}


def test_restricted_registry_is_invisible_to_outsiders(
    governed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_url = governed["url"] + "/mlflow/secret"
    _client(monkeypatch, secret_url, MLFLOW_TRACKING_TOKEN=governed["mia"]).create_registered_model("hidden-model")
    outsider = _client(monkeypatch, secret_url, MLFLOW_TRACKING_TOKEN=governed["outsider"])
    with pytest.raises(RestException) as info:
        outsider.get_registered_model("hidden-model")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(RestException) as missing:
        outsider.get_registered_model("never-existed")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert str(info.value).replace("hidden-model", "X") == str(missing.value).replace("never-existed", "X")


def test_tracking_and_multipart_artifacts_are_private_to_the_experiment(
    governed: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real client logs a multipart artifact with its token (part uploads carry the headers
    handed back by ``mpu/create``); another principal sees neither the experiment nor its bytes."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1000")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "4096")
    mia = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"])
    eid = mia.create_experiment("mia-private")
    run = mia.create_run(eid)
    payload = bytes(range(256)) * 70  # 17,920 bytes: 5 parts
    (tmp_path / "big.bin").write_bytes(payload)
    mia.log_artifact(run.info.run_id, str(tmp_path / "big.bin"))
    mia.log_metric(run.info.run_id, "acc", 0.9)
    mia.download_artifacts(run.info.run_id, "big.bin", str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "big.bin").read_bytes() == payload
    anonymous_part = httpx.put(f"{governed['url']}/api/2.0/mlflow-artifacts/mpu/parts/x/1", content=b"x")
    assert anonymous_part.status_code == 401

    outsider = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["outsider"])
    for read in (lambda: outsider.get_experiment(eid), lambda: outsider.get_run(run.info.run_id)):
        with pytest.raises(RestException) as info:
            read()
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [e.experiment_id for e in outsider.search_experiments() if e.experiment_id == eid] == []
    assert outsider.search_runs([eid]) == []
    with pytest.raises(MlflowException):
        outsider.download_artifacts(run.info.run_id, "big.bin", str(tmp_path / "stolen"))
    big = f"{governed['url']}/api/2.0/mlflow-artifacts/artifacts/{eid}/{run.info.run_id}/artifacts/big.bin"
    assert httpx.get(big, headers={"Authorization": f"Bearer {governed['outsider']}"}).status_code == 404
    assert httpx.get(big, headers={"Authorization": f"Bearer {governed['mia']}"}).content == payload


def test_production_stage_is_guarded_like_the_production_alias(
    governed: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A policy on the ``production`` alias also guards the Production stage: a member's
    ``transition_model_version_stage`` is refused as the alias move is, ``models:/x/Production``
    resolves only to a version an approved request put there, and an admin may separate them."""
    import mlflow

    name = "stage-guarded"
    mia = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"])
    mia.create_registered_model(name)
    eid = mia.create_experiment("stage-guard")
    run = mia.create_run(eid)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"approved weights")
    mia.log_artifacts(run.info.run_id, str(tmp_path / "model"), artifact_path="model")
    for _ in range(2):
        mia.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    with Client(governed["url"], token=governed["admin"]) as admin:
        admin.set_promotion_policy("models", "production", requirements={"approvals": 1}, collection=name)

        with pytest.raises(RestException) as alias_info:
            mia.set_registered_model_alias(name, "production", "1")
        with pytest.raises(RestException) as stage_info:
            mia.transition_model_version_stage(name, "1", "Production")
        assert stage_info.value.error_code == alias_info.value.error_code == "RESOURCE_CONFLICT"
        assert stage_info.value.get_http_status_code() == 409
        assert "promotion request" in stage_info.value.message
        assert mia.get_latest_versions(name, ["Production"]) == []
        mlflow.set_tracking_uri(governed["url"])
        mlflow.set_registry_uri(governed["url"])
        try:
            with pytest.raises(MlflowException):
                mlflow.artifacts.download_artifacts(f"models:/{name}/Production", dst_path=str(tmp_path / "none"))

            # Through an approved promotion request the stage moves, and models:/x/Production loads it.
            with Client(governed["url"], token=governed["mia"]) as member:
                req = member.request_promotion(f"models/{name}:1", "Production", target_kind="stage")
            assert req.status == "open"
            assert admin.approve_promotion(req.id).status == "completed"
            assert [v.version for v in mia.get_latest_versions(name, ["Production"])] == ["1"]
            out = mlflow.artifacts.download_artifacts(f"models:/{name}/Production", dst_path=str(tmp_path / "dl"))
            assert (Path(out) / "weights.bin").read_bytes() == b"approved weights"

            # The admin separates the stage from the alias: the old behaviour is back.
            admin.set_promotion_policy(
                "models", "production", requirements={"approvals": 1, "guards_stage": False}, collection=name
            )
            mia.transition_model_version_stage(name, "2", "Production")
            assert sorted(v.current_stage for v in mia.search_model_versions(f"name='{name}'")) == [
                "Production",
                "Production",
            ]
            with pytest.raises(RestException):  # the alias itself is still guarded
                mia.set_registered_model_alias(name, "production", "2")
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            mlflow.set_registry_uri(None)  # type: ignore[arg-type]
