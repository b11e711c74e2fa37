"""GC never takes a blob something still references, including MLflow proxied artifacts."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

from modelyard.bootstrap import Services
from modelyard.domain.actor import LOCAL
from modelyard.domain.digest import Digest


def _later(svc: Services, hours: float) -> None:
    svc.maintenance._clock = lambda: datetime.now(UTC) + timedelta(hours=hours)  # type: ignore[method-assign]


def test_gc_keeps_mlflow_proxied_artifacts(services: Services) -> None:
    from modelyard.api.mlflow import build_mlflow_services

    mlflow = build_mlflow_services(services)
    mlflow.artifacts.upload(LOCAL, "1/run-a/artifacts/model.pkl", [b"pickled model"])
    digest = "sha256:" + hashlib.sha256(b"pickled model").hexdigest()
    _later(services, 48)
    report = services.maintenance.gc(grace=timedelta(hours=24), dry_run=False)
    assert report.swept == []
    assert services.blobs.stat(Digest.parse(digest)) is not None


def test_gc_sweeps_an_unreferenced_blob_after_the_grace_period_only(services: Services) -> None:
    data = b"orphan"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    session = services.artifacts.begin_upload(LOCAL, "models", digest=digest, size=len(data))
    services.artifacts.write_upload(session.id, offset=0, chunks=[data])
    services.artifacts.commit_upload(session.id)
    assert services.maintenance.gc(grace=timedelta(hours=24), dry_run=False).swept == []  # within grace
    _later(services, 48)
    plan = services.maintenance.gc(grace=timedelta(hours=24), dry_run=True)
    assert plan.swept == [digest] and plan.bytes_swept == len(data)
    assert services.blobs.stat(Digest.parse(digest)) is not None  # dry run deleted nothing
    report = services.maintenance.gc(grace=timedelta(hours=24), dry_run=False)
    assert report.swept == [digest] and services.blobs.stat(Digest.parse(digest)) is None


def test_negotiating_a_blob_restarts_its_grace_period(services: Services) -> None:
    data = b"old but reused"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    session = services.artifacts.begin_upload(LOCAL, "models", digest=digest, size=len(data))
    services.artifacts.write_upload(session.id, offset=0, chunks=[data])
    services.artifacts.commit_upload(session.id)
    old = datetime.now(UTC) - timedelta(days=3)
    blob_path = services.settings.resolved_blob_root() / "v1" / "blobs" / "sha256" / digest[7:9] / digest[7:]
    os.utime(blob_path, (old.timestamp(), old.timestamp()))
    assert services.maintenance.gc(grace=timedelta(hours=24), dry_run=True).swept == [digest]
    assert services.artifacts.missing_blobs("models", [digest]) == []  # a push is about to reuse it
    assert services.maintenance.gc(grace=timedelta(hours=24), dry_run=False).swept == []
    assert services.blobs.stat(Digest.parse(digest)) is not None
