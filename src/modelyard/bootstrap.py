"""``build_registry(settings)``: the only place that picks concrete adapters and wires services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from modelyard.domain.actor import SYSTEM
from modelyard.events.crypto import SecretBox
from modelyard.events.delivery import DeliveryWorker
from modelyard.events.watch import WatchHub
from modelyard.services.artifacts import ArtifactService
from modelyard.services.audit import AuditService
from modelyard.services.automations import AutomationService
from modelyard.services.identity import IdentityService
from modelyard.services.maintenance import MaintenanceService
from modelyard.services.promotion import PromotionService
from modelyard.services.registry import RegistryService
from modelyard.services.watch import WatchService
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
    automations: AutomationService
    watch: WatchService

    def auth_enabled(self) -> bool:
        """Whether requests must carry a token (see ``Settings.auth``)."""
        if self.settings.auth == "auto":
            return self.identity.auth_configured()
        return self.settings.auth == "on"

    def delivery_worker(self) -> DeliveryWorker:
        """A webhook delivery worker configured from the settings (not started)."""
        st = self.settings
        return DeliveryWorker(
            self.db,
            box=_secret_box(st),
            allow_private=st.webhook_allow_private_targets,
            timeout=st.webhook_timeout_seconds,
            max_attempts=st.webhook_max_attempts,
            retry_base=st.webhook_retry_base_seconds,
            retry_max=st.webhook_retry_max_seconds,
            disable_after=st.webhook_disable_after_failures,
        )

    def watch_hub(self) -> WatchHub:
        return WatchHub(self.db, poll_seconds=self.settings.watch_poll_seconds)

    def close(self) -> None:
        self.db.dispose()


def _secret_box(settings: Settings) -> SecretBox:
    key = settings.webhook_secret_key
    return SecretBox(key.get_secret_value() if key is not None else None)


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
    identity = IdentityService(db, registry)
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        registry=registry,
        artifacts=artifacts,
        maintenance=maintenance,
        identity=identity,
        audit=AuditService(db, registry),
        promotion=PromotionService(db, registry),
        automations=AutomationService(
            db, registry, _secret_box(settings), allow_private_targets=settings.webhook_allow_private_targets
        ),
        watch=WatchService(db, registry, identity),
    )
