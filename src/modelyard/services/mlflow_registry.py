"""Registry use cases the MLflow model-registry API needs beyond ``RegistryService``: creating a
version from an MLflow ``source`` URI (copying its files into the content-addressed store),
MLflow-filter searches, latest versions per stage, and download URIs.

Writes go through ``RegistryService`` (so every change appends its event); this module only
resolves sources and reads. Imports ``storage.interfaces`` only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelyard.domain import lineage
from modelyard.domain.actor import Actor
from modelyard.domain.digest import CHUNK_SIZE, Digest
from modelyard.domain.models import STAGES, Collection, FileEntry, RunRef, Version, VersionMetadata
from modelyard.domain.paths import VersionRef
from modelyard.domain.permissions import Action
from modelyard.errors import InvalidArgumentError
from modelyard.storage.interfaces import BlobStore, Clause, TrackingDatabase

from .mlflow_artifacts import ArtifactNotFoundError, MlflowArtifactService, version_prefix
from .registry import RegistryService, utcnow
from .tracking import LoggedModelNotFoundError, RunNotFoundError, TrackingService, latest_metrics

MAX_SOURCE_FILES = 100_000
PROMPT_TAG = "mlflow.prompt.is_prompt"


def prompt_scope(clauses: Sequence[Clause]) -> list[Clause]:
    """MLflow's rule for searches: prompts (collections tagged ``mlflow.prompt.is_prompt=true``)
    are left out, unless the filter asks for them (``= 'true'`` or ``!= 'false'`` on that tag)."""
    for kind, key, op, value in clauses:
        if kind == "tag" and key == PROMPT_TAG:
            text = str(value).lower()
            if (op == "=" and text == "true") or (op == "!=" and text == "false"):
                return list(clauses)
            break
    kept = [c for c in clauses if not (c[0] == "tag" and c[1] == PROMPT_TAG)]
    return [*kept, ("not_tag", PROMPT_TAG, "=", "true")]


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A collection as the MLflow API shows it: with the latest version in each stage."""

    collection: Collection
    latest_versions: list[Version]


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    files: list[FileEntry]
    params: dict[str, str]
    metrics: dict[str, float]
    flavor: str = ""
    run_id: str = ""
    # models:/name@alias, /latest and /<stage> are stored as models:/name/<n>, as MLflow does
    pinned_source: str = ""


def canonical_stage(stage: str) -> str:
    for s in STAGES:
        if isinstance(stage, str) and stage.lower() == s.lower():
            return s
    raise InvalidArgumentError(
        f"Invalid Model Version stage: {str(stage)[:40]}. Value must be one of {', '.join(STAGES)}.", field="stage"
    )


class MlflowRegistryService:
    def __init__(
        self,
        db: TrackingDatabase,
        blobs: BlobStore,
        registry: RegistryService,
        tracking: TrackingService,
        artifacts: MlflowArtifactService,
        *,
        file_source_roots: Sequence[Path] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``file_source_roots``: local folders a ``file:`` source may be read from (None: any)."""
        self._db = db
        self._blobs = blobs
        self._registry = registry
        self._tracking = tracking
        self._artifacts = artifacts
        self._file_roots = [Path(p).resolve() for p in file_source_roots] if file_source_roots is not None else None
        self._clock = clock

    # -- reads -----------------------------------------------------------------------------------

    def get_registered_model(self, actor: Actor, registry: str, name: str) -> RegisteredModel:
        collection = self._registry.get_collection(registry, name, actor=actor)
        with self._db.unit_of_work(write=False) as store:
            latest = store.latest_versions_by_stage([collection.id])
        return RegisteredModel(collection, latest[collection.id])

    def search_registered_models(
        self,
        actor: Actor,
        registry: str,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> tuple[list[RegisteredModel], int | None]:
        reg = self._registry.get_registry(registry, actor=actor)
        with self._db.unit_of_work(write=False) as store:
            found = store.search_collections(
                reg.id, clauses=prompt_scope(clauses), order_by=order_by, offset=offset, limit=limit
            )
            page = found[:limit]
            latest = store.latest_versions_by_stage([c.id for c in page])
        return [RegisteredModel(c, latest[c.id]) for c in page], (offset + limit if len(found) > limit else None)

    def latest_versions(self, actor: Actor, registry: str, name: str, stages: Sequence[str] = ()) -> list[Version]:
        """The latest version per requested stage (every stage when none are given), in MLflow's order."""
        wanted = {canonical_stage(s) for s in stages}
        model = self.get_registered_model(actor, registry, name)
        return [v for v in model.latest_versions if not wanted or v.stage in wanted]

    def search_versions(
        self,
        actor: Actor,
        registry: str,
        *,
        clauses: Sequence[Clause],
        order_by: Sequence[tuple[str, bool]],
        offset: int,
        limit: int,
    ) -> tuple[list[Version], int | None]:
        reg = self._registry.get_registry(registry, actor=actor)
        with self._db.unit_of_work(write=False) as store:
            found = store.search_versions(
                reg.id, clauses=prompt_scope(clauses), order_by=order_by, offset=offset, limit=limit
            )
        return found[:limit], (offset + limit if len(found) > limit else None)

    def model_ids(self, versions: Sequence[Version]) -> dict[int, str]:
        """The logged model each version was registered from, by version id."""
        with self._db.unit_of_work(write=False) as store:
            return store.model_ids_of_versions([v.id for v in versions])

    def download_uri(self, version: Version) -> str:
        """Where MLflow clients download a version: modelyard's own copy when it holds the files."""
        if version.file_count:
            return f"mlflow-artifacts:/{version_prefix(version.registry, version.collection, version.number)}"
        return version.metadata.source

    def version_artifact_path(self, actor: Actor, registry: str, name: str, number: int, path: str) -> str:
        """The artifact-proxy path of one file of a version (``/model-versions/get-artifact``).

        The proxy's download applies the download rule; a version holding no files (a reference
        to a source modelyard cannot read) has no artifacts to serve.
        """
        version = self._registry.get_version(registry, name, VersionRef(number=number), actor=actor)
        if not version.file_count:
            raise ArtifactNotFoundError(
                f"version {number} of '{name}' holds no files; its source is {version.metadata.source[:200]}",
                path=path[:200],
            )
        return f"{version_prefix(version.registry, version.collection, version.number)}/{path.lstrip('/')}"

    # -- writes with MLflow's semantics --------------------------------------------------------------

    def unset_collection_tag(self, actor: Actor, registry: str, name: str, key: str) -> None:
        """Remove a tag; removing a tag that is not set is a no-op, as in MLflow."""
        if key in self._registry.get_collection(registry, name, actor=actor).tags:
            self._registry.unset_collection_tag(actor, registry, name, key)

    def unset_version_tag(self, actor: Actor, registry: str, name: str, number: int, key: str) -> None:
        """Remove a version tag; removing a tag that is not set is a no-op, as in MLflow."""
        version = self._registry.get_version(registry, name, VersionRef(number=number), actor=actor)
        if key in version.metadata.tags:
            self._registry.unset_version_tag(actor, registry, name, number, key)

    def unset_alias(self, actor: Actor, registry: str, name: str, alias: str) -> None:
        """Remove an alias; removing an alias that is not set is a no-op, as in MLflow."""
        if alias in self._registry.get_collection(registry, name, actor=actor).aliases:
            self._registry.unset_alias(actor, registry, name, alias)

    # -- registration ------------------------------------------------------------------------------

    def create_version(
        self,
        actor: Actor,
        registry: str,
        name: str,
        *,
        source: str,
        run_id: str = "",
        run_link: str = "",
        description: str = "",
        tags: dict[str, str] | None = None,
        model_id: str = "",
    ) -> Version:
        """Register ``source`` as the next version of an existing collection, copying its files.

        Sources modelyard can read (``models:/m-…``, ``models:/name/…``, ``runs:/…``,
        ``mlflow-artifacts:``, ``file:`` and local paths) are copied into the blob store, so the
        version can never change or disappear; other URIs are recorded as a reference only.
        """
        if not isinstance(source, str) or not source:
            raise InvalidArgumentError("source is required", field="source")
        self._registry.get_collection(registry, name, actor=actor)
        if (tags or {}).get(PROMPT_TAG, "false").lower() == "true":
            lineage.check_prompt_source(source)  # a prompt version: MLflow checks no lineage
        else:
            self._check_lineage(actor, source, run_id=run_id, model_id=model_id)
        resolved = self._resolve(actor, registry, source, model_id)
        source = resolved.pinned_source or source
        metadata = VersionMetadata(
            description=description or "",
            tags=dict(tags or {}),
            run=RunRef(run_id or resolved.run_id, run_link or ""),
            params=resolved.params,
            metrics=resolved.metrics,
            source=source,
            flavor=resolved.flavor,
        )
        version = self._registry.create_version(
            actor, registry, name, files=resolved.files, metadata=metadata, create_collection=False
        )
        if model_id:
            with self._db.unit_of_work(write=True) as store:
                store.link_version(version.id, model_id)
        return version

    def _check_lineage(self, actor: Actor, source: str, *, run_id: str, model_id: str) -> None:
        """MLflow 3's lineage rule (``domain.lineage``): the source must belong to the named run or model.

        Local sources (``file:``, absolute paths) are governed by ``file_source_roots`` instead.
        """
        scheme = urlparse(source).scheme.lower()
        if scheme == "file" or (not scheme and source.startswith("/")):
            return
        check = lineage.classify(source, run_id=run_id, model_id=model_id)
        if check.kind != "artifacts":
            return
        if model_id:
            try:
                root = self._tracking.get_logged_model(actor, model_id).artifact_location
            except LoggedModelNotFoundError as exc:
                raise lineage.invalid_source(source, "model_id") from exc
            if not lineage.is_within(source, root):
                raise lineage.invalid_source(source, "model_id")
            return
        try:
            root = self._tracking.get_run(actor, run_id).artifact_uri
        except RunNotFoundError as exc:
            raise lineage.invalid_source(source, "run_id") from exc
        if not lineage.is_within(source, root):
            raise lineage.invalid_source(source, "run_id")

    def _resolve(self, actor: Actor, registry: str, source: str, model_id: str) -> ResolvedSource:
        params: dict[str, str] = {}
        metrics: dict[str, float] = {}
        run_id = ""
        if model_id:
            try:
                lm = self._tracking.get_logged_model(actor, model_id)
            except LoggedModelNotFoundError:
                lm = None
            if lm is not None:
                params = dict(lm.params)
                metrics = {m.key: m.value for m in latest_metrics(lm.metrics) if m.value == m.value}
                run_id = lm.source_run_id or ""
        resolved = self._resolve_files(actor, registry, source, params, metrics)
        return replace(resolved, run_id=resolved.run_id or run_id)

    def _resolve_files(
        self, actor: Actor, registry: str, source: str, params: dict[str, str], metrics: dict[str, float]
    ) -> ResolvedSource:
        parsed = urlparse(source)
        scheme = parsed.scheme.lower()
        if scheme == "models":
            return self._resolve_models_uri(actor, registry, source, params, metrics)
        if scheme == "runs":
            run_id, _, sub = f"{parsed.netloc}{parsed.path}".strip("/").partition("/")
            try:
                run = self._tracking.get_run(actor, run_id)
            except RunNotFoundError as exc:
                raise lineage.invalid_source(source, "run_id") from exc
            return self._from_proxy(actor, source, _join(run.artifact_uri, sub), params, metrics)
        if scheme == "mlflow-artifacts":
            return self._from_proxy(actor, source, source, params, metrics)
        if scheme == "file" or (not scheme and source.startswith("/")):
            files = self._from_local(unquote(parsed.path) if scheme else source)
            # The server read and hashed these bytes for this caller: they count as its upload.
            self._registry.record_blob_receipts(actor, [f.digest for f in files])
            return ResolvedSource(files, params, metrics)
        return ResolvedSource([], params, metrics)

    def _resolve_models_uri(
        self, actor: Actor, registry: str, source: str, params: dict[str, str], metrics: dict[str, float]
    ) -> ResolvedSource:
        path = urlparse(source).path.lstrip("/")
        parts = path.split("/")
        if len(parts) == 1 and "@" not in parts[0]:
            try:
                lm = self._tracking.get_logged_model(actor, parts[0])
            except LoggedModelNotFoundError as exc:
                raise InvalidArgumentError(
                    f"source '{source}' names a logged model that does not exist", field="source"
                ) from exc
            if not params:
                params = dict(lm.params)
            if not metrics:
                metrics = {m.key: m.value for m in latest_metrics(lm.metrics) if m.value == m.value}
            return replace(
                self._from_proxy(actor, source, lm.artifact_location, params, metrics), run_id=lm.source_run_id or ""
            )
        if len(parts) == 1:
            name, _, alias = parts[0].rpartition("@")
            ref = VersionRef(alias=alias)
        elif len(parts) == 2 and parts[1]:
            name, suffix = parts
            if suffix.isdigit():
                ref = VersionRef(number=int(suffix))
            elif suffix.lower() == "latest":
                ref = VersionRef(alias="latest")
            else:
                latest = self.latest_versions(actor, registry, name, [suffix])
                if not latest:
                    raise InvalidArgumentError(f"model '{name}' has no version in stage '{suffix}'", field="source")
                ref = VersionRef(number=latest[-1].number)
        else:
            raise InvalidArgumentError(f"invalid models:/ source '{source[:200]}'", field="source")
        # Copying a version's files hands over its bytes: the download rule, not the read rule. A
        # missing model, version or alias is RESOURCE_DOES_NOT_EXIST, as MLflow answers.
        src = self._registry.get_version(registry, name, ref, actor=actor, action=Action.DOWNLOAD)
        md = src.metadata
        return ResolvedSource(
            list(src.files),
            params or {k: str(v) for k, v in md.params.items()},
            metrics or dict(md.metrics),
            md.flavor,
            run_id=md.run.id,  # MLflow's new version names the run of the version it copies
            pinned_source=f"models:/{src.collection}/{src.number}",
        )

    def _from_proxy(
        self, actor: Actor, source: str, uri: str, params: dict[str, str], metrics: dict[str, float]
    ) -> ResolvedSource:
        parsed = urlparse(uri)
        if parsed.scheme != "mlflow-artifacts":
            return ResolvedSource([], params, metrics)
        files = self._artifacts.files_under(actor, unquote(parsed.path).strip("/"))
        if not files:
            raise InvalidArgumentError(f"source '{source[:200]}' holds no files to register", field="source")
        # files_under authorized this caller to read these bytes (experiment READ, or the download
        # rule for a registered version): that is the OCI "mount with read access to the source".
        self._registry.record_blob_receipts(actor, [f.digest for f in files])
        return ResolvedSource(files, params, metrics)

    def _from_local(self, path: str) -> list[FileEntry]:
        root = Path(path).resolve()
        if self._file_roots is not None and not any(root == r or r in root.parents for r in self._file_roots):
            raise InvalidArgumentError(
                f"this server does not read local sources outside its allowed roots: {path}", field="source"
            )
        if root.is_file():
            candidates = [(root.name, root)]
        elif root.is_dir():
            candidates = []
            for dirpath, _dirs, names in os.walk(root):
                for n in names:
                    full = Path(dirpath) / n
                    if full.is_file() and not full.is_symlink():
                        candidates.append((full.relative_to(root).as_posix(), full))
        else:
            raise InvalidArgumentError(f"local source '{path}' does not exist on the server", field="source")
        if not candidates or len(candidates) > MAX_SOURCE_FILES:
            raise InvalidArgumentError(f"local source '{path}' holds no files (or too many)", field="source")
        out = []
        for rel, full in sorted(candidates):
            h = hashlib.sha256()
            with open(full, "rb") as f:
                while chunk := f.read(CHUNK_SIZE):
                    h.update(chunk)
            digest = Digest(h.hexdigest())
            info = self._blobs.stat(digest)
            if info is None:
                digest_text, size = self._artifacts.store_blob(_read_chunks(full))
            else:
                digest_text, size = str(digest), info.size
            out.append(FileEntry(rel, digest_text, size))
        return out


def _join(base: str, sub: str) -> str:
    return f"{base.rstrip('/')}/{sub.strip('/')}" if sub.strip("/") else base


def _read_chunks(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            yield chunk
