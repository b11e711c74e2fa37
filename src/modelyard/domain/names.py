"""Validation and normalization of every user-chosen name, and the documented size limits.

One place for each rule: registry names, collection names, alias names, tag keys and
values, descriptions, artifact types, file paths inside a version, principal (user, service
account, team) names, webhook names and promotion check names. Pure Python.
"""

from __future__ import annotations

import re
import unicodedata

from modelyard.errors import InvalidArgumentError, InvalidNameError, InvalidPathError, LimitExceededError

# Documented limits (docs/concepts.md#limits). Changing one is a user-visible change.
MAX_REGISTRY_NAME = 64
MAX_COLLECTION_NAME = 256  # MLflow's registered_models.name column
MAX_ALIAS_NAME = 255  # MLflow's MAX_REGISTERED_MODEL_ALIAS_LENGTH
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 100_000  # MLflow's MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH
MAX_TAGS = 100
MAX_DESCRIPTION = 65536
MAX_FILE_PATH = 1024
MAX_FILES_PER_VERSION = 100_000
MAX_METADATA_JSON = 1_048_576  # params + metrics + signature + datasets, serialized
MAX_ARTIFACT_TYPE = 64

# The name patterns, written so they read the same in Python and JSON Schema (the OpenAPI
# document states them); compiled below with ``\Z``, which unlike ``$`` admits no trailing newline.
REGISTRY_NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$"
# MLflow's registered-model names: not blank, no '/' or ':', not '.', not starting with '..';
# spaces, unicode, '@' and '%' are allowed; control characters are not (modelyard's one addition).
COLLECTION_NAME_PATTERN = r"^(?!\.\.)(?!\.$)(?!\s*$)[^/:\x00-\x1f\x7f]+$"
# MLflow's alias names (^[\w\-]*$, non-empty): unicode word characters and '-'.
ALIAS_NAME_PATTERN = r"^[\w-]+$"
ARTIFACT_TYPE_PATTERN = "^[a-z][a-z0-9_-]*$"
TAG_KEY_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.:/ -]*$"
PRINCIPAL_NAME_PATTERN = "^[a-z0-9][a-z0-9._@-]{0,127}$"
# MLflow's webhook names (letters of either case) fit too, so both APIs name the same webhooks.
WEBHOOK_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
CHECK_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.removesuffix("$") + r"\Z")


_REGISTRY_RE = _compile(REGISTRY_NAME_PATTERN)
_COLLECTION_RE = _compile(COLLECTION_NAME_PATTERN)
_ALIAS_RE = _compile(ALIAS_NAME_PATTERN)
# In native paths (``registry/collection:ref``, ``registry/collection@alias``) a collection name
# is written with '%' as %25 and '@' as %40, so the '@' separator stays unambiguous.
_PATH_ESCAPE_RE = re.compile(r"%(25|40)")
_RESERVED_ALIAS_RE = re.compile(r"^[vV][0-9]+\Z")
_ARTIFACT_TYPE_RE = _compile(ARTIFACT_TYPE_PATTERN)
_TAG_KEY_RE = _compile(TAG_KEY_PATTERN)
_PRINCIPAL_RE = _compile(PRINCIPAL_NAME_PATTERN)
_WEBHOOK_RE = _compile(WEBHOOK_NAME_PATTERN)
_CHECK_NAME_RE = _compile(CHECK_NAME_PATTERN)
RESERVED_ALIASES = frozenset({"latest"})


def validate_registry_name(name: str) -> str:
    """Registry names: lowercase letters, digits, ``-`` and ``_``; at most 64 characters."""
    if not isinstance(name, str) or not name or len(name) > MAX_REGISTRY_NAME or not _REGISTRY_RE.match(name):
        raise InvalidNameError(
            f"invalid registry name '{str(name)[:80]}': use 1-{MAX_REGISTRY_NAME} lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit",
            field="registry",
        )
    return name


def validate_collection_name(name: str) -> str:
    """Collection names, as MLflow's registered-model names: 1-256 characters, not blank, without
    ``/`` or ``:``, not ``.`` and not starting with ``..``. Spaces, unicode, ``@`` and ``%`` are
    allowed; control characters are not (modelyard's one addition: they cannot be shown or logged).
    """
    if not isinstance(name, str) or len(name) > MAX_COLLECTION_NAME or not _COLLECTION_RE.match(name):
        raise InvalidNameError(
            f"invalid collection name '{str(name)[:80]}': use 1-{MAX_COLLECTION_NAME} characters, not blank, "
            "without '/', ':' or control characters, not '.' and not starting with '..'",
            field="collection",
        )
    return name


def normalize_collection_name(name: str) -> str:
    """The search and sort key of a collection name: case-folded. Idempotent.

    Not the identity: collections are matched by their exact name, as MLflow matches registered
    models (``x`` and ``X`` are two collections).
    """
    return unicodedata.normalize("NFKC", name).casefold()


def encode_collection_name(name: str) -> str:
    """A collection name as written in a native path: ``%`` -> ``%25``, ``@`` -> ``%40``.

    Names without ``%`` and ``@`` (every name modelyard accepted before) are written unchanged.
    ``decode_collection_name(encode_collection_name(n)) == n`` for every name.
    """
    return name.replace("%", "%25").replace("@", "%40")


def decode_collection_name(text: str) -> str:
    """The inverse of :func:`encode_collection_name`; other ``%`` sequences are kept as written."""
    return _PATH_ESCAPE_RE.sub(lambda m: "%" if m.group(1) == "25" else "@", text)


def alias_key(name: str) -> str:
    """The identity of an alias within its collection: the exact name (``prod`` and ``Prod`` are
    two aliases, as in MLflow). Protection policies still match case-insensitively."""
    return name


def validate_alias_name(name: str) -> str:
    """Alias names, as MLflow's: 1-255 unicode word characters (letters, digits, ``_``) or ``-``.

    ``latest`` (any case) and ``v<N>`` are reserved: ``latest`` is implicit and ``v3`` reads as a
    version.
    """
    if not isinstance(name, str) or not name or len(name) > MAX_ALIAS_NAME or not _ALIAS_RE.match(name):
        raise InvalidNameError(
            f"invalid alias name '{str(name)[:80]}': use 1-{MAX_ALIAS_NAME} letters, digits, '_' or '-'",
            field="alias",
        )
    if name.lower() in RESERVED_ALIASES or _RESERVED_ALIAS_RE.match(name):
        raise InvalidNameError(f"alias name '{name}' is reserved: 'latest' and 'v<N>' cannot be set", field="alias")
    return name


def validate_principal_name(name: str, what: str = "principal") -> str:
    """User, service account and team names (``what`` names the field): 1-128 lowercase letters,
    digits, ``.``, ``_``, ``@`` or ``-``, starting with a letter or digit."""
    if not isinstance(name, str) or not _PRINCIPAL_RE.match(name):
        raise InvalidNameError(
            f"invalid {what} name '{str(name)[:80]}': use 1-128 lowercase letters, digits, '.', '_', '@' or '-'",
            field=what,
        )
    return name


def validate_webhook_name(name: str) -> str:
    """Webhook names: 1-128 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit."""
    if not isinstance(name, str) or not _WEBHOOK_RE.match(name):
        raise InvalidNameError(
            f"invalid webhook name '{str(name)[:80]}': use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    return name


def validate_check_name(name: str) -> str:
    """Promotion check names: 1-128 letters, digits, ``_ . : / -``, starting with a letter or digit."""
    if not isinstance(name, str) or not _CHECK_NAME_RE.match(name):
        raise InvalidArgumentError(
            f"invalid check name '{str(name)[:80]}': 1-128 letters, digits, '_', '.', ':', '/', '-'", field="check"
        )
    return name


def validate_artifact_type(name: str) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_ARTIFACT_TYPE or not _ARTIFACT_TYPE_RE.match(name):
        raise InvalidNameError(
            f"invalid artifact type '{str(name)[:80]}': use 1-{MAX_ARTIFACT_TYPE} lowercase letters, digits, "
            "'-' or '_', starting with a letter",
            field="artifact_type",
        )
    return name


def validate_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tag keys: 1-250 characters of letters, digits and ``_ . : / -`` or space; values up to 100,000."""
    if len(tags) > MAX_TAGS:
        raise LimitExceededError(f"at most {MAX_TAGS} tags are allowed, got {len(tags)}", field="tags")
    for key, value in tags.items():
        validate_tag(key, value)
    return dict(tags)


def validate_tag(key: str, value: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY or not _TAG_KEY_RE.match(key):
        raise InvalidNameError(
            f"invalid tag key '{str(key)[:80]}': use 1-{MAX_TAG_KEY} letters, digits or '_ . : / -' and spaces",
            field="tag_key",
        )
    if not isinstance(value, str):
        raise InvalidNameError(f"tag '{key}' must have a string value", field="tag_value")
    if len(value) > MAX_TAG_VALUE:
        raise LimitExceededError(
            f"tag '{key}' value is {len(value)} characters; at most {MAX_TAG_VALUE} are allowed",
            field="tag_value",
        )


def validate_description(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) > MAX_DESCRIPTION:
        raise LimitExceededError(
            f"description is {len(text)} characters; at most {MAX_DESCRIPTION} are allowed", field="description"
        )
    return text


def validate_file_path(path: str) -> str:
    """A file path inside a version: relative POSIX, no ``..``, ``.``, empty segments or backslashes.

    The result can be joined under any directory without escaping it.
    """

    def bad(why: str) -> InvalidPathError:
        return InvalidPathError(f"invalid file path '{str(path)[:200]}': {why}", file=str(path)[:200])

    if not isinstance(path, str) or not path:
        raise bad("must be a non-empty string")
    if len(path) > MAX_FILE_PATH:
        raise bad(f"longer than {MAX_FILE_PATH} characters")
    if "\x00" in path or any(ord(c) < 32 for c in path):
        raise bad("contains control characters")
    if "\\" in path:
        raise bad("use '/' as the separator, not '\\'")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise bad("must be relative, not absolute")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise bad("must not contain empty, '.' or '..' segments")
    return path


def validate_file_paths(paths: list[str]) -> None:
    """Each path valid, no duplicates, and no path both a file and a directory of another."""
    if len(paths) > MAX_FILES_PER_VERSION:
        raise LimitExceededError(
            f"a version holds at most {MAX_FILES_PER_VERSION} files, got {len(paths)}", field="files"
        )
    seen: set[str] = set()
    for p in paths:
        validate_file_path(p)
        if p in seen:
            raise InvalidPathError(f"duplicate file path '{p}'", file=p)
        seen.add(p)
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in seen:
                raise InvalidPathError(f"'{prefix}' is both a file and a directory", file=prefix)
