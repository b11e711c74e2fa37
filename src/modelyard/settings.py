"""The one ``Settings`` object, read from ``MODELYARD_*`` environment variables and CLI flags.

Built once at the edge (CLI or ``create_app``) and passed down. Nothing else reads
``os.environ``. Every field has a description: docs/configuration.md is generated from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BlobSettings(BaseModel):
    backend: Literal["filesystem", "memory"] = Field(
        "filesystem", description="Where blob bytes live: 'filesystem' (default) or 'memory' (tests only)."
    )
    root: Path | None = Field(None, description="Blob root for the filesystem backend; default <data_dir>/blobs.")


class MlflowSettings(BaseModel):
    default_experiment_permission: Literal["NO_PERMISSIONS", "READ", "EDIT"] = Field(
        "NO_PERMISSIONS",
        description="With auth on, the permission every principal has on MLflow experiments it was not granted "
        "and did not create: 'NO_PERMISSIONS' (default: experiments, their runs and run artifacts are private to "
        "their creator, those granted access and org admins), 'READ' or 'EDIT' (MLflow's own default is READ). "
        "Auth off is unaffected: the local user is an org admin.",
    )


class LimitSettings(BaseModel):
    """What one client may cost the server (see docs/security.md, "Hostile clients")."""

    max_json_body_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the server reads for anything but an upload (JSON, forms): a larger "
        "one is refused with 413 PAYLOAD_TOO_LARGE before it is read. MLflow log-batch bodies stay under 2 MiB.",
    )
    upload_idle_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="An upload that sends no byte for this long is cut with 408 REQUEST_TIMEOUT. Also the window "
        "over which the minimum upload rate is measured.",
    )
    upload_min_bytes_per_second: int = Field(
        1024,
        ge=0,
        description="An upload that sends fewer bytes than this per second, measured over each idle-timeout "
        "window, is cut with 408 REQUEST_TIMEOUT (0: no minimum rate).",
    )
    max_uploads_per_principal: int = Field(
        16, ge=1, description="Concurrent uploads one principal may have per server process; more get 429."
    )
    max_concurrent_uploads: int = Field(
        64, ge=1, description="Concurrent uploads per server process, all principals together; more get 429."
    )
    worker_threads: int = Field(
        40,
        ge=2,
        description="Threads per server process for API requests (the synchronous services). Uploads never hold "
        "one while they wait for the client.",
    )
    upload_threads: int = Field(
        8,
        ge=1,
        description="Threads per server process that write received upload bytes to the blob store; separate "
        "from worker_threads, so uploads can never take the threads the API and health checks need.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELYARD_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(
        Path("modelyard-data"), description="Folder for the embedded SQLite database and the blob store."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata database; default sqlite:///<data_dir>/modelyard.db. "
        "Use postgresql://user@host/db at scale.",
    )
    blobs: BlobSettings = Field(default_factory=BlobSettings, description="Blob store settings.")
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings, description="MLflow adapter settings.")
    host: str = Field("127.0.0.1", description="Address 'modelyard serve' binds to.")
    port: int = Field(8080, description="Port 'modelyard serve' listens on.")
    upload_ttl_hours: float = Field(24.0, description="Hours an unfinished upload session stays valid.")
    gc_grace_hours: float = Field(24.0, description="Unreferenced blobs younger than this are never collected.")
    db_pool_size: int = Field(10, description="Connections per server process (PostgreSQL).")
    mlflow_file_source_roots: list[Path] = Field(
        default_factory=list,
        description="Local folders from which the MLflow adapter may copy 'file:' model sources (a JSON list). "
        "Empty (the default) refuses 'file:' sources: otherwise any client could make the server read any file "
        "it can read.",
    )
    auth: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Authentication: 'on' requires an API token on every request; 'off' is single-user mode "
        "(only on a loopback address); 'auto' is 'off' until an org admin's first token exists, then 'on': "
        "see docs/security.md#the-auto-mode.",
    )
    insecure_allow_no_auth_on_public_address: bool = Field(
        False,
        description="Allow auth 'off' while binding to a non-loopback address. Anyone who can reach the port "
        "can then read, change and delete everything. Never set this outside an isolated test network.",
    )
    webhook_secret_key: SecretStr | None = Field(
        None,
        description="Key that encrypts webhook secrets at rest (Fernet: 32 url-safe base64 bytes; several keys "
        "separated by commas rotate, the first encrypts). Without it, webhooks with a secret are refused.",
    )
    ui_session_key: SecretStr | None = Field(
        None,
        description="Key that signs the web UI's session cookies (any long random string). Without it, each "
        "server process draws a random key at start: sessions then end on restart and do not carry across "
        "processes behind a load balancer.",
    )
    webhook_allow_private_targets: bool = Field(
        False,
        description="Allow webhooks to loopback and private addresses (127.0.0.1, 10.0.0.0/8, ...). Link-local "
        "and cloud metadata addresses stay refused.",
    )
    webhook_delivery: bool = Field(
        True, description="Run the webhook delivery worker in this server process (any number of processes may)."
    )
    webhook_timeout_seconds: float = Field(5.0, description="Timeout of one webhook request (connect: at most 5 s).")
    webhook_max_attempts: int = Field(8, description="Attempts per webhook delivery before it is marked failed.")
    webhook_retry_base_seconds: float = Field(
        2.0, description="First retry delay of a failed webhook delivery; doubles per attempt (with jitter)."
    )
    webhook_retry_max_seconds: float = Field(600.0, description="Longest delay between two webhook attempts.")
    webhook_disable_after_failures: int = Field(
        5, description="Disable a webhook after this many consecutive failed deliveries (each after all attempts)."
    )
    limits: LimitSettings = Field(
        default_factory=LimitSettings, description="Request body, upload rate and concurrency limits."
    )
    watch_poll_seconds: float = Field(
        0.1, description="How often each server process checks the event log for watch streams."
    )
    watch_reauth_seconds: float = Field(
        5.0,
        gt=0,
        description="How often an idle watch stream re-checks its token and read access (a stream also "
        "re-checks before every delivery); a revoked token or lost access ends it with an 'error' event.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'modelyard.db').resolve()}"

    def resolved_blob_root(self) -> Path:
        return (self.blobs.root or (self.data_dir / "blobs")).resolve()
