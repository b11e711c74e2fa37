"""modelyard: a self-hosted, governed registry for machine-learning models and other artifacts.

This package's top level is the SDK surface: ``Client``, the error classes and the wire models.
"""

from __future__ import annotations

from modelyard._version import __version__
from modelyard.client import Client, Pager
from modelyard.errors import (
    AliasNotFoundError,
    AlreadyExistsError,
    BlobUnknownError,
    CollectionNotFoundError,
    ConflictError,
    DestinationNotEmptyError,
    DigestMismatchError,
    InsufficientStorageError,
    InvalidArgumentError,
    InvalidNameError,
    InvalidPathError,
    MissingBlobsError,
    ModelNotFoundError,
    ModelyardError,
    NotFoundError,
    PermissionDeniedError,
    RegistryNotFoundError,
    SizeMismatchError,
    UnauthenticatedError,
    UnavailableError,
    VersionNotFoundError,
)
from modelyard.schemas import AliasChangeOut, AliasOut, CollectionOut, EventOut, RegistryOut, VersionOut

__all__ = [
    "AliasChangeOut",
    "AliasNotFoundError",
    "AliasOut",
    "AlreadyExistsError",
    "BlobUnknownError",
    "Client",
    "CollectionNotFoundError",
    "CollectionOut",
    "ConflictError",
    "DestinationNotEmptyError",
    "DigestMismatchError",
    "EventOut",
    "InsufficientStorageError",
    "InvalidArgumentError",
    "InvalidNameError",
    "InvalidPathError",
    "MissingBlobsError",
    "ModelNotFoundError",
    "ModelyardError",
    "NotFoundError",
    "Pager",
    "PermissionDeniedError",
    "RegistryNotFoundError",
    "RegistryOut",
    "SizeMismatchError",
    "UnauthenticatedError",
    "UnavailableError",
    "VersionNotFoundError",
    "VersionOut",
    "__version__",
]
