"""The collection search query and its opaque page tokens. Pure Python."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelyard.errors import InvalidArgumentError, InvalidPageTokenError

from .names import normalize_collection_name

NAME_MODES = ("exact", "prefix", "substring")
ORDER_FIELDS = ("name", "created_at", "updated_at")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def encode_page_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> dict[str, Any]:
    """Inverse of ``encode_page_token``; raises ``InvalidPageTokenError`` on anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidPageTokenError("page_token is not a token this server issued", page_token=token[:80]) from exc
    if not isinstance(payload, dict):
        raise InvalidPageTokenError("page_token is not a token this server issued", page_token=token[:80])
    return payload


def check_page_size(page_size: int) -> int:
    if not isinstance(page_size, int) or page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgumentError(f"page_size must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    return page_size


def parse_order_by(order_by: str) -> tuple[str, bool]:
    """``name``, ``-updated_at``, ``created_at desc`` -> (field, descending)."""
    text = order_by.strip()
    descending = False
    if text.startswith("-"):
        text, descending = text[1:], True
    parts = text.split()
    if len(parts) == 2 and parts[1].lower() in ("asc", "desc"):
        text, descending = parts[0], parts[1].lower() == "desc"
    if text not in ORDER_FIELDS:
        raise InvalidArgumentError(
            f"cannot order by '{order_by[:60]}': use one of {', '.join(ORDER_FIELDS)} (prefix '-' for descending)",
            field="order_by",
        )
    return text, descending


def parse_tag_filter(text: str) -> tuple[str, str | None]:
    """``key`` (has the tag) or ``key=value`` (tag equals value)."""
    key, sep, value = text.partition("=")
    if not key:
        raise InvalidArgumentError(f"invalid tag filter '{text[:80]}': use 'key' or 'key=value'", field="tag")
    return key, (value if sep else None)


@dataclass(frozen=True, slots=True)
class CollectionQuery:
    """What to search for. ``after`` is the keyset position decoded from a page token."""

    registry_ids: list[int] | None = None
    name: str | None = None
    name_mode: str = "substring"
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    artifact_type: str | None = None
    alias: str | None = None
    order_by: str = "name"
    descending: bool = False
    limit: int = DEFAULT_PAGE_SIZE
    after: tuple[Any, int] | None = None

    def __post_init__(self) -> None:
        if self.name_mode not in NAME_MODES:
            raise InvalidArgumentError(
                f"name match must be one of {', '.join(NAME_MODES)}, got '{self.name_mode[:40]}'", field="match"
            )

    @property
    def name_norm(self) -> str:
        return normalize_collection_name(self.name or "")

    def token_for(self, last_sort_value: Any, last_id: int) -> str:
        value = last_sort_value.isoformat() if isinstance(last_sort_value, datetime) else last_sort_value
        return encode_page_token({"o": self.order_by, "d": self.descending, "v": value, "id": last_id})

    def position_from_token(self, token: str) -> tuple[Any, int]:
        payload = decode_page_token(token)
        if payload.get("o") != self.order_by or payload.get("d") != self.descending or "id" not in payload:
            raise InvalidPageTokenError("page_token belongs to a different ordering", page_token=token[:80])
        value = payload.get("v")
        last_id = payload["id"]
        try:
            if self.order_by != "name":
                value = datetime.fromisoformat(str(value))
                if value.tzinfo is None:  # this server issues UTC-aware positions only
                    raise ValueError("the position of a time ordering is timezone-aware")
            elif not isinstance(value, str):
                raise TypeError("the position of a name ordering is a string")
            if not is_row_id(last_id):
                raise ValueError("the position's id is not a row id")
            return value, last_id
        except (TypeError, ValueError) as exc:
            raise InvalidPageTokenError("page_token is not a token this server issued", page_token=token[:80]) from exc


def is_row_id(value: Any) -> bool:
    """A value from a page token that can be bound as a row id or number (a 64-bit, non-negative int)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
