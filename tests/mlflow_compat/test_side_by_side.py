"""Side by side with a real ``mlflow server`` (issue 10, "Breaks working code today").

Each check makes the same real-``mlflow``-client call against modelyard (a real server process,
SQLite and PostgreSQL) and against a real ``mlflow server`` (``mlflow_server``), and asserts the
answers are equal once ids, timestamps and users are normalized away. An error compares as its
MLflow error code.
"""

# Every lambda below is called at once by Pair.same, inside its loop iteration.
# ruff: noqa: B023

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .conftest import Server

# Fields that differ between any two servers (ids, clocks, users) or that the cosmetic section
# of issue 10 covers separately (description None vs '').
VOLATILE = {
    "creation_timestamp",
    "creation_time",
    "last_updated_time",
    "last_updated_timestamp",
    "user_id",
    "run_id",
    "run_link",
    "source",
    "status",
    "status_message",
    "model_id",
    "params",
    "metrics",
    "deployment_job_id",
    "deployment_job_state",
    "workspace",
}


def normalize(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [normalize(i) for i in x]
    if isinstance(x, dict):
        return {k: normalize(v) for k, v in x.items()}
    if hasattr(x, "__dict__") and not isinstance(x, type):
        out = {}
        for k, v in vars(x).items():
            k = k.lstrip("_")
            if k not in VOLATILE:
                out[k] = "" if k == "description" and v is None else normalize(v)
        return out
    return x


@dataclass
class Side:
    url: str
    client: MlflowClient
    source: str = ""
    run_id: str = ""


@dataclass
class Pair:
    """The same calls against modelyard and against MLflow; ``calls`` counts comparisons."""

    modelyard: Side
    mlflow: Side
    calls: list[str] = field(default_factory=list)

    def answer(self, side: Side, fn: Callable[[Side], Any]) -> Any:
        mlflow.set_tracking_uri(side.url)
        mlflow.set_registry_uri(side.url)
        try:
            return ("ok", normalize(fn(side)))
        except MlflowException as exc:
            return ("error", exc.error_code)

    def same(self, label: str, fn: Callable[[Side], Any]) -> Any:
        """Assert both servers answer ``fn`` alike; return the (normalized) answer."""
        ours, theirs = self.answer(self.modelyard, fn), self.answer(self.mlflow, fn)
        self.calls.append(label)
        assert ours == theirs, f"{label}: modelyard {str(ours)[:500]} != mlflow {str(theirs)[:500]}"
        return ours

    def register(self, name: str) -> None:
        """Create ``name`` with one version from a run of each server."""
        self.same(f"create {name!r}", lambda s: s.client.create_registered_model(name).name)
        self.same(
            f"version of {name!r}", lambda s: s.client.create_model_version(name, s.source, run_id=s.run_id).version
        )


def _run_source(client: MlflowClient, files: Path) -> tuple[str, str]:
    exp = client.create_experiment(f"sbs-{secrets.token_hex(4)}")
    run = client.create_run(exp)
    client.log_artifacts(run.info.run_id, str(files), "model")
    client.set_terminated(run.info.run_id)
    return f"runs:/{run.info.run_id}/model", run.info.run_id


COMPARED: list[int] = []


@pytest.fixture
def pair(server: Server, mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    files = tmp_path / "model"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    sides = []
    for url in (server.url, mlflow_server):
        side = Side(url, MlflowClient(tracking_uri=url, registry_uri=url))
        side.source, side.run_id = _run_source(side.client, files)
        sides.append(side)
    p = Pair(*sides)
    yield p
    COMPARED.append(len(p.calls))
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]


def uid(prefix: str = "m") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


# -- (1) names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "my model {}",
        "modèle-模型-{}",
        "{}" + "x" * 200,
        "_{}",
        "-{}",
        "{} ",
        "{}@x",
        "{}%25y",
        "{}%z",
        "catalog.schema.{}",
        ".{}",
    ],
)
def test_names_mlflow_accepts(pair: Pair, shape: str) -> None:
    name = shape.format(uid())
    pair.register(name)
    assert pair.same("get", lambda s: s.client.get_registered_model(name).name) == ("ok", name)
    pair.same("search by name", lambda s: [m.name for m in s.client.search_registered_models(f"name = '{name}'")])
    pair.same("set alias", lambda s: s.client.set_registered_model_alias(name, "champion", "1"))
    pair.same("get by alias", lambda s: s.client.get_model_version_by_alias(name, "champion").version)
    pair.same("set version tag", lambda s: s.client.set_model_version_tag(name, "1", "k", "v"))
    pair.same("get version", lambda s: s.client.get_model_version(name, "1"))

    def download(s: Side) -> list[str]:
        return sorted(
            os.listdir(mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tempfile.mkdtemp()))
        )

    assert pair.same("download models:/name@alias", download) == ("ok", ["MLmodel", "registered_model_meta"])
    renamed = f"{name} renamed"
    pair.same("rename", lambda s: s.client.rename_registered_model(name, renamed))
    pair.same("get renamed", lambda s: s.client.get_model_version(renamed, "1").version)


@pytest.mark.parametrize("name", ["a/b", "a:b", "", " ", ".", "..x"])
def test_names_mlflow_refuses(pair: Pair, name: str) -> None:
    assert pair.same(f"create {name!r}", lambda s: s.client.create_registered_model(name))[0] == "error"


def test_names_are_case_sensitive(pair: Pair) -> None:
    upper = uid("X")
    lower = upper.lower()
    pair.register(upper)
    assert pair.same("get lower before", lambda s: s.client.get_registered_model(lower)) == (
        "error",
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert pair.same("create lower", lambda s: s.client.create_registered_model(lower).name) == ("ok", lower)
    pair.same("get upper", lambda s: s.client.get_registered_model(upper).name)
    pair.same("get lower", lambda s: [v.version for v in s.client.search_model_versions(f"name = '{lower}'")])
    pair.same("create upper again", lambda s: s.client.create_registered_model(upper))
    pair.same("rename lower onto upper", lambda s: s.client.rename_registered_model(lower, upper))


# -- (2) tags and aliases ------------------------------------------------------------------------------


def test_tag_values_up_to_100000_characters(pair: Pair) -> None:
    name = uid()
    pair.register(name)
    big, too_big = "v" * 100_000, "v" * 100_001
    pair.same("model tag 100000", lambda s: s.client.set_registered_model_tag(name, "k", big))
    pair.same("model tag 100001", lambda s: s.client.set_registered_model_tag(name, "k2", too_big))
    pair.same("version tag 100000", lambda s: s.client.set_model_version_tag(name, "1", "k", big))
    pair.same("version tag 100001", lambda s: s.client.set_model_version_tag(name, "1", "k2", too_big))
    assert pair.same("read back", lambda s: len(s.client.get_model_version(name, "1").tags["k"])) == ("ok", 100_000)
    assert pair.same("read back model", lambda s: len(s.client.get_registered_model(name).tags["k"])) == (
        "ok",
        100_000,
    )


def test_alias_names_and_case(pair: Pair) -> None:
    name = uid()
    pair.register(name)
    pair.same("v2", lambda s: s.client.create_model_version(name, s.source, run_id=s.run_id).version)
    for alias in ["1st", "_x", "grün", "a" * 255, "a-b", "Prod"]:
        assert pair.same(f"set {alias[:20]}", lambda s: s.client.set_registered_model_alias(name, alias, "1")) == (
            "ok",
            None,
        )
    for alias in ["a" * 256, "latest", "LATEST", "v1", "has.dot", "sp ace"]:
        pair.same(f"refuse {alias[:20]}", lambda s: s.client.set_registered_model_alias(name, alias, "1"))
    pair.same("prod is not Prod", lambda s: s.client.get_model_version_by_alias(name, "prod"))
    pair.same("set prod", lambda s: s.client.set_registered_model_alias(name, "prod", "2"))
    assert pair.same("Prod kept", lambda s: s.client.get_model_version_by_alias(name, "Prod").version) == ("ok", "1")
    assert pair.same("prod", lambda s: s.client.get_model_version_by_alias(name, "prod").version) == ("ok", "2")
    for latest in ["latest", "Latest", "LATEST"]:
        assert pair.same(latest, lambda s: s.client.get_model_version_by_alias(name, latest).version) == ("ok", "2")
    pair.same("aliases", lambda s: s.client.get_registered_model(name).aliases)
    pair.same("delete Prod", lambda s: s.client.delete_registered_model_alias(name, "Prod"))
    pair.same("aliases after", lambda s: s.client.get_registered_model(name).aliases)


# -- (3) searches, versions, sources, endpoints ---------------------------------------------------------


def test_search_orders_by_last_update(pair: Pair) -> None:
    name = uid()
    pair.register(name)
    for n in ("2", "3"):
        pair.same(f"v{n}", lambda s: s.client.create_model_version(name, s.source, run_id=s.run_id).version)
    pair.same("update v1", lambda s: s.client.update_model_version(name, "1", "newest").version)
    got = pair.same("default order", lambda s: [v.version for v in s.client.search_model_versions(f"name = '{name}'")])
    assert got[1][0] == "1"  # code that takes [0] gets the last updated version
    older, newer = uid("a"), uid("b")
    pair.register(older)
    pair.register(newer)
    pair.same("touch older", lambda s: s.client.update_registered_model(older, "touched"))
    for order in (["timestamp DESC"], ["last_updated_timestamp DESC"], ["timestamp ASC"]):
        got = pair.same(
            f"models {order}",
            lambda s: [
                m.name for m in s.client.search_registered_models(f"name IN ('{older}', '{newer}')", order_by=order)
            ],
        )
        assert got[1] == ([older, newer] if "DESC" in order[0] else [newer, older])


def test_tag_not_equal_excludes_items_without_the_tag(pair: Pair) -> None:
    tagged, untagged = uid(), uid()
    for n in (tagged, untagged):
        pair.register(n)
    pair.same("tag model", lambda s: s.client.set_registered_model_tag(tagged, "x", "a"))
    pair.same("tag version", lambda s: s.client.set_model_version_tag(tagged, "1", "x", "a"))
    both = f"name IN ('{tagged}', '{untagged}')"
    assert pair.same(
        "models !=", lambda s: [m.name for m in s.client.search_registered_models(f"{both} and tags.x != 'v'")]
    ) == ("ok", [tagged])
    assert pair.same(
        "versions !=", lambda s: [v.name for v in s.client.search_model_versions(f"{both} and tags.x != 'v'")]
    ) == ("ok", [tagged])


def test_max_results_zero_and_negative(pair: Pair) -> None:
    for n in (0, -1):
        url = "/api/2.0/mlflow/registered-models/search"
        pair.same(
            f"models max_results={n}",
            lambda s: (lambda r: (r.status_code, r.json().get("registered_models", [])))(
                httpx.get(s.url + url, params={"max_results": n})
            ),
        )
        pair.same(f"versions max_results={n}", lambda s: s.client.search_model_versions(max_results=n))


def test_version_numbers_no_version_has(pair: Pair) -> None:
    name = uid()
    pair.register(name)
    for v in ("0", "-1", "99", "abc"):
        pair.same(f"get {v}", lambda s: s.client.get_model_version(name, v))
        pair.same(f"tag {v}", lambda s: s.client.set_model_version_tag(name, v, "k", "v"))
        pair.same(f"alias {v}", lambda s: s.client.set_registered_model_alias(name, "a", v))


def test_models_uri_sources(pair: Pair) -> None:
    name = uid()
    pair.register(name)
    pair.same("alias", lambda s: s.client.set_registered_model_alias(name, "champion", "1"))
    pair.same("stage", lambda s: s.client.transition_model_version_stage(name, "1", "Production").current_stage)
    for source in (f"models:/{uid()}@champion", f"models:/{uid()}/1", f"models:/{name}@nope", f"models:/{name}/9"):
        assert pair.same(source, lambda s: s.client.create_model_version(name, source))[0] == "error"
    for source in (f"models:/{name}@champion", f"models:/{name}/latest", f"models:/{name}/Production"):
        got = pair.same(f"source {source}", lambda s: s.client.create_model_version(name, source).version)
        number = got[1]
        pair.same(f"stored source of {number}", lambda s: s.client.get_model_version(name, number)._source)


def test_prompts_are_hidden_from_model_searches(pair: Pair) -> None:
    prompt = uid("p")
    pair.same("register prompt", lambda s: mlflow.genai.register_prompt(prompt, "Hello {{x}}").version)
    where = f"name = '{prompt}'"
    assert pair.same("client search", lambda s: s.client.search_registered_models(where)) == ("ok", [])
    assert pair.same(
        "raw search",
        lambda s: (
            httpx.get(f"{s.url}/api/2.0/mlflow/registered-models/search", params={"filter": where})
            .json()
            .get("registered_models", [])
        ),
    ) == ("ok", [])
    assert pair.same("versions", lambda s: s.client.search_model_versions(where)) == ("ok", [])
    asked = f"{where} and tags.`mlflow.prompt.is_prompt` = 'true'"
    pair.same("asked for", lambda s: [m.name for m in s.client.search_registered_models(asked)])
    pair.same("search_prompts", lambda s: [p.name for p in mlflow.genai.search_prompts(where)])
    pair.same("load_prompt", lambda s: mlflow.genai.load_prompt(f"prompts:/{prompt}/1").template)


def test_root_endpoints(pair: Pair) -> None:
    name = uid("model with space@%25")
    pair.register(name)

    def get(route: str, **params: str) -> Callable[[Side], Any]:
        return lambda s: (lambda r: (r.status_code, r.content))(httpx.get(s.url + route, params=params))

    assert pair.same("health", get("/health")) == ("ok", [200, b"OK"])
    art = "/model-versions/get-artifact"
    assert pair.same("get-artifact", get(art, name=name, version="1", path="MLmodel")) == (
        "ok",
        [200, b"flavors: {}\n"],
    )
    pair.same(
        "get-artifact missing file",
        lambda s: httpx.get(s.url + art, params={"name": name, "version": "1", "path": "nope"}).status_code,
    )
    pair.same(
        "get-artifact missing version",
        lambda s: httpx.get(s.url + art, params={"name": name, "version": "7", "path": "MLmodel"}).status_code,
    )
    pair.same("server-info fields", lambda s: sorted(httpx.get(f"{s.url}/api/3.0/mlflow/server-info").json()))


def test_report_the_number_of_calls_compared() -> None:
    """Runs last in this module: every side-by-side test above compared at least one call."""
    assert COMPARED and all(n > 0 for n in COMPARED), COMPARED
    print(f"\nside by side with mlflow server: {sum(COMPARED)} calls compared, all equal")
