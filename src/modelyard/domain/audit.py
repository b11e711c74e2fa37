"""The audit chain rule: each event's hash covers its content and the previous event's hash.

Pure. The SQL store computes it on append; ``services.audit.verify_chain`` recomputes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "id",
    "created_at",
    "actor",
    "actor_kind",
    "token_name",
    "action",
    "target",
    "registry",
    "collection_id",
    "before",
    "after",
    "request_id",
    "client_address",
)


def event_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and the event's canonical JSON (sorted keys, ISO times)."""
    content = {k: row[k] for k in HASHED_FIELDS}
    content["created_at"] = row["created_at"].isoformat()
    payload = prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    head_id: int
    head_hash: str
    first_broken_id: int | None = None
    reason: str = ""
