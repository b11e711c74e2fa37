"""``build_registry(settings)``: the only place that picks concrete adapters and wires services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from modelyard.domain.actor import SYSTEM
from modelyard.services.artifacts import ArtifactService
from modelyard.services.audit import AuditService
from modelyard.services.identity import IdentityService
from modelyard.services.promotion import PromotionService
from modelyard.services.maintenance import MaintenanceService
from modelyard.services.registry import RegistryService
from modelyard.settings import Settings
from modelyard.storage.blobs.filesystem import FilesystemBlobStore
from modelyard.storage.blobs.memory import MemoryBlobStore
from modelyard.storage.interfaces import BlobStore
from modelyard.storage.sql import schema
from modelyard.storage.sql.engine import Database


@dataclass
class Services:
    """Everything a front end (API, CLI, UI) needs, built once per process."""

    settings: Settings
    db: Database
    blobs: BlobStore
    registry: RegistryService
    artifacts: ArtifactService
    maintenance: MaintenanceService
    identity: IdentityService
    audit: AuditService
    promotion: PromotionService

    def auth_enabled(self) -> bool:
        """Whether requests must carry a token (see ``Settings.auth``)."""
        if self.settings.auth == "auto":
            return self.identity.auth_configured()
        return self.settings.auth == "on"

    def close(self) -> None:
        self.db.dispose()


def build_blob_store(settings: Settings) -> BlobStore:
    if settings.blobs.backend == "memory":
        return MemoryBlobStore()
    return FilesystemBlobStore(settings.resolved_blob_root())


def open_database(settings: Settings) -> Database:
    if settings.resolved_database_url().startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)


def prepare_database(settings: Settings, *, initialize_empty: bool = True) -> Database:
    """Open the database; a brand-new one is migrated to head, an outdated one is refused."""
    db = open_database(settings)
    if initialize_empty and schema.is_empty(db.engine):
        schema.upgrade(db.engine)
    schema.check_at_head(db.engine)
    return db


def build_registry(settings: Settings, *, initialize_empty: bool = True) -> Services:
    db = prepare_database(settings, initialize_empty=initialize_empty)
    blobs = build_blob_store(settings)
    registry = RegistryService(db, blobs)
    registry.seed_default_registries(SYSTEM)
    artifacts = ArtifactService(db, blobs, registry, upload_ttl=timedelta(hours=settings.upload_ttl_hours))
    maintenance = MaintenanceService(db, blobs)
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        registry=registry,
        artifacts=artifacts,
        maintenance=maintenance,
        identity=IdentityService(db, registry),
        audit=AuditService(db, registry),
        promotion=PromotionService(db, registry),
    )
