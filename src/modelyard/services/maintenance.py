"""Garbage collection (mark and sweep) and purging of stale upload sessions. Dry-run first.

Only ``gc`` deletes blobs. The mark set is every digest referenced by a live version or an
open upload session; a blob outside it is swept only if it is older than the grace period,
so a blob uploaded a moment ago for a version not yet committed is never taken.

Blob receipts (who uploaded which digest, see ``authz.usable_digests``) are not in the mark
set: they grant reuse of bytes, they do not hold them. A sweep drops the receipts of the blobs
it deleted; re-uploading the bytes records a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modelyard.domain.digest import Digest
from modelyard.storage.interfaces import BlobStore, Database

from .registry import utcnow


@dataclass(slots=True)
class GcReport:
    dry_run: bool
    blobs_scanned: int = 0
    blobs_referenced: int = 0
    blobs_in_grace: int = 0
    swept: list[str] = field(default_factory=list)
    bytes_swept: int = 0


@dataclass(slots=True)
class PurgeReport:
    dry_run: bool
    sessions: list[str] = field(default_factory=list)
    multipart_uploads: list[str] = field(default_factory=list)


class MaintenanceService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        *,
        upload_ttl: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._upload_ttl = upload_ttl
        self._clock = clock

    def gc(self, *, grace: timedelta = timedelta(hours=24), dry_run: bool = True) -> GcReport:
        """Sweep blobs no live version or open upload references and older than ``grace``."""
        started = self._clock()
        report = GcReport(dry_run=dry_run)
        sizes: dict[str, int] = {}
        with self._db.unit_of_work(write=False) as store:
            marked = store.referenced_digests()
        for info in self._blobs.iter_blobs():
            report.blobs_scanned += 1
            if str(info.digest) in marked:
                report.blobs_referenced += 1
                continue
            if info.modified_at > started - grace:
                report.blobs_in_grace += 1
                continue
            report.swept.append(str(info.digest))
            sizes[str(info.digest)] = info.size
        if not dry_run and report.swept:
            # Re-mark just before deleting: a version committed while we scanned keeps its blobs.
            with self._db.unit_of_work(write=False) as store:
                marked = store.referenced_digests()
            for d in [d for d in report.swept if d in marked]:
                report.swept.remove(d)
            for d in list(report.swept):
                info = self._blobs.stat(Digest.parse(d))
                if info is not None and info.modified_at > self._clock() - grace:
                    report.swept.remove(d)  # touched by a push since we scanned
                    continue
                self._blobs.delete(Digest.parse(d))
            # A receipt is a permission, not a reference: it keeps no blob alive, and goes with its blob.
            with self._db.unit_of_work(write=True) as store:
                store.delete_blob_receipts(report.swept)
        report.bytes_swept = sum(sizes[d] for d in report.swept)
        return report

    def purge_uploads(self, *, dry_run: bool = True) -> PurgeReport:
        """Drop upload sessions past their TTL, upload data no session row knows about that has seen no
        write for an hour, and MLflow multipart uploads idle (no part received) for the upload TTL.

        Age is always time since the last activity, never since creation: an upload that is still
        receiving data is never taken."""
        now = self._clock()
        report = PurgeReport(dry_run=dry_run)
        with self._db.unit_of_work(write=False) as store:
            report.multipart_uploads = store.idle_multipart_uploads(now - self._upload_ttl)
            expired = set(store.expired_uploads(now))
            known = {sid for sid, _ in self._blobs.iter_uploads() if store.find_upload(sid) is not None}
        for sid, modified in self._blobs.iter_uploads():
            orphan = sid not in known and modified < now - timedelta(hours=1)
            if sid in expired or orphan:
                report.sessions.append(sid)
        report.sessions.extend(sorted(expired - set(report.sessions)))
        if not dry_run:
            for sid in report.sessions:
                self._blobs.abort(sid)
            with self._db.unit_of_work(write=True) as store:
                for sid in report.sessions:
                    store.delete_upload(sid)
                # Re-check under the write lock: a part that arrived since the scan keeps its upload.
                idle = set(store.idle_multipart_uploads(self._clock() - self._upload_ttl))
                report.multipart_uploads = [u for u in report.multipart_uploads if u in idle]
                for upload_id in report.multipart_uploads:
                    store.delete_multipart_upload(upload_id)
        return report
