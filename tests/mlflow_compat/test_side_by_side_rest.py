"""Side by side: the same raw REST calls against a real ``mlflow server`` and a real modelyard
server, compared call by call after normalizing ids, timestamps and hosts.

Raw HTTP (httpx), not the mlflow client, so cosmetic fields a hand-written REST client sees
(``''`` versus a missing field, ``{}`` versus an empty list, ``error_class``) are compared too.

What is compared: the HTTP status and the normalized JSON body. Error messages are compared only
for calls marked ``message=True`` (modelyard words most of its errors itself); the error body's
keys, ``error_code``, ``sqlstate`` and ``error_class`` are always compared. Timestamps become
``<t@N>``, N being the first call whose response showed that value on that server, so "this call
moved ``last_updated_timestamp``" is compared, not the clock.

``KNOWN_DIFFERENCES`` lists the calls allowed to differ, each with its reason. Everything else
must match, and every listed call must still differ (so the list cannot go stale silently).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from .conftest import Server

API = "/api/2.0/mlflow"

# label -> reason.
KNOWN_DIFFERENCES: dict[str, str] = {
    "lineage runs unknown run_id": "deliberate: modelyard copies a version's files at registration, and a "
    "run that does not exist has none; MLflow records the reference",
    "get-download-uri copied version": "deliberate: modelyard serves its own immutable copy "
    "(mlflow-artifacts:/_modelyard/…) where MLflow returns the source (docs/mlflow.md)",
    "unknown endpoint": "deliberate: modelyard answers MLflow's JSON ENDPOINT_NOT_FOUND where MLflow's Flask "
    "app sends an HTML page",
    "search duplicate order_by": "deliberate: modelyard orders by the first; MLflow fails with a 500",
    "transition archive to None": "deliberate: modelyard archives nothing for a non-active stage; MLflow fails",
    "rename": "modelyard leaves the versions' last_updated_timestamp alone on a rename; MLflow moves them",
    "get renamed": "as 'rename'",
}


@dataclass
class Call:
    label: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    message: bool = False  # compare the error message too
    status_only: bool = False  # setup calls (tracking): only the status is compared
    capture: Callable[[dict[str, Any]], dict[str, str]] | None = None


@dataclass
class Side:
    """One server's view of the sequence: its base URL and the ids it handed out."""

    base: str
    values: dict[str, str] = field(default_factory=dict)  # placeholder -> this server's value
    times: dict[int, str] = field(default_factory=dict)  # epoch ms -> "<t@N>"

    def fill(self, obj: Any) -> Any:
        if isinstance(obj, str):
            for key, value in self.values.items():
                obj = obj.replace("{" + key + "}", value)
            return obj
        if isinstance(obj, list):
            return [self.fill(x) for x in obj]
        if isinstance(obj, dict):
            return {k: self.fill(v) for k, v in obj.items()}
        return obj

    def call(self, client: httpx.Client, c: Call, index: int) -> tuple[int, Any]:
        path = self.fill(c.path)
        url = self.base + (path if path.startswith("/") else f"{API}/{path}")
        body = self.fill(c.body or {})
        if c.method == "GET":
            r = client.get(url, params=body)
        elif c.method == "PUT":
            r = client.put(url, content=body["content"].encode())
        else:
            r = client.request(c.method, url, json=body)
        try:
            data = r.json()
        except ValueError:
            data = r.text
        if c.capture and r.status_code == 200:
            self.values.update(c.capture(data))
        return r.status_code, self.normalize(data, index)

    def _replacements(self) -> list[tuple[str, str]]:
        """(value, placeholder) pairs, longest value first. A run's artifact location is one
        placeholder however the server writes it: modelyard proxies artifacts
        (``mlflow-artifacts:/…``), the oracle (``mlflow_server``) keeps them under a local root
        (``/tmp/…``), and a caller may put ``mlflow-artifacts:`` before either."""
        pairs = []
        for placeholder, value in self.values.items():
            if not value or placeholder == "exp":
                continue
            name = placeholder.removesuffix("_uri") + "_art" if placeholder.endswith("_uri") else placeholder
            pairs.append((value, name))
            if placeholder.endswith("_art"):
                pairs.append(("mlflow-artifacts:" + value, name))
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def normalize(self, obj: Any, index: int, key: str = "") -> Any:
        if isinstance(obj, dict):
            out = {k: self.normalize(v, index, k) for k, v in obj.items()}
            if isinstance(out.get("tags"), list):
                # MLflow loads tags without ORDER BY (insertion order on SQLite); modelyard sorts by key.
                out["tags"].sort(key=lambda tag: tag["key"])
            if key == "registered_models" and "latest_versions" in out:
                # MLflow's search reads latest_versions with a SQL query without ORDER BY: no order.
                out["latest_versions"].sort(key=lambda v: int(v["version"]))
            return out
        if isinstance(obj, list):
            return [self.normalize(x, index, key) for x in obj]
        if isinstance(obj, int) and not isinstance(obj, bool) and ("time" in key or "timestamp" in key):
            return self.times.setdefault(obj, f"<t@{index}>")
        if isinstance(obj, str):
            if key == "next_page_token":
                return "<token>"
            if key == "experiment_id":
                return "{exp}"
            for value, placeholder in self._replacements():
                obj = obj.replace(value, "{" + placeholder + "}")
            return obj.replace(self.base, "<host>")
        return obj


def _run(data: dict[str, Any], prefix: str) -> dict[str, str]:
    info = data["run"]["info"]
    uri = info["artifact_uri"]
    return {prefix: info["run_id"], f"{prefix}_art": uri.removeprefix("mlflow-artifacts:"), f"{prefix}_uri": uri}


def calls() -> list[Call]:
    """The sequence: the registry API broadly, with the lineage and error cases."""
    m, b, c = "{p}-a", "{p}-b", "{p}-c"
    mv = "model-versions"
    rm = "registered-models"
    s3 = "s3://bucket/models/one"
    out = [
        Call(
            "create experiment",
            "POST",
            "experiments/create",
            {"name": "{p}-exp"},
            capture=lambda d: {"exp": d["experiment_id"]},
            status_only=True,
        ),
        Call(
            "create run",
            "POST",
            "runs/create",
            {"experiment_id": "{exp}"},
            capture=lambda d: _run(d, "run"),
            status_only=True,
        ),
        Call(
            "create run 2",
            "POST",
            "runs/create",
            {"experiment_id": "{exp}"},
            capture=lambda d: _run(d, "run2"),
            status_only=True,
        ),
        Call(
            "upload run artifact",
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts{run_art}/model/MLmodel",
            {"content": "flavors: {}\n"},
            status_only=True,
        ),
        Call(
            "upload run 2 artifact",
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts{run2_art}/model/MLmodel",
            {"content": "flavors: {python_function: {}}\n"},
            status_only=True,
        ),
        # registered models
        Call(
            "create model",
            "POST",
            f"{rm}/create",
            {"name": m, "description": "d", "tags": [{"key": "t", "value": "1"}]},
        ),
        Call("create model again", "POST", f"{rm}/create", {"name": m}),
        Call("create model b", "POST", f"{rm}/create", {"name": b}),
        Call("create model missing name", "POST", f"{rm}/create", {}),
        Call("get model", "GET", f"{rm}/get", {"name": m}),
        Call("get model b (empty description)", "GET", f"{rm}/get", {"name": b}),
        Call("get missing model", "GET", f"{rm}/get", {"name": "{p}-nope"}),
        Call("update model", "PATCH", f"{rm}/update", {"name": m, "description": "new"}),
        Call("set model tag", "POST", f"{rm}/set-tag", {"name": m, "key": "k", "value": "v"}),
        Call("get model after tag", "GET", f"{rm}/get", {"name": m}),
        Call("delete model tag", "DELETE", f"{rm}/delete-tag", {"name": m, "key": "t"}),
        Call("delete unset model tag", "DELETE", f"{rm}/delete-tag", {"name": m, "key": "never"}),
        Call("create model t", "POST", f"{rm}/create", {"name": "{p}-t"}),
        Call("set-tag 6000 chars", "POST", f"{rm}/set-tag", {"name": "{p}-t", "key": "long", "value": "x" * 6000}),
        Call("delete model t", "DELETE", f"{rm}/delete", {"name": "{p}-t"}),
        # versions and their lineage
        Call("create version s3", "POST", f"{mv}/create", {"name": m, "source": s3}),
        Call(
            "create version runs", "POST", f"{mv}/create", {"name": m, "source": "runs:/{run}/model", "run_id": "{run}"}
        ),
        Call(
            "create version artifacts",
            "POST",
            f"{mv}/create",
            # the run's own artifact location: mlflow-artifacts:/… on modelyard, a local path on the oracle
            {"name": m, "source": "{run_uri}/model", "run_id": "{run}", "description": "third"},
        ),
        Call("lineage runs without run_id", "POST", f"{mv}/create", {"name": m, "source": "runs:/{run}/model"}, True),
        Call(
            "lineage runs other run_id",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "runs:/{run}/model", "run_id": "{run2}"},
            True,
        ),
        Call("create model u", "POST", f"{rm}/create", {"name": "{p}-u"}),
        Call(
            "lineage runs unknown run_id",
            "POST",
            f"{mv}/create",
            {
                "name": "{p}-u",
                "source": "runs:/0123456789abcdef0123456789abcdef/model",
                "run_id": "0123456789abcdef0123456789abcdef",
            },
        ),
        Call("delete model u", "DELETE", f"{rm}/delete", {"name": "{p}-u"}),
        Call(
            "lineage artifacts of another run",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "mlflow-artifacts:{run2_art}/model", "run_id": "{run}"},
            True,
        ),
        Call(
            "lineage artifacts without run_id",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "mlflow-artifacts:{run_art}/model"},
            True,
        ),
        Call(
            "lineage artifacts unknown run",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "mlflow-artifacts:{run_art}/model", "run_id": "0123456789abcdef0123456789abcdef"},
            True,
        ),
        Call("lineage https", "POST", f"{mv}/create", {"name": m, "source": "https://example.com/model"}, True),
        Call("lineage s3 traversal", "POST", f"{mv}/create", {"name": m, "source": "s3://b/a/../b"}, True),
        Call("lineage encoded traversal", "POST", f"{mv}/create", {"name": m, "source": "s3://b/a/%2e%2e/b"}, True),
        Call(
            "lineage runs with host",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "runs://other/{run}/model", "run_id": "{run}"},
            True,
        ),
        Call(
            "lineage logged model without model_id",
            "POST",
            f"{mv}/create",
            {"name": m, "source": "models:/m-0123abcd"},
            True,
        ),
        Call(
            "prompt version with a real source",
            "POST",
            f"{mv}/create",
            {"name": m, "source": s3, "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]},
            True,
        ),
        Call("create version missing model", "POST", f"{mv}/create", {"name": "{p}-nope", "source": s3}),
        Call("get version 1", "GET", f"{mv}/get", {"name": m, "version": "1"}),
        Call("get version 2", "GET", f"{mv}/get", {"name": m, "version": "2"}),
        Call("get version missing", "GET", f"{mv}/get", {"name": m, "version": "9"}),
        Call("get version 0", "GET", f"{mv}/get", {"name": m, "version": "0"}),
        Call("get version not a number", "GET", f"{mv}/get", {"name": m, "version": "x"}),
        Call("update version", "PATCH", f"{mv}/update", {"name": m, "version": "1", "description": "first"}),
        Call("set version tag", "POST", f"{mv}/set-tag", {"name": m, "version": "1", "key": "k", "value": "v"}),
        Call("get version after tag", "GET", f"{mv}/get", {"name": m, "version": "1"}),
        Call("delete version tag", "DELETE", f"{mv}/delete-tag", {"name": m, "version": "1", "key": "k"}),
        Call("get-download-uri s3 version", "GET", f"{mv}/get-download-uri", {"name": m, "version": "1"}),
        Call("get-download-uri copied version", "GET", f"{mv}/get-download-uri", {"name": m, "version": "2"}),
        # stages
        Call(
            "transition 1 Staging",
            "POST",
            f"{mv}/transition-stage",
            {"name": m, "version": "1", "stage": "Staging", "archive_existing_versions": False},
        ),
        Call("get version 1 after stage", "GET", f"{mv}/get", {"name": m, "version": "1"}),
        Call(
            "transition 2 Production",
            "POST",
            f"{mv}/transition-stage",
            {"name": m, "version": "2", "stage": "production", "archive_existing_versions": True},
        ),
        Call(
            "transition bad stage",
            "POST",
            f"{mv}/transition-stage",
            {"name": m, "version": "2", "stage": "Prod", "archive_existing_versions": False},
        ),
        Call("get model with stages", "GET", f"{rm}/get", {"name": m}),
        Call("latest versions", "POST", f"{rm}/get-latest-versions", {"name": m}),
        Call("latest versions Production", "POST", f"{rm}/get-latest-versions", {"name": m, "stages": ["Production"]}),
        Call("latest versions of missing model", "POST", f"{rm}/get-latest-versions", {"name": "{p}-nope"}),
        # aliases
        Call("set alias", "POST", f"{rm}/alias", {"name": m, "alias": "champion", "version": "2"}),
        Call("get by alias", "GET", f"{rm}/alias", {"name": m, "alias": "champion"}),
        Call("get model with alias", "GET", f"{rm}/get", {"name": m}),
        Call("latest versions with alias", "POST", f"{rm}/get-latest-versions", {"name": m}),
        Call("alias 1st", "POST", f"{rm}/alias", {"name": m, "alias": "1st", "version": "1"}),
        Call("delete alias 1st", "DELETE", f"{rm}/alias", {"name": m, "alias": "1st"}),
        Call("create model d", "POST", f"{rm}/create", {"name": "{p}-d"}),
        Call("create version from alias", "POST", f"{mv}/create", {"name": "{p}-d", "source": f"models:/{m}@champion"}),
        Call("delete model d", "DELETE", f"{rm}/delete", {"name": "{p}-d"}),
        Call("create version b", "POST", f"{mv}/create", {"name": b, "source": "s3://bucket/models/b"}),
        Call("delete alias", "DELETE", f"{rm}/alias", {"name": m, "alias": "champion"}),
        Call("get by deleted alias", "GET", f"{rm}/alias", {"name": m, "alias": "champion"}),
        Call("get model after alias delete", "GET", f"{rm}/get", {"name": m}),
        # search
        Call("search models prefix", "GET", f"{rm}/search", {"filter": "name LIKE '{p}-%'"}),
        Call(
            "search models order name DESC",
            "GET",
            f"{rm}/search",
            {"filter": "name LIKE '{p}-%'", "order_by": ["name DESC"]},
        ),
        Call("search models page", "GET", f"{rm}/search", {"filter": "name LIKE '{p}-%'", "max_results": 1}),
        Call("search models empty", "GET", f"{rm}/search", {"filter": "name = '{p}-nothing'"}),
        Call("search models by tag", "GET", f"{rm}/search", {"filter": "name LIKE '{p}-%' AND tags.k = 'v'"}),
        Call("search models tag !=", "GET", f"{rm}/search", {"filter": "name LIKE '{p}-%' AND tags.k != 'x'"}),
        Call("search models max_results 0", "GET", f"{rm}/search", {"filter": "name LIKE '{p}-%'", "max_results": 0}),
        Call(
            "search models max_results 0 no match",
            "GET",
            f"{rm}/search",
            {"filter": "name = '{p}-nothing'", "max_results": 0},
        ),
        Call("search models bad filter", "GET", f"{rm}/search", {"filter": "nonsense ~ 1"}),
        Call("search versions default order", "GET", f"{mv}/search", {"filter": "name = '{p}-a'"}),
        Call(
            "search versions by number",
            "GET",
            f"{mv}/search",
            {"filter": "name = '{p}-a'", "order_by": ["version_number ASC"]},
        ),
        Call(
            "search versions by run",
            "GET",
            f"{mv}/search",
            {"filter": "run_id = '{run}'", "order_by": ["version_number DESC"]},
        ),
        Call("search versions empty", "GET", f"{mv}/search", {"filter": "name = '{p}-nothing'"}),
        # names
        Call("create name with space", "POST", f"{rm}/create", {"name": "{p} space"}),
        Call("get name other case", "GET", f"{rm}/get", {"name": "{P}-A"}),
        Call("create name other case", "POST", f"{rm}/create", {"name": "{P}-A"}),
        # rename and delete
        Call("rename", "POST", f"{rm}/rename", {"name": b, "new_name": c}),
        Call("get renamed away", "GET", f"{rm}/get", {"name": b}),
        Call("get renamed", "GET", f"{rm}/get", {"name": c}),
        Call("rename onto existing", "POST", f"{rm}/rename", {"name": c, "new_name": m}),
        Call("delete version", "DELETE", f"{mv}/delete", {"name": m, "version": "3"}),
        Call("get deleted version", "GET", f"{mv}/get", {"name": m, "version": "3"}),
        Call("delete model", "DELETE", f"{rm}/delete", {"name": c}),
        Call("get deleted model", "GET", f"{rm}/get", {"name": c}),
        Call("delete deleted model", "DELETE", f"{rm}/delete", {"name": c}),
        Call("unknown endpoint", "GET", f"{rm}/nothing", {}),
        # where modelyard answers and MLflow fails (docs/mlflow.md, "more lenient")
        Call(
            "search duplicate order_by",
            "GET",
            f"{rm}/search",
            {"filter": "name LIKE '{p}-%'", "order_by": ["name ASC", "name DESC"]},
        ),
        Call(
            "transition archive to None",
            "POST",
            f"{mv}/transition-stage",
            {"name": m, "version": "2", "stage": "None", "archive_existing_versions": True},
        ),
    ]
    return out


def _compare(c: Call, mine: tuple[int, Any], theirs: tuple[int, Any]) -> bool:
    if c.status_only:
        return mine[0] == theirs[0]
    if c.message:
        return mine == theirs

    def strip(answer: tuple[int, Any]) -> tuple[int, Any]:
        status, body = answer
        if status != 200 and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "message"}
        return status, body

    return strip(mine) == strip(theirs)


def test_same_answers_as_mlflow_server(server: Server, mlflow_server: str) -> None:
    token = secrets.token_hex(4)
    prefix = f"sbs-{token}"
    ours, theirs = Side(server.url), Side(mlflow_server)
    for side in (ours, theirs):
        side.values.update({"p": prefix, "P": prefix.upper()})
    compared, known, unexpected, stale = 0, [], [], []
    with httpx.Client(timeout=60) as client:
        for index, c in enumerate(calls()):
            time.sleep(0.003)  # two calls never share a millisecond, so "<t@N>" names one call
            got = ours.call(client, c, index)
            want = theirs.call(client, c, index)
            compared += 1
            same = _compare(c, got, want)
            if c.label in KNOWN_DIFFERENCES:
                (stale if same else known).append(c.label)
            elif not same:
                unexpected.append(
                    f"{c.label}:\n  modelyard: {json.dumps(got)[:1500]}\n  mlflow:    {json.dumps(want)[:1500]}"
                )
    print(
        f"\nside by side ({server.backend}): {compared} calls compared, {len(known) + len(unexpected)} differ "
        f"({len(known)} known, {len(unexpected)} unexpected)"
    )
    assert not unexpected, "\n".join(unexpected)
    assert not stale, f"listed in KNOWN_DIFFERENCES but now the same (remove them): {stale}"


@pytest.mark.parametrize("label", sorted(KNOWN_DIFFERENCES))
def test_known_differences_name_real_calls(label: str) -> None:
    assert label in {c.label for c in calls()} and KNOWN_DIFFERENCES[label]
