"""A version in a protected stage guards its registered model against rename and delete by members,
as a protected alias does (issue 8, item 4): the real mlflow client against a real auth-on server."""

from __future__ import annotations

import secrets

import pytest
from mlflow.exceptions import RestException

from modelyard import Client

from .test_auth import _client, governed  # noqa: F401  (the auth-on server fixture)


def test_members_cannot_rename_or_delete_a_model_with_a_version_in_a_protected_stage(
    governed: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"stage-guard-{secrets.token_hex(4)}"
    admin = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["admin"])
    admin.create_registered_model(name)
    admin.create_model_version(name, "s3://bucket/model/1")
    admin.create_model_version(name, "s3://bucket/model/2")
    admin.transition_model_version_stage(name, "1", "Production")
    with Client(governed["url"], token=governed["admin"]) as sdk:
        sdk.set_promotion_policy("models", "Production", target_kind="stage", requirements={}, collection=name)

    mia = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"])
    for attempt in (
        lambda: mia.rename_registered_model(name, name + "-old"),
        lambda: mia.delete_registered_model(name),
    ):
        with pytest.raises(RestException) as info:
            attempt()
        assert info.value.error_code == "PERMISSION_DENIED"
    assert mia.get_registered_model(name).name == name  # still there, under its name
    assert [v.current_stage for v in mia.get_latest_versions(name, stages=["Production"])] == ["Production"]

    # once no version is in the protected stage, the member may again
    # (the mlflow client reads MLFLOW_TRACKING_TOKEN per request: make the admin's token current again)
    admin = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["admin"])
    admin.transition_model_version_stage(name, "1", "Archived")
    mia = _client(monkeypatch, governed["url"], MLFLOW_TRACKING_TOKEN=governed["mia"])
    mia.rename_registered_model(name, name + "-old")
    assert mia.get_registered_model(name + "-old").name == name + "-old"
    mia.delete_registered_model(name + "-old")
