"""MLflow tracking data is governed (issue 8, items 5 and 7): experiments have permissions (READ,
EDIT, MANAGE, as MLflow's basic-auth app), the creator manages, org admins have all, everyone else
has the configured default (none by default). An experiment you may not read answers exactly like
a missing one, through every route that serves its runs, metrics, logged models and artifacts,
and searches leave it out. Run artifacts are no side door into a restricted registry, and a
multipart part upload needs the credentials of the principal that created the upload.

Auth-on app, in process, over the governance world (see conftest.py): ``member`` is the creator.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from gov_world import World

BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts"


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()  # type: ignore[no-any-return]


def _err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error_code"]


def _same_as_missing(real: Any, missing: Any, real_id: str, missing_id: str) -> None:
    """An invisible resource answers with exactly the status, code and message of a missing one."""
    assert real.status_code == missing.status_code == 404, (real.text, missing.text)
    a = re.sub(re.escape(real_id), "X", real.json()["message"])
    b = re.sub(re.escape(missing_id), "X", missing.json()["message"])
    assert (real.json()["error_code"], a) == (missing.json()["error_code"], b)


def _experiment_with_run(world: World, who: str = "member") -> dict[str, str]:
    """An experiment of ``who`` with a run (a param, a metric, an artifact) and a logged model."""
    eid = _ok(world.request("POST", f"{API}/experiments/create", who, json={"name": world.uid("exp")}))["experiment_id"]
    run = _ok(world.request("POST", f"{API}/runs/create", who, json={"experiment_id": eid}))["run"]["info"]
    rid = run["run_id"]
    batch = {
        "run_id": rid,
        "params": [{"key": "lr", "value": "0.1"}],
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1, "step": 0}],
    }
    _ok(world.request("POST", f"{API}/runs/log-batch", who, json=batch))
    art = run["artifact_uri"].removeprefix("mlflow-artifacts:/")
    _ok(world.request("PUT", f"{ART}/artifacts/{art}/model/model.bin", who, content=b"secret-weights"))
    _ok(world.request("PUT", f"{ART}/artifacts/{art}/model/MLmodel", who, content=b"flavors: {}\n"))
    lm = _ok(world.request("POST", f"{API}/logged-models", who, json={"experiment_id": eid, "name": "clf"}))
    return {"eid": eid, "rid": rid, "art": art, "model_id": lm["model"]["info"]["model_id"]}


def _reads(world: World, who: str, x: dict[str, str]) -> dict[str, Any]:
    """Every read of the experiment's data, as ``who``."""
    return {
        "experiment": world.request("GET", f"{API}/experiments/get", who, params={"experiment_id": x["eid"]}),
        "run": world.request("GET", f"{API}/runs/get", who, params={"run_id": x["rid"]}),
        "history": world.request(
            "GET", f"{API}/metrics/get-history", who, params={"run_id": x["rid"], "metric_key": "acc"}
        ),
        "logged_model": world.request("GET", f"{API}/logged-models/{x['model_id']}", who),
        "artifact": world.request("GET", f"{ART}/artifacts/{x['art']}/model/model.bin", who),
    }


def _searches(world: World, who: str, x: dict[str, str]) -> dict[str, list[str]]:
    exps = _ok(world.request("POST", f"{API}/experiments/search", who, json={"max_results": 1000}))
    runs = _ok(world.request("POST", f"{API}/runs/search", who, json={"experiment_ids": [x["eid"]]}))
    models = _ok(world.request("POST", f"{API}/logged-models/search", who, json={"experiment_ids": [x["eid"]]}))
    listing = _ok(world.request("GET", f"{ART}/artifacts", who, params={"path": f"{x['art']}/model"}))
    return {
        "experiments": [e["experiment_id"] for e in exps.get("experiments", []) if e["experiment_id"] == x["eid"]],
        "runs": [r["info"]["run_id"] for r in runs.get("runs", [])],
        "models": [m["info"]["model_id"] for m in models.get("models", [])],
        "artifacts": sorted(f["path"] for f in listing.get("files", [])),
    }


def _grant(world: World, who: str, eid: str, permission: str, **holder: str) -> Any:
    body = {"experiment_id": eid, "permission": permission, **(holder or {"username": "outsider"})}
    return world.request("POST", f"{API}/experiments/permissions/create", who, json=body)


@BOTH
def test_another_users_experiment_is_invisible_through_every_route(world: World) -> None:
    x = _experiment_with_run(world)
    # the creator and an org admin read everything
    for who in ("member", "root"):
        assert all(r.status_code == 200 for r in _reads(world, who, x).values()), who
        assert _reads(world, who, x)["artifact"].content == b"secret-weights"
    # anyone else: exactly like a missing experiment, run, logged model and artifact
    got = _reads(world, "outsider", x)
    missing = {
        "experiment": world.request("GET", f"{API}/experiments/get", "outsider", params={"experiment_id": "987654"}),
        "run": world.request("GET", f"{API}/runs/get", "outsider", params={"run_id": "f" * 32}),
        "logged_model": world.request("GET", f"{API}/logged-models/m-{'f' * 32}", "outsider"),
        "artifact": world.request("GET", f"{ART}/artifacts/{x['art']}/model/nothing.bin", "root"),
    }
    _same_as_missing(got["experiment"], missing["experiment"], x["eid"], "987654")
    _same_as_missing(got["run"], missing["run"], x["rid"], "f" * 32)
    _same_as_missing(got["history"], missing["run"], x["rid"], "f" * 32)
    _same_as_missing(got["logged_model"], missing["logged_model"], x["model_id"], f"m-{'f' * 32}")
    _same_as_missing(got["artifact"], missing["artifact"], "model.bin", "nothing.bin")
    name = _ok(world.request("GET", f"{API}/experiments/get", "member", params={"experiment_id": x["eid"]}))
    by_name = world.request(
        "GET", f"{API}/experiments/get-by-name", "outsider", params={"experiment_name": name["experiment"]["name"]}
    )
    missing_name = world.request("GET", f"{API}/experiments/get-by-name", "outsider", params={"experiment_name": "nx"})
    _same_as_missing(by_name, missing_name, name["experiment"]["name"], "nx")
    # searches leave it out (the creator's searches find it)
    assert _searches(world, "outsider", x) == {"experiments": [], "runs": [], "models": [], "artifacts": []}
    assert _searches(world, "member", x) == {
        "experiments": [x["eid"]],
        "runs": [x["rid"]],
        "models": [x["model_id"]],
        "artifacts": ["MLmodel", "model.bin"],
    }
    # writes are refused as if it did not exist, and change nothing
    writes = [
        world.request(
            "POST", f"{API}/runs/log-parameter", "outsider", json={"run_id": x["rid"], "key": "k", "value": "v"}
        ),
        world.request("POST", f"{API}/runs/create", "outsider", json={"experiment_id": x["eid"]}),
        world.request("POST", f"{API}/experiments/delete", "outsider", json={"experiment_id": x["eid"]}),
        world.request("POST", f"{API}/runs/delete", "outsider", json={"run_id": x["rid"]}),
        world.request("PUT", f"{ART}/artifacts/{x['art']}/model/model.bin", "outsider", content=b"evil"),
        world.request("DELETE", f"{ART}/artifacts/{x['art']}/model/model.bin", "outsider"),
        world.request("POST", f"{ART}/mpu/create/{x['art']}", "outsider", json={"path": "p.bin", "num_parts": 1}),
    ]
    assert [w.status_code for w in writes] == [404] * len(writes), [w.text for w in writes]
    assert _reads(world, "member", x)["artifact"].content == b"secret-weights"
    assert _ok(world.request("GET", f"{API}/runs/get", "member", params={"run_id": x["rid"]}))["run"]["data"].get(
        "params"
    ) == [{"key": "lr", "value": "0.1"}]
    # no principal: 401
    assert world.request("GET", f"{API}/runs/get", None, params={"run_id": x["rid"]}).status_code == 401


@BOTH
def test_granting_read_then_edit_then_revoking(world: World) -> None:
    x = _experiment_with_run(world)
    log = {"run_id": x["rid"], "metrics": [{"key": "loss", "value": 0.5, "timestamp": 2, "step": 1}]}
    # only a manager may grant
    assert _err(_grant(world, "outsider", x["eid"], "READ")) == (404, "RESOURCE_DOES_NOT_EXIST")
    _ok(_grant(world, "member", x["eid"], "READ"))
    assert all(r.status_code == 200 for r in _reads(world, "outsider", x).values())
    assert _searches(world, "outsider", x)["runs"] == [x["rid"]]
    # READ does not write: 403 now that the experiment is visible
    assert _err(world.request("POST", f"{API}/runs/log-batch", "outsider", json=log)) == (403, "PERMISSION_DENIED")
    put = world.request("PUT", f"{ART}/artifacts/{x['art']}/notes.txt", "outsider", content=b"n")
    assert _err(put) == (403, "PERMISSION_DENIED")
    assert _err(_grant(world, "outsider", x["eid"], "EDIT")) == (403, "PERMISSION_DENIED")
    # EDIT writes runs, metrics, tags and artifacts, but does not delete or grant (MANAGE)
    update = {"experiment_id": x["eid"], "username": "outsider", "permission": "EDIT"}
    _ok(world.request("PATCH", f"{API}/experiments/permissions/update", "member", json=update))
    _ok(world.request("POST", f"{API}/runs/log-batch", "outsider", json=log))
    _ok(world.request("PUT", f"{ART}/artifacts/{x['art']}/notes.txt", "outsider", content=b"n"))
    _ok(world.request("POST", f"{API}/runs/create", "outsider", json={"experiment_id": x["eid"]}))
    deleted = world.request("POST", f"{API}/runs/delete", "outsider", json={"run_id": x["rid"]})
    assert _err(deleted) == (403, "PERMISSION_DENIED")
    assert "'MANAGE' permission" in deleted.json()["message"]
    got = world.request(
        "GET",
        f"{API}/experiments/permissions/get",
        "member",
        params={"experiment_id": x["eid"], "username": "outsider"},
    )
    assert _ok(got)["experiment_permission"]["permission"] == "EDIT"
    # revoking hides it again
    gone = {"experiment_id": x["eid"], "username": "outsider"}
    _ok(world.request("DELETE", f"{API}/experiments/permissions/delete", "member", json=gone))
    assert {k: r.status_code for k, r in _reads(world, "outsider", x).items()} == dict.fromkeys(
        ("experiment", "run", "history", "logged_model", "artifact"), 404
    )


def test_a_team_grant_reaches_its_members_and_bad_grants_are_refused(world: World) -> None:
    x = _experiment_with_run(world)
    assert _reads(world, "teamuser", x)["run"].status_code == 404
    _ok(_grant(world, "member", x["eid"], "READ", team="ml"))
    assert _reads(world, "teamuser", x)["artifact"].content == b"secret-weights"
    assert _err(_grant(world, "member", x["eid"], "OWNER")) == (400, "INVALID_PARAMETER_VALUE")
    assert _err(_grant(world, "member", x["eid"], "READ", username="nobody-at-all")) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    # org admins manage every experiment
    _ok(_grant(world, "root", x["eid"], "READ", username="viewer"))
    assert _reads(world, "viewer", x)["run"].status_code == 200


def test_an_experiment_cannot_claim_another_ones_artifact_folder(world: World) -> None:
    x = _experiment_with_run(world)
    for location in (f"mlflow-artifacts:/{x['eid']}", f"mlflow-artifacts:/{x['eid']}/{x['rid']}", "mlflow-artifacts:/"):
        r = world.request(
            "POST",
            f"{API}/experiments/create",
            "outsider",
            json={"name": world.uid("hijack"), "artifact_location": location},
        )
        assert _err(r) == (400, "INVALID_PARAMETER_VALUE"), location
    mine = world.request(
        "POST",
        f"{API}/experiments/create",
        "outsider",
        json={"name": world.uid("own"), "artifact_location": "mlflow-artifacts:/team-a/exp"},
    )
    _ok(mine)
    inside = world.request(
        "POST",
        f"{API}/experiments/create",
        "member",
        json={"name": world.uid("nested"), "artifact_location": "mlflow-artifacts:/team-a/exp/sub"},
    )
    assert _err(inside) == (400, "INVALID_PARAMETER_VALUE")
    # a custom location is the experiment's too: its run artifacts are private to it
    run = _ok(
        world.request("POST", f"{API}/runs/create", "outsider", json={"experiment_id": mine.json()["experiment_id"]})
    )
    art = run["run"]["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert art.startswith("team-a/exp/")
    _ok(world.request("PUT", f"{ART}/artifacts/{art}/a.txt", "outsider", content=b"a"))
    assert world.request("GET", f"{ART}/artifacts/{art}/a.txt", "member").status_code == 404
    # paths outside every experiment are org admins' only
    assert _err(world.request("PUT", f"{ART}/artifacts/loose/a.txt", "member", content=b"a")) == (
        403,
        "PERMISSION_DENIED",
    )
    _ok(world.request("PUT", f"{ART}/artifacts/loose/a.txt", "root", content=b"a"))
    assert world.request("GET", f"{ART}/artifacts/loose/a.txt", "member").status_code == 404
    assert _ok(world.request("GET", f"{ART}/artifacts", "member", params={"path": ""})) == {"files": []}


@BOTH
def test_run_artifacts_are_no_side_door_into_a_restricted_registry(world: World) -> None:
    """A version registered into ``secret`` from ``runs:/<run>/model``: its copy is served by the
    download rule, the run's own artifacts only to those allowed on the experiment."""
    x = _experiment_with_run(world)
    # before anything is registered, the run artifact's digest does not count as "already stored"
    # for a native commit by someone who may not read the experiment (dedup never crosses a
    # permission boundary, and an experiment is one)
    digest = "sha256:" + hashlib.sha256(b"secret-weights").hexdigest()
    missing = world.request("POST", "/api/v1/registries/open/blobs/missing", "ci", json={"digests": [digest]})
    assert missing.status_code == 200 and missing.json()["missing"] == [digest], missing.text
    files = [{"path": "w.bin", "digest": digest, "size": len(b"secret-weights")}]
    commit = world.request("POST", "/api/v1/registries/open/collections/c/versions", "ci", json={"files": files})
    assert commit.status_code == 400 and commit.json()["details"]["missing"] == [digest], commit.text
    secret = "/mlflow/secret" + API
    name = world.uid("side")
    _ok(world.request("POST", f"{secret}/registered-models/create", "member", json={"name": name}))
    source = f"runs:/{x['rid']}/model"
    mv = world.request(
        "POST", f"{secret}/model-versions/create", "member", json={"name": name, "source": source, "run_id": x["rid"]}
    )
    _ok(mv)
    copy = f"{ART}/artifacts/_modelyard/secret/{name}/1/model.bin"
    run_file = f"{ART}/artifacts/{x['art']}/model/model.bin"
    expected = {
        # who: (registered copy, run artifact)
        "member": (200, 200),  # member of secret and creator of the experiment
        "viewer": (200, 404),  # may download from secret, but not read the experiment
        "rviewer": (403, 404),  # restricted viewer: names only, no bytes, anywhere
        "outsider": (404, 404),
        "root": (200, 200),
    }
    for who, (want_copy, want_run) in expected.items():
        got = (world.request("GET", copy, who).status_code, world.request("GET", run_file, who).status_code)
        assert got == (want_copy, want_run), who
        listing = world.request("GET", f"{ART}/artifacts", who, params={"path": f"{x['art']}/model"})
        assert bool(listing.json().get("files")) is (want_run == 200), who
    # and the reverse: registering someone else's run copies nothing you could not read
    stolen = world.request(
        "POST",
        "/mlflow/open" + API + "/model-versions/create",
        "ci",
        json={"name": "c", "source": source, "run_id": x["rid"]},
    )
    assert _err(stolen) == (400, "INVALID_PARAMETER_VALUE")
    by_uri = world.request(
        "POST",
        "/mlflow/open" + API + "/model-versions/create",
        "ci",
        json={"name": "c", "source": f"mlflow-artifacts:/{x['art']}/model"},
    )
    # Without the run that owns it, the lineage rule refuses the source (as MLflow 3) before any read.
    assert _err(by_uri) == (400, "INVALID_PARAMETER_VALUE"), by_uri.text
    versions = world.request("GET", "/api/v1/registries/open/collections/c/versions", "root").json()
    assert sorted(v["number"] for v in versions["items"]) == [1, 2]


def test_multipart_parts_need_the_creators_credentials(world: World) -> None:
    x = _experiment_with_run(world)
    created = _ok(
        world.request("POST", f"{ART}/mpu/create/{x['art']}", "member", json={"path": "big.bin", "num_parts": 2})
    )
    urls = [c["url"].split("://", 1)[1].partition("/")[2] for c in created["credentials"]]
    headers = created["credentials"][0]["headers"]
    assert headers == {"Authorization": f"Bearer {world.tokens['member']}"}
    part = "/" + urls[0]
    # no credentials: 401; someone else (even one allowed to edit the experiment): as if unknown
    assert world.request("PUT", part, None, content=b"x").status_code == 401
    _ok(_grant(world, "member", x["eid"], "EDIT"))
    for who in ("outsider", "viewer", "root"):
        assert _err(world.request("PUT", part, who, content=b"x")) == (404, "RESOURCE_DOES_NOT_EXIST"), who
    done = {"path": "big.bin", "upload_id": created["upload_id"], "parts": [{"part_number": 1, "etag": ""}]}
    assert world.request("POST", f"{ART}/mpu/complete/{x['art']}", "outsider", json=done).status_code == 404
    abort = {"path": "big.bin", "upload_id": created["upload_id"]}
    assert world.request("POST", f"{ART}/mpu/abort/{x['art']}", "outsider", json=abort).status_code == 404
    # the creator, with the headers handed back, uploads and completes
    etags = []
    for n, url in enumerate(urls, 1):
        r = world.request("PUT", "/" + url, None, content=f"part{n}".encode(), headers=headers)
        assert r.status_code == 200, r.text
        etags.append({"part_number": n, "etag": r.headers["etag"]})
    _ok(world.request("POST", f"{ART}/mpu/complete/{x['art']}", "member", json={**done, "parts": etags}))
    assert world.request("GET", f"{ART}/artifacts/{x['art']}/big.bin", "member").content == b"part1part2"
    assert world.request("GET", f"{ART}/artifacts/{x['art']}/big.bin", "outsider").content == b"part1part2"


def test_the_default_permission_setting_applies_to_everyone_else(world: World) -> None:
    """``MODELYARD_MLFLOW__DEFAULT_EXPERIMENT_PERMISSION=READ`` (MLflow's default) opens reads only."""
    import dataclasses

    from modelyard.api.mlflow import build_mlflow_services
    from modelyard.settings import MlflowSettings

    x = _experiment_with_run(world)
    opened = world.services.settings.model_copy(update={"mlflow": MlflowSettings(default_experiment_permission="READ")})
    world.http.app.state.mlflow = build_mlflow_services(dataclasses.replace(world.services, settings=opened))
    assert all(r.status_code == 200 for r in _reads(world, "outsider", x).values())
    assert _searches(world, "outsider", x)["runs"] == [x["rid"]]
    log = {"run_id": x["rid"], "key": "k", "value": "v"}
    assert _err(world.request("POST", f"{API}/runs/set-tag", "outsider", json=log)) == (403, "PERMISSION_DENIED")
