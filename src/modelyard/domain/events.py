"""The names of every event action. One constant per kind of change; the event log,
the audit trail, webhooks and watch streams all use these strings."""

from __future__ import annotations

REGISTRY_CREATED = "registry.created"
REGISTRY_UPDATED = "registry.updated"
REGISTRY_DELETED = "registry.deleted"
COLLECTION_CREATED = "collection.created"
COLLECTION_UPDATED = "collection.updated"
COLLECTION_DELETED = "collection.deleted"
COLLECTION_TAG_SET = "collection.tag_set"
COLLECTION_TAG_UNSET = "collection.tag_unset"
VERSION_CREATED = "version.created"
VERSION_UPDATED = "version.updated"
VERSION_DELETED = "version.deleted"
VERSION_TAG_SET = "version.tag_set"
VERSION_TAG_UNSET = "version.tag_unset"
ALIAS_SET = "alias.set"
ALIAS_UNSET = "alias.unset"
STAGE_CHANGED = "version.stage_changed"
