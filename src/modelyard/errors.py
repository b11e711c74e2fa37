"""The one error hierarchy of modelyard, shared by the server and the SDK.

Pure Python: imports nothing from the web, SQL or HTTP layers.

Every error has a stable ``code`` (the coarse class, mapped to an HTTP status in
``api/errors.py``) and a stable ``reason`` (the precise kind, used by the SDK to
re-create the same class on the client side). Structured fields travel in ``details``.

Tree::

    ModelyardError
    ├── NotFoundError                      NOT_FOUND          404
    │   ├── RegistryNotFoundError
    │   ├── CollectionNotFoundError (alias: ModelNotFoundError)
    │   ├── VersionNotFoundError
    │   ├── AliasNotFoundError
    │   ├── FileNotFoundInVersionError
    │   ├── BlobUnknownError
    │   ├── UploadUnknownError
    │   ├── PrincipalNotFoundError
    │   ├── EventNotFoundError
    │   ├── DatabaseNotFoundError          (operator commands: no database where they looked)
    │   ├── WebhookNotFoundError
    │   ├── ExperimentNotFoundError        (MLflow tracking; also an experiment the caller may not read)
    │   ├── RunNotFoundError
    │   ├── LoggedModelNotFoundError
    │   └── ArtifactNotFoundError          (MLflow artifact proxy)
    ├── AlreadyExistsError                 ALREADY_EXISTS     409
    ├── InvalidArgumentError               INVALID_ARGUMENT   400
    │   ├── InvalidNameError
    │   ├── InvalidPathError
    │   ├── UnsafeTargetError              (a webhook URL the server must not call: SSRF guard)
    │   ├── DestinationNotEmptyError       (pull into a folder holding other files)
    │   ├── InvalidPageTokenError
    │   ├── DigestMismatchError
    │   ├── SizeMismatchError
    │   ├── MissingBlobsError
    │   ├── InvalidTextError               (NUL or a lone surrogate in text)
    │   ├── OutOfRangeError                (an integer outside signed 64 bits)
    │   ├── NonFiniteNumberError           (NaN or Infinity where JSON needs a number)
    │   └── LimitExceededError
    │       └── JsonTooDeepError
    ├── ConflictError                      CONFLICT           409
    │   ├── PreconditionFailedError        CONFLICT           412
    │   ├── PromotionRequiredError
    │   ├── LastOrgAdminError              (the change would leave no org admin with a valid token)
    │   ├── OrgAdminTokenRequiredError     (the first token must be an org admin's)
    │   └── OrgAdminExistsError            (bootstrap refused: an org admin holds a valid token)
    ├── UnauthenticatedError               UNAUTHENTICATED    401
    ├── PermissionDeniedError              PERMISSION_DENIED  403
    │   └── CsrfError                      (a UI form post without this session's CSRF value)
    ├── RangeNotSatisfiableError           RANGE_NOT_SATISFIABLE 416
    ├── InsufficientStorageError           INSUFFICIENT_STORAGE 507
    ├── RequestTimeoutError                REQUEST_TIMEOUT    408
    ├── PayloadTooLargeError               PAYLOAD_TOO_LARGE  413
    ├── TooManyRequestsError               TOO_MANY_REQUESTS  429
    └── UnavailableError                   UNAVAILABLE        503
        └── SchemaOutdatedError
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AliasNotFoundError",
    "AlreadyExistsError",
    "ArtifactNotFoundError",
    "BlobUnknownError",
    "CollectionNotFoundError",
    "ConflictError",
    "CsrfError",
    "DatabaseNotFoundError",
    "DestinationNotEmptyError",
    "DigestMismatchError",
    "EventNotFoundError",
    "ExperimentNotFoundError",
    "FileNotFoundInVersionError",
    "InsufficientStorageError",
    "InvalidArgumentError",
    "InvalidNameError",
    "InvalidPageTokenError",
    "InvalidPathError",
    "InvalidTextError",
    "JsonTooDeepError",
    "LastOrgAdminError",
    "LimitExceededError",
    "LoggedModelNotFoundError",
    "MissingBlobsError",
    "ModelNotFoundError",
    "ModelyardError",
    "NonFiniteNumberError",
    "NotFoundError",
    "OrgAdminExistsError",
    "OrgAdminTokenRequiredError",
    "OutOfRangeError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "PrincipalNotFoundError",
    "PromotionRequiredError",
    "RangeNotSatisfiableError",
    "RegistryNotFoundError",
    "RequestTimeoutError",
    "RunNotFoundError",
    "SchemaOutdatedError",
    "SizeMismatchError",
    "TooManyRequestsError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnsafeTargetError",
    "UploadUnknownError",
    "VersionNotFoundError",
    "WebhookNotFoundError",
    "error_class_for",
]


class ModelyardError(Exception):
    """Base class of every error modelyard raises on purpose."""

    code: ClassVar[str] = "INTERNAL"
    reason: ClassVar[str] = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body of ``/api/v1``: code, message and details."""
        return {
            "code": self.code,
            "message": self.message,
            "details": {"reason": self.reason, **self.details},
        }


# --- not found -------------------------------------------------------------------------


class NotFoundError(ModelyardError):
    code = "NOT_FOUND"
    reason = "not_found"


class RegistryNotFoundError(NotFoundError):
    reason = "registry_not_found"

    def __init__(self, message: str | None = None, *, registry: str = "", **kw: Any) -> None:
        super().__init__(message or f"registry '{registry}' does not exist", registry=registry, **kw)


class CollectionNotFoundError(NotFoundError):
    reason = "collection_not_found"

    def __init__(self, message: str | None = None, *, registry: str = "", collection: str = "", **kw: Any) -> None:
        super().__init__(
            message or f"collection '{registry}/{collection}' does not exist",
            registry=registry,
            collection=collection,
            **kw,
        )


ModelNotFoundError = CollectionNotFoundError


class VersionNotFoundError(NotFoundError):
    reason = "version_not_found"

    def __init__(self, message: str | None = None, *, path: str = "", **kw: Any) -> None:
        super().__init__(message or f"version '{path}' does not exist", path=path, **kw)


class AliasNotFoundError(NotFoundError):
    reason = "alias_not_found"

    def __init__(self, message: str | None = None, *, path: str = "", alias: str = "", **kw: Any) -> None:
        super().__init__(message or f"alias '{alias}' is not set on '{path}'", path=path, alias=alias, **kw)


class FileNotFoundInVersionError(NotFoundError):
    reason = "file_not_found"

    def __init__(self, message: str | None = None, *, path: str = "", file: str = "", **kw: Any) -> None:
        super().__init__(message or f"version '{path}' has no file '{file}'", path=path, file=file, **kw)


class BlobUnknownError(NotFoundError):
    reason = "blob_unknown"

    def __init__(self, message: str | None = None, *, digest: str = "", **kw: Any) -> None:
        super().__init__(message or f"blob {digest} is not stored", digest=digest, **kw)


class UploadUnknownError(NotFoundError):
    reason = "upload_unknown"

    def __init__(self, message: str | None = None, *, upload_id: str = "", **kw: Any) -> None:
        super().__init__(message or f"upload session '{upload_id}' does not exist", upload_id=upload_id, **kw)


class PrincipalNotFoundError(NotFoundError):
    reason = "principal_not_found"


class EventNotFoundError(NotFoundError):
    reason = "event_not_found"


class DatabaseNotFoundError(NotFoundError):
    """An operator command found no modelyard database where it looked (it creates none)."""

    reason = "database_not_found"


class WebhookNotFoundError(NotFoundError):
    reason = "webhook_not_found"


class ExperimentNotFoundError(NotFoundError):
    reason = "experiment_not_found"


class RunNotFoundError(NotFoundError):
    reason = "run_not_found"


class LoggedModelNotFoundError(NotFoundError):
    reason = "logged_model_not_found"


class ArtifactNotFoundError(NotFoundError):
    reason = "artifact_not_found"


# --- already exists / invalid -----------------------------------------------------------


class AlreadyExistsError(ModelyardError):
    code = "ALREADY_EXISTS"
    reason = "already_exists"


class InvalidArgumentError(ModelyardError):
    code = "INVALID_ARGUMENT"
    reason = "invalid_argument"


class InvalidNameError(InvalidArgumentError):
    reason = "invalid_name"


class InvalidPathError(InvalidArgumentError):
    reason = "invalid_path"


class UnsafeTargetError(InvalidArgumentError):
    """The webhook URL points somewhere the server must not send requests."""

    reason = "unsafe_webhook_target"


class DestinationNotEmptyError(InvalidArgumentError):
    """``pull`` into a folder holding files that are not the version's (refused unless told how to treat them)."""

    reason = "destination_not_empty"


class InvalidPageTokenError(InvalidArgumentError):
    reason = "invalid_page_token"


class DigestMismatchError(InvalidArgumentError):
    reason = "digest_mismatch"


class SizeMismatchError(InvalidArgumentError):
    reason = "size_mismatch"


class MissingBlobsError(InvalidArgumentError):
    reason = "missing_blobs"


class LimitExceededError(InvalidArgumentError):
    reason = "limit_exceeded"


class InvalidTextError(InvalidArgumentError):
    """Free text holding NUL or a lone surrogate: no backend can store it the same way."""

    reason = "invalid_text"


class OutOfRangeError(InvalidArgumentError):
    """An integer outside the signed 64-bit range every backend stores."""

    reason = "out_of_range"


class NonFiniteNumberError(InvalidArgumentError):
    """NaN or Infinity where a JSON number is needed."""

    reason = "non_finite_number"


class JsonTooDeepError(LimitExceededError):
    """A JSON document nested deeper than the documented limit."""

    reason = "json_too_deep"


# --- conflicts, auth, availability ---------------------------------------------------------


class ConflictError(ModelyardError):
    code = "CONFLICT"
    reason = "conflict"


class PreconditionFailedError(ConflictError):
    reason = "precondition_failed"


class PromotionRequiredError(ConflictError):
    """The alias or stage is guarded by requirements: move it through a promotion request."""

    reason = "promotion_required"


class LastOrgAdminError(ConflictError):
    """The change would leave no active org admin holding a valid API token (a lockout)."""

    reason = "last_org_admin"


class OrgAdminTokenRequiredError(ConflictError):
    """No active org admin holds a token yet, so the first token must be an org admin's."""

    reason = "org_admin_token_required"


class OrgAdminExistsError(ConflictError):
    """``admin bootstrap`` is refused: an active org admin already holds a valid API token."""

    reason = "org_admin_exists"


class UnauthenticatedError(ModelyardError):
    code = "UNAUTHENTICATED"
    reason = "unauthenticated"


class PermissionDeniedError(ModelyardError):
    code = "PERMISSION_DENIED"
    reason = "permission_denied"


class CsrfError(PermissionDeniedError):
    """A web UI form was posted without the CSRF value of the session it came from."""

    reason = "csrf_failed"


class RangeNotSatisfiableError(ModelyardError):
    code = "RANGE_NOT_SATISFIABLE"
    reason = "range_not_satisfiable"


class InsufficientStorageError(ModelyardError):
    """The blob store's volume or the metadata database's disk is full (or over quota).

    Not an ``UnavailableError``: retrying cannot help until an operator frees space. The write
    that hit it left nothing behind (its partial upload data is deleted), so the same push
    succeeds once space is free.
    """

    code = "INSUFFICIENT_STORAGE"
    reason = "insufficient_storage"


class RequestTimeoutError(ModelyardError):
    """A request body stalled: no bytes for the idle timeout, or fewer than the minimum rate."""

    code = "REQUEST_TIMEOUT"
    reason = "request_timeout"


class PayloadTooLargeError(ModelyardError):
    """A request body over the configured limit (``details.limit_bytes``); nothing was stored."""

    code = "PAYLOAD_TOO_LARGE"
    reason = "payload_too_large"


class TooManyRequestsError(ModelyardError):
    """Too many concurrent uploads; retry after ``details.retry_after_seconds``."""

    code = "TOO_MANY_REQUESTS"
    reason = "too_many_requests"


class UnavailableError(ModelyardError):
    code = "UNAVAILABLE"
    reason = "unavailable"


class SchemaOutdatedError(UnavailableError):
    reason = "schema_outdated"


def _all_subclasses(cls: type[ModelyardError]) -> list[type[ModelyardError]]:
    out: list[type[ModelyardError]] = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


def error_class_for(code: str, reason: str | None) -> type[ModelyardError]:
    """The error class for a wire ``(code, reason)`` pair; falls back to the code's base."""
    by_reason = {c.reason: c for c in _all_subclasses(ModelyardError)}
    if reason and reason in by_reason and by_reason[reason].code == code:
        return by_reason[reason]
    by_code = {c.code: c for c in reversed(_all_subclasses(ModelyardError))}
    return by_code.get(code, ModelyardError)
