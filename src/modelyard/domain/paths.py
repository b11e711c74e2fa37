"""Parse and format artifact paths: ``registry/collection``, ``registry/collection:3``,
``registry/collection:champion``, ``registry/collection:latest`` (also ``@alias``).

A collection name is written with ``%`` as ``%25`` and ``@`` as ``%40`` (names cannot hold
``/`` or ``:``), so ``models/a%40b@prod`` is alias ``prod`` of collection ``a@b``; every other
character, spaces and unicode included, is written as is.

Pure Python. MLflow URIs are parsed in the MLflow adapter, which maps them onto these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.errors import InvalidNameError

from .inputs import MAX_VERSION_NUMBER, check_int64, validate_text
from .names import (
    decode_collection_name,
    encode_collection_name,
    validate_collection_name,
    validate_registry_name,
)

LATEST = "latest"
_NUMBER = re.compile(r"^[vV]?([0-9]+)\Z")


@dataclass(frozen=True, slots=True)
class VersionRef:
    """What follows the ``:``: a version number, an alias, or ``latest``."""

    number: int | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        # Every way a reference is built (a path, an MLflow URI, a route's number) passes here,
        # so no out-of-range number or unstorable alias text reaches a query.
        if self.number is not None:
            check_int64(self.number, field="version", high=MAX_VERSION_NUMBER)
        if self.alias is not None:
            validate_text(self.alias, field="alias")

    @classmethod
    def parse(cls, text: str) -> VersionRef:
        if not text:
            raise InvalidNameError("empty version reference: use a number, an alias or 'latest'", field="ref")
        m = _NUMBER.match(text)
        if m:
            number = int(m.group(1))
            if number < 1:
                raise InvalidNameError(f"version numbers start at 1, got '{text}'", field="ref")
            return cls(number=number)
        return cls(alias=text)

    @property
    def is_latest(self) -> bool:
        """``latest`` in any case (``Latest``, ``LATEST``), as MLflow resolves it."""
        return self.alias is not None and self.alias.lower() == LATEST

    def __str__(self) -> str:
        return str(self.number) if self.number is not None else str(self.alias)


@dataclass(frozen=True, slots=True)
class ArtifactPath:
    registry: str
    collection: str
    ref: VersionRef | None = None

    @classmethod
    def parse(cls, text: str, *, default_ref: str | None = None) -> ArtifactPath:
        """Parse ``registry/collection[:ref]`` or ``registry/collection[@alias]``."""
        if not isinstance(text, str) or "/" not in text:
            raise InvalidNameError(
                f"invalid path '{str(text)[:120]}': expected 'registry/collection[:version|:alias]'",
                field="path",
            )
        registry, _, rest = text.partition("/")
        ref_text: str | None = default_ref
        for sep in (":", "@"):
            if sep in rest:
                rest, _, ref_text = rest.partition(sep)
                break
        validate_registry_name(registry)
        rest = decode_collection_name(rest)
        validate_collection_name(rest)
        return cls(registry, rest, VersionRef.parse(ref_text) if ref_text is not None else None)

    def __str__(self) -> str:
        base = f"{self.registry}/{encode_collection_name(self.collection)}"
        return f"{base}:{self.ref}" if self.ref is not None else base
