"""``build_registry(settings)``: the only place that picks concrete adapters and wires services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from modelyard.domain.actor import SYSTEM
from modelyard.errors import DatabaseNotFoundError, SchemaOutdatedError
from modelyard.events.crypto import SecretBox
from modelyard.events.delivery import DeliveryWorker
from modelyard.events.watch import WatchHub
from modelyard.services.artifacts import ArtifactService
from modelyard.services.audit import AuditService
from modelyard.services.automations import AutomationService
from modelyard.services.fsck import FsckService
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
from modelyard.storage.sql.engine import Database, display_url, sqlite_file


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
    fsck: FsckService
    _auth_on: bool = field(default=False, init=False, repr=False)

    def auth_enabled(self) -> bool:
        """Whether requests must carry a token now (``Settings.auth``; the rule is
        ``domain.identity.auth_required``). Once on, it stays on for the life of this process."""
        if not self._auth_on:
            self._auth_on = self.identity.auth_required(self.settings.auth)
        return self._auth_on

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
    """Open the database; a brand-new one is migrated to head, an outdated one is refused.

    With ``initialize_empty=False`` (operator commands that work on an existing database:
    ``admin bootstrap``, ``admin tokens reset``, ``gc``, ``uploads purge`` ...) nothing is
    created: a missing SQLite file or an empty database is a ``DatabaseNotFoundError`` that says
    where the command looked and how to point it elsewhere. (Run from the wrong folder, such a
    command used to create a second, empty database there and report success.)
    """
    if not initialize_empty:
        path = sqlite_file(settings.resolved_database_url())
        if path is not None and not path.is_file():
            raise _no_database(settings, "no modelyard database")
    db = open_database(settings)
    if schema.is_empty(db.engine):
        if not initialize_empty:
            db.dispose()
            raise _no_database(settings, "an empty database (no modelyard schema)")
        schema.upgrade(db.engine)
    try:
        schema.check_at_head(db.engine)
    except SchemaOutdatedError as exc:
        db.dispose()
        raise SchemaOutdatedError(
            f"{exc.message} (database {display_url(settings.resolved_database_url())})", **exc.details
        ) from exc
    return db


def _no_database(settings: Settings, found: str) -> DatabaseNotFoundError:
    url = display_url(settings.resolved_database_url())
    if settings.database_url:
        why = "MODELYARD_DATABASE_URL names it"
    elif "data_dir" in settings.model_fields_set:
        why = f"the data folder is {settings.data_dir.resolve()} (--data-dir or MODELYARD_DATA_DIR)"
    else:
        why = f"the default data folder is ./modelyard-data in the current folder ({Path.cwd()})"
    return DatabaseNotFoundError(
        f"{found} at {url}: {why}. This command works on an existing database and created nothing. "
        "Point it at your server's data with --data-dir DIR (or MODELYARD_DATA_DIR=DIR) or "
        "MODELYARD_DATABASE_URL=URL, the same as 'modelyard serve' uses; 'modelyard serve' or "
        "'modelyard db upgrade' creates a new database.",
        database_url=url,
    )


def build_registry(settings: Settings, *, initialize_empty: bool = True) -> Services:
    db = prepare_database(settings, initialize_empty=initialize_empty)
    blobs = build_blob_store(settings)
    registry = RegistryService(db, blobs)
    registry.seed_default_registries(SYSTEM)
    audit = AuditService(db, registry)
    artifacts = ArtifactService(db, blobs, registry, upload_ttl=timedelta(hours=settings.upload_ttl_hours))
    maintenance = MaintenanceService(db, blobs, upload_ttl=timedelta(hours=settings.upload_ttl_hours))
    identity = IdentityService(db, registry)
    return Services(
        settings=settings,
        db=db,
        blobs=blobs,
        registry=registry,
        artifacts=artifacts,
        maintenance=maintenance,
        identity=identity,
        audit=audit,
        promotion=PromotionService(db, registry),
        automations=AutomationService(
            db, registry, _secret_box(settings), allow_private_targets=settings.webhook_allow_private_targets
        ),
        watch=WatchService(db, registry, identity),
        fsck=FsckService(db, blobs, audit),
    )
