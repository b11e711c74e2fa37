"""Which events a webhook fires on: triggers, patterns and filters (pure functions).

A webhook lists event actions or patterns (``alias.*``, ``*`` for every trigger). Its scope is
a registry or one collection (checked by the store query). Its optional filter narrows further:

- ``alias``: a name pattern (``prod*``, case-insensitive). Only events about a matching alias
  pass: alias set / moved / removed, and promotions targeting that alias.
- ``tag``: ``key`` or ``key=value``. Only tag events for that key (and value) pass.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from modelyard.domain import events as ev
from modelyard.errors import InvalidArgumentError

# The event actions a webhook can fire on. Promotion and check names are the promotions
# feature's (domain/events.py); written out so webhooks accept them whichever lands first.
TRIGGERS: tuple[str, ...] = (
    ev.VERSION_CREATED,
    ev.VERSION_UPDATED,
    ev.VERSION_DELETED,
    ev.VERSION_TAG_SET,
    ev.VERSION_TAG_UNSET,
    ev.STAGE_CHANGED,
    ev.ALIAS_SET,
    ev.ALIAS_UNSET,
    ev.COLLECTION_CREATED,
    ev.COLLECTION_UPDATED,
    ev.COLLECTION_DELETED,
    ev.COLLECTION_TAG_SET,
    ev.COLLECTION_TAG_UNSET,
    "promotion.requested",
    "promotion.approved",
    "promotion.rejected",
    "promotion.completed",
    "promotion.cancelled",
    "check.reported",
)
PING = "ping"
MAX_PATTERNS = 50


def validate_patterns(patterns: Sequence[str]) -> list[str]:
    """Check each pattern names at least one trigger; returns them de-duplicated, in order."""
    if isinstance(patterns, str) or not patterns:
        raise InvalidArgumentError("events must be a non-empty list of event names or patterns", field="events")
    if len(patterns) > MAX_PATTERNS:
        raise InvalidArgumentError(f"at most {MAX_PATTERNS} event patterns", field="events")
    out: list[str] = []
    for p in patterns:
        if not isinstance(p, str) or not p or len(p) > 64:
            raise InvalidArgumentError(
                "each event pattern is a non-empty string of at most 64 characters", field="events"
            )
        if not any(fnmatch.fnmatchcase(t, p) for t in TRIGGERS):
            raise InvalidArgumentError(
                f"'{p}' matches no webhook trigger; use one of {', '.join(TRIGGERS)} or a pattern like 'alias.*'",
                field="events",
            )
        if p not in out:
            out.append(p)
    return out


def validate_filter(flt: Mapping[str, Any] | None) -> dict[str, str]:
    if not flt:
        return {}
    unknown = set(flt) - {"alias", "tag"}
    if unknown:
        raise InvalidArgumentError(f"unknown filter keys {sorted(unknown)}; use 'alias' and/or 'tag'", field="filter")
    out = {}
    for key in ("alias", "tag"):
        value = flt.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > 250:
            raise InvalidArgumentError(f"filter '{key}' must be a string of at most 250 characters", field="filter")
        out[key] = value
    return out


def action_matches(patterns: Sequence[str], action: str) -> bool:
    return action in TRIGGERS and any(fnmatch.fnmatchcase(action, p) for p in patterns)


def alias_of(target: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str | None:
    """The alias an event is about, if any (``models/fraud@prod`` or an ``alias`` field)."""
    if "@" in target:
        return target.rsplit("@", 1)[1]
    for side in (after, before):
        if side and isinstance(side.get("alias"), str):
            return str(side["alias"])
        if side and side.get("target_kind") == "alias" and isinstance(side.get("target"), str):
            return str(side["target"])
    return None


def event_matches(
    patterns: Sequence[str],
    flt: Mapping[str, str],
    *,
    action: str,
    target: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> bool:
    """Whether a webhook with ``patterns`` and filter ``flt`` fires on this event (scope aside)."""
    if not action_matches(patterns, action):
        return False
    alias_pattern = flt.get("alias")
    if alias_pattern:
        alias = alias_of(target, before, after)
        if alias is None or not fnmatch.fnmatchcase(alias.lower(), alias_pattern.lower()):
            return False
    tag = flt.get("tag")
    if tag:
        key, sep, value = tag.partition("=")
        side = after or before or {}
        if side.get("key") != key:
            return False
        if sep and (after or {}).get("value") != value:
            return False
    return True
