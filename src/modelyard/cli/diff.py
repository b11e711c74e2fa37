"""``versions diff``: two versions side by side, as data (the CLI prints it as tables or JSON).

Pure: takes two ``VersionOut`` and returns plain dicts; no I/O.
"""

from __future__ import annotations

from typing import Any

from modelyard import schemas as s

METADATA_FIELDS = (
    "digest",
    "size",
    "file_count",
    "aliases",
    "stage",
    "description",
    "tags",
    "run",
    "datasets",
    "framework",
    "flavor",
    "signature",
    "source",
    "created_at",
    "created_by",
)


def _rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "a": a.get(k), "b": b.get(k), "changed": a.get(k) != b.get(k)} for k in sorted(set(a) | set(b))]


def diff_versions(a: s.VersionOut, b: s.VersionOut) -> dict[str, Any]:
    """Metadata, params, metrics and files of A and B; every row says whether it changed.

    Files are compared by path: ``a``/``b`` hold the digest (``None`` where the file is absent).
    """
    da, db = a.model_dump(mode="json"), b.model_dump(mode="json")
    metadata = [{"key": k, "a": da.get(k), "b": db.get(k), "changed": da.get(k) != db.get(k)} for k in METADATA_FIELDS]
    files = _rows({f.path: f.digest for f in a.files or []}, {f.path: f.digest for f in b.files or []})
    sections = {
        "metadata": metadata,
        "params": _rows(dict(a.params), dict(b.params)),
        "metrics": _rows(dict(a.metrics), dict(b.metrics)),
        "files": files,
    }
    changes = sum(r["changed"] for rows in sections.values() for r in rows)
    return {"a": a.path, "b": b.path, "changes": changes, **sections}
