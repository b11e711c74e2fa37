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
