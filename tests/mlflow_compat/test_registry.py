"""Every model-registry endpoint through the real mlflow client, with results and error codes."""

from __future__ import annotations

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .conftest import Server


def _error(fn, *args, **kwargs) -> MlflowException:  # type: ignore[no-untyped-def]
    with pytest.raises(MlflowException) as exc:
        fn(*args, **kwargs)
    return exc.value


def _versions(client: MlflowClient, name: str, n: int) -> None:
    for _ in range(n):
        client.create_model_version(name, "s3://bucket/some/model")


def test_registered_model_lifecycle(server: Server, uri: str) -> None:
    client = MlflowClient()
    name, renamed = server.name("rm"), server.name("renamed")
    created = client.create_registered_model(name, tags={"team": "ads"}, description="ctr model")
    assert (created.name, created.description, created.tags) == (name, "ctr model", {"team": "ads"})
    assert created.creation_timestamp > 1_600_000_000_000

    err = _error(client.create_registered_model, name)
    assert (err.error_code, err.get_http_status_code()) == ("RESOURCE_ALREADY_EXISTS", 400)

    assert client.update_registered_model(name, description="new").description == "new"
    client.set_registered_model_tag(name, "owner", "ana")
    client.delete_registered_model_tag(name, "team")
    client.delete_registered_model_tag(name, "never-set")  # a no-op, as in MLflow
    assert client.get_registered_model(name).tags == {"owner": "ana"}

    _versions(client, name, 2)
    client.rename_registered_model(name, renamed)
    assert client.get_registered_model(renamed).name == renamed
    assert [v.version for v in client.search_model_versions(f"name = '{renamed}'")] == ["2", "1"]
    err = _error(client.get_registered_model, name)
    assert (err.error_code, err.get_http_status_code()) == ("RESOURCE_DOES_NOT_EXIST", 404)

    client.delete_registered_model(renamed)
    assert _error(client.get_registered_model, renamed).error_code == "RESOURCE_DOES_NOT_EXIST"
    assert _error(client.delete_registered_model, renamed).error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_version_lifecycle(server: Server, uri: str) -> None:
    client = MlflowClient()
    name = server.name("mv")
    client.create_registered_model(name)
    err = _error(client.create_model_version, server.name("missing"), "s3://b/m")
    assert err.error_code == "RESOURCE_DOES_NOT_EXIST"

    v = client.create_model_version(
        name, "s3://b/m", run_id="r1", tags={"k": "v"}, description="d", run_link="http://ci/1"
    )
    assert (v.version, v.source, v.run_id, v.tags, v.description, v.current_stage, v.status) == (
        "1",
        "s3://b/m",
        "r1",
        {"k": "v"},
        "d",
        "None",
        "READY",
    )
    assert v.run_link == "http://ci/1"
    got = client.get_model_version(name, "1")
    assert (got.version, got.tags) == ("1", {"k": "v"})
    assert client.update_model_version(name, "1", description="better").description == "better"
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.delete_model_version_tag(name, "1", "k")
    client.delete_model_version_tag(name, "1", "absent")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    assert client.get_model_version_download_uri(name, "1") == "s3://b/m"

    _versions(client, name, 1)
    client.set_registered_model_alias(name, "candidate", "2")
    client.delete_model_version(name, "2")
    assert _error(client.get_model_version, name, "2").error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(name).aliases == {}
    assert client.create_model_version(name, "s3://b/m").version == "3"  # numbers are never reused
    assert _error(client.get_model_version, name, "99").error_code == "RESOURCE_DOES_NOT_EXIST"


def test_aliases(server: Server, uri: str) -> None:
    client = MlflowClient()
    name = server.name("alias")
    client.create_registered_model(name)
    _versions(client, name, 3)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "champion", "2")  # moves it
    client.set_registered_model_alias(name, "challenger", "3")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_model_version_by_alias(name, "champion").aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "3"}
    assert client.get_model_version_by_alias(name, "latest").version == "3"
    client.delete_registered_model_alias(name, "challenger")
    client.delete_registered_model_alias(name, "challenger")  # deleting twice is a no-op
    err = _error(client.get_model_version_by_alias, name, "challenger")
    assert (err.error_code, err.get_http_status_code()) == ("INVALID_PARAMETER_VALUE", 400)
    for reserved in ("latest", "v7"):
        assert _error(client.set_registered_model_alias, name, reserved, "1").error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.set_registered_model_alias, name, "ok", "42").error_code == "RESOURCE_DOES_NOT_EXIST"


def test_stages_and_latest_versions(server: Server, uri: str) -> None:
    client = MlflowClient()
    name = server.name("stage")
    client.create_registered_model(name)
    _versions(client, name, 4)
    client.transition_model_version_stage(name, "1", "Staging")
    client.transition_model_version_stage(name, "2", "staging")
    client.transition_model_version_stage(name, "3", "Production")
    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest == {"None": "4", "Staging": "2", "Production": "3"}
    assert [v.version for v in client.get_latest_versions(name, stages=["Staging"])] == ["2"]
    rm = client.get_registered_model(name)
    assert sorted((v.current_stage, v.version) for v in rm.latest_versions) == [
        ("None", "4"),
        ("Production", "3"),
        ("Staging", "2"),
    ]

    moved = client.transition_model_version_stage(name, "4", "Staging", archive_existing_versions=True)
    assert moved.current_stage == "Staging"
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name='{name}'")}
    assert stages == {"1": "Archived", "2": "Archived", "3": "Production", "4": "Staging"}
    err = _error(client.transition_model_version_stage, name, "1", "Retired")
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    assert _error(client.get_latest_versions, server.name("nope")).error_code == "RESOURCE_DOES_NOT_EXIST"
    # The stage is a legacy field of the native version too.
    native = httpx.get(f"{uri}/api/v1/registries/models/collections/{name}/versions/4").json()
    assert native["stage"] == "Staging"


def test_search_registered_models(server: Server, uri: str) -> None:
    client = MlflowClient()
    prefix = server.name("srch")
    names = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    for i, n in enumerate(names):
        client.create_registered_model(n, tags={"team": "x" if i < 2 else "y", "mlflow.source.k": str(i)})
    r = httpx.post(
        f"{uri}/api/2.0/mlflow/registered-models/create",  # the client refuses prompt tags
        json={"name": f"{prefix}-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]},
    )
    assert r.status_code == 200

    found = [m.name for m in client.search_registered_models(f"name LIKE '{prefix}%'")]
    assert found == sorted(names)  # prompts are hidden by the client's backticked `tag.` != clause
    assert [m.name for m in client.search_registered_models(f"name ILIKE '{prefix.upper()}-C'")] == [names[2]]
    assert [m.name for m in client.search_registered_models(f"name LIKE '{prefix}-C'")] == []
    assert [m.name for m in client.search_registered_models(f"name = '{names[1]}'")] == [names[1]]
    assert [m.name for m in client.search_registered_models(f"name LIKE '{prefix}%' AND tags.team = 'x'")] == names[:2]
    assert [
        m.name for m in client.search_registered_models(f"name LIKE '{prefix}%' AND tags.`mlflow.source.k` = '2'")
    ] == [names[2]]
    assert [
        m.name for m in client.search_registered_models(f"name LIKE '{prefix}%' AND name != '{names[0]}'")
    ] == names[1:]
    ordered = client.search_registered_models(f"name LIKE '{prefix}%'", order_by=["name DESC"])
    assert [m.name for m in ordered] == sorted(names, reverse=True)
    by_time = client.search_registered_models(f"name LIKE '{prefix}%'", order_by=["creation_timestamp ASC"])
    assert [m.name for m in by_time] == names

    page1 = client.search_registered_models(f"name LIKE '{prefix}%'", max_results=2)
    assert len(page1) == 2 and page1.token
    page2 = client.search_registered_models(f"name LIKE '{prefix}%'", max_results=2, page_token=page1.token)
    assert [m.name for m in page1] + [m.name for m in page2] == sorted(names) and not page2.token

    for bad in ("name = ", "name = 'a' OR name = 'b'", "nonsense ~ 1", "tags.x > 'a'"):
        assert _error(client.search_registered_models, bad).error_code == "INVALID_PARAMETER_VALUE", bad
    err = _error(client.search_registered_models, order_by=["size"])
    assert err.error_code == "INVALID_PARAMETER_VALUE"
    r = httpx.get(f"{uri}/api/2.0/mlflow/registered-models/search", params={"page_token": "garbage!"})
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_search_model_versions(server: Server, uri: str) -> None:
    client = MlflowClient()
    a, b = server.name("sva"), server.name("svb")
    for n in (a, b):
        client.create_registered_model(n)
    client.create_model_version(a, "s3://b/1", run_id="run-1", tags={"env": "prod"})
    client.create_model_version(a, "s3://b/2", run_id="run-2")
    client.create_model_version(b, "s3://b/3", run_id="run-1")

    def search(f: str, **kw) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
        return [(v.name, v.version) for v in client.search_model_versions(f, **kw)]

    assert search(f"name = '{a}'") == [(a, "2"), (a, "1")]
    # MLflow's default order: last update first (b's version was made last)
    assert search(f"name IN ('{a}', '{b}') AND run_id = 'run-1'") == [(b, "1"), (a, "1")]
    assert search(f"name = '{a}' AND version_number >= 2") == [(a, "2")]
    assert search(f"name = '{a}' AND tags.env = 'prod'") == [(a, "1")]
    assert search(f"name = '{a}' AND source_path = 's3://b/2'") == [(a, "2")]
    assert search(f"name = '{a}'", order_by=["version_number ASC"]) == [(a, "1"), (a, "2")]
    page = client.search_model_versions(f"name = '{a}'", max_results=1)
    assert len(page) == 1 and page.token
    assert _error(client.search_model_versions, "version_number = 'x'").error_code == "INVALID_PARAMETER_VALUE"


def test_registry_prefix_selects_another_registry(server: Server, uri: str) -> None:
    prefixed = f"{uri}/mlflow/datasets"
    client = MlflowClient(tracking_uri=prefixed, registry_uri=prefixed)
    name = server.name("ds")
    client.create_registered_model(name, tags={"k": "v"})
    client.create_model_version(name, "s3://b/d")
    assert client.get_registered_model(name).name == name
    assert _error(MlflowClient().get_registered_model, name).error_code == "RESOURCE_DOES_NOT_EXIST"
    native = httpx.get(f"{uri}/api/v1/registries/datasets/collections/{name}")
    assert native.status_code == 200 and native.json()["tags"] == {"k": "v"}
    missing = MlflowClient(tracking_uri=f"{uri}/mlflow/no-such-registry", registry_uri=f"{uri}/mlflow/no-such-registry")
    assert _error(missing.search_registered_models).error_code == "RESOURCE_DOES_NOT_EXIST"


def test_wire_details(server: Server, uri: str) -> None:
    """Status codes, both API roots, GET and POST get-latest-versions, and the error body shape."""
    name = server.name("wire")
    r = httpx.post(f"{uri}/ajax-api/2.0/mlflow/registered-models/create", json={"name": name})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == name
    r = httpx.post(f"{uri}/api/2.0/mlflow/registered-models/create", json={"name": name})
    assert (r.status_code, r.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    # MLflow's error body: error_code, message, and the sqlstate/error_class its client reads.
    assert r.json() == {
        "error_code": "RESOURCE_ALREADY_EXISTS",
        "message": r.json()["message"],
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_ALREADY_EXISTS",
    }
    r = httpx.post(f"{uri}/api/2.0/mlflow/registered-models/create", json={})
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    r = httpx.get(f"{uri}/api/2.0/mlflow/registered-models/get", params={"name": "absent-model"})
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = httpx.get(f"{uri}/api/2.0/mlflow/registered-models/get-latest-versions", params={"name": name})
    assert r.status_code == 200 and r.json() == {}  # MLflow leaves empty repeated fields out
    r = httpx.post(f"{uri}/api/2.0/mlflow/registered-models/get-latest-versions", json={"name": name})
    assert r.status_code == 200
    r = httpx.post(f"{uri}/api/2.0/mlflow/registered-models/create", content=f'"{{\\"name\\": \\"{name}-2\\"}}"')
    assert r.status_code == 200, r.text  # the double-encoded body old clients send
    r = httpx.get(f"{uri}/api/2.0/mlflow/no-such-endpoint")
    assert (r.status_code, r.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    # The native API keeps its own error shape.
    r = httpx.get(f"{uri}/api/v1/registries/models/collections/absent-model")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert mlflow.get_tracking_uri() == uri
