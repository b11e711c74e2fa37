"""Migration 0009 on a database made by the previous release: aliases keep resolving under their
exact spelling, and collection names become unique exactly (``Churn`` and ``churn`` may coexist)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import IntegrityError

from modelyard.storage.sql import schema
from modelyard.storage.sql import tables as t
from modelyard.storage.sql.engine import Database

from .conftest import _database


def _engine_url(database_url: str | None, tmp_path: Path) -> str:
    if database_url is None:
        return f"sqlite:///{tmp_path / 'modelyard.db'}"
    return database_url.replace("postgresql://", "postgresql+psycopg://")


def test_migration_0009_on_existing_rows(backend: str, tmp_path: Path) -> None:
    with _database(backend) as database_url:
        engine = create_engine(_engine_url(database_url, tmp_path))
        try:
            schema.upgrade(engine, "0007")
            now = datetime.now(UTC)
            stamps = {"created_at": now, "updated_at": now}
            with engine.begin() as c:
                rid = c.execute(
                    insert(t.registries).values(
                        name="models", description="", artifact_types=["model"], visibility="organization", **stamps
                    )
                ).inserted_primary_key[0]
                cid = c.execute(
                    insert(t.collections).values(
                        registry_id=rid,
                        name="Churn",
                        name_norm="churn",
                        artifact_type="model",
                        description="",
                        next_version=2,
                        latest_version=1,
                        created_by="",
                        **stamps,
                    )
                ).inserted_primary_key[0]
                vid = c.execute(
                    insert(t.versions).values(
                        collection_id=cid,
                        number=1,
                        artifact_type="model",
                        params={},
                        metrics={},
                        datasets=[],
                        size=0,
                        file_count=0,
                        digest="sha256:" + "0" * 64,
                        **stamps,
                    )
                ).inserted_primary_key[0]
                c.execute(
                    insert(t.aliases).values(
                        collection_id=cid, name="Prod", name_norm="prod", version_id=vid, created_by="", **stamps
                    )
                )
            schema.upgrade(engine)
            with engine.begin() as c:
                assert c.execute(select(t.aliases.c.name_norm)).scalars().all() == ["Prod"]
                c.execute(
                    insert(t.collections).values(
                        registry_id=rid,
                        name="churn",
                        name_norm="churn",
                        artifact_type="model",
                        description="",
                        next_version=1,
                        created_by="",
                        **stamps,
                    )
                )
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(
                    insert(t.collections).values(
                        registry_id=rid,
                        name="Churn",
                        name_norm="churn",
                        artifact_type="model",
                        description="",
                        next_version=1,
                        created_by="",
                        **stamps,
                    )
                )
        finally:
            engine.dispose()


def test_migration_0009_keeps_child_rows_with_sqlite_foreign_keys_on(tmp_path: Path) -> None:
    """``modelyard db upgrade`` runs on the server's engine, where SQLite enforces foreign keys:
    0009 rebuilds ``collections`` (batch mode) and its ``DROP TABLE`` must not cascade to the
    versions and aliases (it deleted them all before ``schema.upgrade`` turned the pragma off)."""
    db = Database(f"sqlite:///{tmp_path / 'modelyard.db'}")
    engine = db.engine
    try:
        schema.upgrade(engine, "0008")
        now = datetime.now(UTC)
        stamps = {"created_at": now, "updated_at": now}
        with engine.begin() as c:
            c.execute(
                insert(t.registries).values(
                    id=1, name="models", description="", artifact_types=["model"], visibility="organization", **stamps
                )
            )
            c.execute(
                insert(t.collections).values(
                    id=1,
                    registry_id=1,
                    name="Churn",
                    name_norm="churn",
                    artifact_type="model",
                    description="",
                    next_version=2,
                    latest_version=1,
                    created_by="",
                    **stamps,
                )
            )
            vid = c.execute(
                insert(t.versions).values(
                    collection_id=1,
                    number=1,
                    artifact_type="model",
                    params={},
                    metrics={},
                    datasets=[],
                    size=0,
                    file_count=0,
                    digest="sha256:" + "0" * 64,
                    **stamps,
                )
            ).inserted_primary_key[0]
            c.execute(
                insert(t.aliases).values(
                    collection_id=1, name="Prod", name_norm="prod", version_id=vid, created_by="", **stamps
                )
            )
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision()
        with engine.begin() as c:
            assert c.execute(select(t.versions.c.number)).scalars().all() == [1]
            assert c.execute(select(t.aliases.c.name_norm)).scalars().all() == ["Prod"]
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # the connection gets it back
    finally:
        db.dispose()
