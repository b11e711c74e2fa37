"""Uploads are aged by their last activity, never by their creation (issue 8, item 14).

``uploads purge --delete`` must not take an upload that is still receiving data: an MLflow
multipart upload whose parts keep arriving, or upload data still being appended to. Real
SQLite/PostgreSQL and a real filesystem blob store; the multipart clock is controlled.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from modelyard.bootstrap import Services
from modelyard.domain.actor import LOCAL
from modelyard.errors import UploadUnknownError
from modelyard.services.maintenance import MaintenanceService
from modelyard.services.mlflow_artifacts import MlflowArtifactService
from modelyard.settings import Settings
from modelyard.storage.blobs import layout
from modelyard.storage.sql.tracking_store import SqlTrackingDatabase


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def test_a_multipart_upload_is_aged_by_its_last_part(services: Services) -> None:
    clock = Clock()
    artifacts = MlflowArtifactService(SqlTrackingDatabase(services.db), services.blobs, services.registry, clock=clock)
    maintenance = MaintenanceService(services.db, services.blobs, upload_ttl=timedelta(hours=1), clock=clock)
    active = artifacts.create_multipart(LOCAL, "loose/active.bin", num_parts=3)
    idle = artifacts.create_multipart(LOCAL, "loose/idle.bin", num_parts=1)
    artifacts.upload_part(LOCAL, idle, 1, [b"idle"])
    for n in (1, 2, 3):  # a slow upload: a part every 40 minutes, 2 hours in all
        clock.advance(minutes=40)
        artifacts.upload_part(LOCAL, active, n, [f"part{n}".encode()])
    plan = maintenance.purge_uploads(dry_run=True)
    assert plan.multipart_uploads == [idle]
    done = maintenance.purge_uploads(dry_run=False)
    assert done.multipart_uploads == [idle]
    artifacts.complete_multipart(LOCAL, "loose/active.bin", active, parts=[(1, ""), (2, ""), (3, "")])
    assert b"".join(artifacts.download(LOCAL, "loose/active.bin").chunks) == b"part1part2part3"
    with pytest.raises(UploadUnknownError):
        artifacts.upload_part(LOCAL, idle, 1, [b"late"])
    # an upload whose last part is older than the TTL goes too, however recently it was created
    later = artifacts.create_multipart(LOCAL, "loose/later.bin", num_parts=2)
    clock.advance(minutes=59)
    artifacts.upload_part(LOCAL, later, 1, [b"x"])
    clock.advance(minutes=59)
    assert maintenance.purge_uploads(dry_run=False).multipart_uploads == []
    clock.advance(minutes=2)
    assert maintenance.purge_uploads(dry_run=False).multipart_uploads == [later]


def test_upload_data_still_being_appended_to_is_not_an_orphan(services: Services, settings: Settings) -> None:
    """Blob-store uploads with no session row (the MLflow proxy streams parts through them) count
    as orphans after an hour without a write, not an hour after they began."""
    maintenance = MaintenanceService(services.db, services.blobs)
    two_hours_ago = time.time() - 7200
    for sid in ("mlflow-streaming", "mlflow-abandoned"):
        services.blobs.begin_upload(sid)
        folder = settings.resolved_blob_root() / layout.upload_dir_key(sid)
        services.blobs.write_chunk(sid, 0, [b"first bytes"])
        os.utime(folder / "data", (two_hours_ago, two_hours_ago))
        os.utime(folder, (two_hours_ago, two_hours_ago))
    services.blobs.write_chunk("mlflow-streaming", len(b"first bytes"), [b"more bytes, just now"])
    report = maintenance.purge_uploads(dry_run=False)
    assert report.sessions == ["mlflow-abandoned"]
    assert services.blobs.upload_offset("mlflow-streaming") == len(b"first bytesmore bytes, just now")
