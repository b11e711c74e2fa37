"""``fsck``: check that what the metadata says is stored is really stored, intact.

Read-only. Four checks, each problem reported on its own (nothing stops at the first):

- every blob in the blob store (or a random sample) re-hashes to its name and has its size;
- every file reference (version files, MLflow proxy files) names a blob that exists with the
  recorded size;
- every alias points at a version that exists and belongs to the alias's own collection;
- the audit hash chain verifies (``AuditService.verify_chain``, the one implementation).

Imports only ``storage.interfaces`` and the domain.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from modelyard.domain.digest import Digest
from modelyard.errors import BlobUnknownError, InvalidArgumentError
from modelyard.storage.interfaces import BlobInfo, BlobStore, Database

from .audit import AuditService

# Problem kinds: stable strings for scripts (``modelyard fsck --json``).
BLOB_CORRUPT = "blob_corrupt"
BLOB_MISSING = "blob_missing"
BLOB_SIZE_MISMATCH = "blob_size_mismatch"
ALIAS_DANGLING = "alias_dangling"
ALIAS_WRONG_COLLECTION = "alias_wrong_collection"
AUDIT_CHAIN_BROKEN = "audit_chain_broken"


@dataclass(frozen=True, slots=True)
class FsckProblem:
    kind: str
    subject: str
    message: str


@dataclass(slots=True)
class FsckReport:
    blobs_total: int = 0
    blobs_hashed: int = 0
    file_refs: int = 0
    aliases: int = 0
    events: int = 0
    problems: list[FsckProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class FsckService:
    def __init__(self, db: Database, blobs: BlobStore, audit: AuditService) -> None:
        self._db = db
        self._blobs = blobs
        self._audit = audit

    def check(self, *, sample: float | None = None, seed: int | None = None) -> FsckReport:
        """Run every check. ``sample``: re-hash only that many blobs (>= 1) or that fraction (0 < f < 1)."""
        report = FsckReport()
        self._check_blobs(report, sample, seed)
        self._check_file_refs(report)
        self._check_aliases(report)
        self._check_audit_chain(report)
        return report

    def _check_blobs(self, report: FsckReport, sample: float | None, seed: int | None) -> None:
        infos = list(self._blobs.iter_blobs())
        report.blobs_total = len(infos)
        chosen = _sample(infos, sample, seed)
        for info in chosen:
            report.blobs_hashed += 1
            h, size = hashlib.sha256(), 0
            try:
                for chunk in self._blobs.open(info.digest):
                    h.update(chunk)
                    size += len(chunk)
            except BlobUnknownError:
                continue  # deleted (by gc) since it was listed: not a problem
            actual = Digest(h.hexdigest())
            if actual != info.digest:
                report.problems.append(
                    FsckProblem(BLOB_CORRUPT, str(info.digest), f"blob {info.digest} holds bytes that hash to {actual}")
                )

    def _check_file_refs(self, report: FsckReport) -> None:
        with self._db.unit_of_work(write=False) as store:
            for ref in store.iter_file_refs():
                report.file_refs += 1
                subject = f"{ref.owner} {ref.path}"
                info = self._blobs.stat(Digest.parse(ref.digest))
                if info is None:
                    report.problems.append(
                        FsckProblem(BLOB_MISSING, subject, f"{subject}: blob {ref.digest} is not in the blob store")
                    )
                elif info.size != ref.size:
                    report.problems.append(
                        FsckProblem(
                            BLOB_SIZE_MISMATCH,
                            subject,
                            f"{subject}: blob {ref.digest} is {info.size} bytes, the metadata says {ref.size}",
                        )
                    )

    def _check_aliases(self, report: FsckReport) -> None:
        with self._db.unit_of_work(write=False) as store:
            refs = store.list_alias_refs()
        for ref in refs:
            report.aliases += 1
            if ref.version_collection_id is None:
                report.problems.append(
                    FsckProblem(
                        ALIAS_DANGLING,
                        ref.target,
                        f"alias {ref.target} points at version row {ref.version_id}, which does not exist",
                    )
                )
            elif ref.version_collection_id != ref.collection_id:
                report.problems.append(
                    FsckProblem(
                        ALIAS_WRONG_COLLECTION,
                        ref.target,
                        f"alias {ref.target} points at version {ref.version_number} of another collection "
                        f"(collection id {ref.version_collection_id})",
                    )
                )

    def _check_audit_chain(self, report: FsckReport) -> None:
        chain = self._audit.verify_chain()
        report.events = chain.checked
        if not chain.ok:
            subject = f"event {chain.first_broken_id}"
            report.problems.append(FsckProblem(AUDIT_CHAIN_BROKEN, subject, f"audit chain: {chain.reason}"))


def _sample(infos: list[BlobInfo], sample: float | None, seed: int | None) -> list[BlobInfo]:
    if sample is None:
        return infos
    if sample <= 0 or (sample > 1 and sample != int(sample)):
        raise InvalidArgumentError(
            f"--sample must be a count (1, 2, ...) or a fraction between 0 and 1, got {sample}", field="sample"
        )
    count = int(sample) if sample >= 1 else max(1, round(len(infos) * sample))
    if count >= len(infos):
        return infos
    return random.Random(seed).sample(infos, count)
