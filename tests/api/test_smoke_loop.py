"""The whole loop through the SDK against the in-process app: push, resolve, pull, search."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard import AliasNotFoundError, Client, CollectionNotFoundError


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "model.bin").write_bytes(b"\x00\x01" * 50_000)
    (root / "sub" / "config.json").write_text('{"layers": 3}')
    return root


def test_push_then_pull_is_byte_identical(sdk: Client, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    v = sdk.push(src, "models/fraud-detector", aliases=["staging"], metadata={"metrics": {"auc": 0.93}})
    assert v.number == 1 and v.aliases == ["staging"] and v.metrics == {"auc": 0.93}
    out = tmp_path / "out"
    sdk.pull("models/fraud-detector:staging", out)
    assert (out / "model.bin").read_bytes() == (src / "model.bin").read_bytes()
    assert (out / "sub" / "config.json").read_text() == '{"layers": 3}'


def test_repush_identical_content_uploads_nothing(sdk: Client, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    sdk.push(src, "models/m")
    uploaded: list[int] = []
    v2 = sdk.push(src, "models/m", on_upload=uploaded.append)
    assert v2.number == 2 and uploaded == []


def test_unknown_collection_raises_the_server_error_class(sdk: Client) -> None:
    with pytest.raises(CollectionNotFoundError) as info:
        sdk.get_version("models/nope:1")
    assert info.value.details["collection"] == "nope"


def test_unknown_alias(sdk: Client, tmp_path: Path) -> None:
    sdk.push(_tree(tmp_path / "src"), "models/m")
    with pytest.raises(AliasNotFoundError):
        sdk.get_version("models/m:production")
