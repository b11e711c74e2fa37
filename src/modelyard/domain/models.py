"""Domain entities: frozen dataclasses, no I/O. Times are timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from .names import encode_collection_name

T = TypeVar("T")

VISIBILITY_ORGANIZATION = "organization"
VISIBILITY_RESTRICTED = "restricted"
STAGES = ("None", "Staging", "Production", "Archived")
# Stages from least to most live: sorting versions by stage, newest-first shows Production first.
STAGE_RANK = ("Archived", "None", "Staging", "Production")


@dataclass(frozen=True, slots=True)
class Registry:
    id: int
    name: str
    description: str
    artifact_types: tuple[str, ...]
    visibility: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    registry: str
    name: str
    artifact_type: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
    created_by: str = ""

    @property
    def path(self) -> str:
        return f"{self.registry}/{encode_collection_name(self.name)}"


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class RunRef:
    id: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class VersionMetadata:
    """Everything a version says about itself, fixed at creation (description/tags excepted)."""

    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    run: RunRef = field(default_factory=RunRef)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    framework: str = ""
    flavor: str = ""
    signature: dict[str, Any] | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    registry: str
    collection: str
    number: int
    artifact_type: str
    files: tuple[FileEntry, ...]
    metadata: VersionMetadata
    aliases: tuple[str, ...]
    stage: str
    size: int
    file_count: int
    digest: str
    created_at: datetime
    updated_at: datetime
    created_by: str

    @property
    def path(self) -> str:
        return f"{self.registry}/{encode_collection_name(self.collection)}:{self.number}"


@dataclass(frozen=True, slots=True)
class AliasChange:
    """One entry of an alias's history: what it pointed to, from when, set by whom."""

    alias: str
    version: int | None
    previous_version: int | None
    actor: str
    at: datetime
    event_id: int


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    registry: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str = ""
    client_address: str = ""
    token_name: str = ""


@dataclass(frozen=True, slots=True)
class FileRef:
    """A stored reference to a blob: a version's file, or a file kept by the MLflow artifact proxy."""

    owner: str  # "registry/collection:3" or "mlflow-artifacts:<path>"
    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class AliasRef:
    """An alias row as stored, with the collection of the version it points at (None: no such version)."""

    target: str  # "registry/collection@alias"
    collection_id: int
    version_id: int
    version_collection_id: int | None
    version_number: int | None


@dataclass(frozen=True, slots=True)
class UploadSession:
    id: str
    digest: str
    size: int
    offset: int
    registry: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None = None
