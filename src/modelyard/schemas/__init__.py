"""Pydantic wire models of ``/api/v1``, shared by the server (``api/``) and the SDK (``client/``).

Inputs forbid unknown fields (a typo is a 400, not a silently ignored option). Outputs are
what the server sends; the SDK returns them as typed objects. Imports only pydantic and the
pure domain: the input rules (see ``_base``) and the name limits of ``domain.names``, which the
input models state in the OpenAPI document (``_stated``: documented here, enforced by the domain,
so the rule and its error live in one place).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from modelyard.domain import names as n
from modelyard.domain.identity import MAX_TOKEN_LIFETIME_DAYS

from ._base import Int64 as Int64  # route parameters: a signed 64-bit integer, or 400
from ._base import _In, _Out

T = TypeVar("T")


def _stated(pattern: str | None = None, max_length: int | None = None, **extra: Any) -> dict[str, Any]:
    """JSON Schema keywords for the document only; the domain validates (and names the field in its error)."""
    rule: dict[str, Any] = dict(extra)
    if pattern is not None:
        rule["pattern"] = pattern
    if max_length is not None:
        rule["maxLength"] = max_length
    return rule


_REGISTRY_NAME = _stated(n.REGISTRY_NAME_PATTERN, n.MAX_REGISTRY_NAME)
_COLLECTION_NAME = _stated(n.COLLECTION_NAME_PATTERN, n.MAX_COLLECTION_NAME)
_DESCRIPTION = _stated(max_length=n.MAX_DESCRIPTION)
_ARTIFACT_TYPE = _stated(n.ARTIFACT_TYPE_PATTERN, n.MAX_ARTIFACT_TYPE)
_TAGS = _stated(
    maxProperties=n.MAX_TAGS,
    propertyNames={"pattern": n.TAG_KEY_PATTERN, "maxLength": n.MAX_TAG_KEY},
    additionalProperties={"type": "string", "maxLength": n.MAX_TAG_VALUE},
)
_ALIASES = _stated(items={"type": "string", "pattern": n.ALIAS_NAME_PATTERN, "maxLength": n.MAX_ALIAS_NAME})


# -- registries ---------------------------------------------------------------------------------


class RegistryCreate(_In):
    name: str = Field(json_schema_extra=_REGISTRY_NAME)
    description: str = Field("", json_schema_extra=_DESCRIPTION)
    artifact_types: list[str] = Field(default_factory=lambda: ["model"])
    visibility: Literal["organization", "restricted"] = "organization"


class RegistryUpdate(_In):
    description: str | None = Field(None, json_schema_extra=_DESCRIPTION)
    artifact_types: list[str] | None = None
    visibility: Literal["organization", "restricted"] | None = None


class RegistryOut(_Out):
    name: str
    description: str
    artifact_types: list[str]
    visibility: str
    created_at: datetime
    updated_at: datetime


class RegistryList(_Out):
    items: list[RegistryOut]


# -- collections ---------------------------------------------------------------------------------


class CollectionCreate(_In):
    name: str = Field(json_schema_extra=_COLLECTION_NAME)
    artifact_type: str | None = Field(None, json_schema_extra=_ARTIFACT_TYPE)
    description: str = Field("", json_schema_extra=_DESCRIPTION)
    tags: dict[str, str] = Field(default_factory=dict, json_schema_extra=_TAGS)


class CollectionUpdate(_In):
    description: str | None = Field(None, json_schema_extra=_DESCRIPTION)
    name: str | None = Field(None, description="Rename the collection.", json_schema_extra=_COLLECTION_NAME)


class CollectionOut(_Out):
    registry: str
    name: str
    path: str
    artifact_type: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
    created_by: str = ""


class TagValue(_In):
    value: str = Field(json_schema_extra=_stated(max_length=n.MAX_TAG_VALUE))


# -- versions -----------------------------------------------------------------------------------


class FileSpec(_In):
    path: str = Field(json_schema_extra=_stated(max_length=n.MAX_FILE_PATH))
    digest: str
    size: int = Field(ge=0)


class FileOut(_Out):
    path: str
    digest: str
    size: int


class RunRefModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = ""
    url: str = ""


class VersionCreate(_In):
    files: list[FileSpec] = Field(json_schema_extra=_stated(maxItems=n.MAX_FILES_PER_VERSION))
    description: str = Field("", json_schema_extra=_DESCRIPTION)
    tags: dict[str, str] = Field(default_factory=dict, json_schema_extra=_TAGS)
    run: RunRefModel = Field(default_factory=RunRefModel)
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    framework: str = ""
    flavor: str = ""
    signature: dict[str, Any] | None = None
    source: str = ""
    aliases: list[str] = Field(default_factory=list, json_schema_extra=_ALIASES)
    artifact_type: str | None = Field(None, json_schema_extra=_ARTIFACT_TYPE)
    create_collection: bool = True


class VersionUpdate(_In):
    description: str | None = Field(None, json_schema_extra=_DESCRIPTION)


class StageSet(_In):
    stage: str
    archive_existing_versions: bool = False


class VersionOut(_Out):
    registry: str
    collection: str
    number: int
    path: str
    artifact_type: str
    digest: str
    size: int
    file_count: int
    files: list[FileOut] | None = None
    description: str
    tags: dict[str, str]
    run: RunRefModel
    params: dict[str, Any]
    metrics: dict[str, float]
    datasets: list[dict[str, Any]]
    framework: str
    flavor: str
    signature: dict[str, Any] | None
    source: str
    aliases: list[str]
    stage: str
    created_at: datetime
    updated_at: datetime
    created_by: str


# -- aliases --------------------------------------------------------------------------------------


class AliasSet(_In):
    version: int = Field(ge=1)


class AliasOut(_Out):
    alias: str
    version: int


class AliasList(_Out):
    items: list[AliasOut]


class AliasChangeOut(_Out):
    alias: str
    version: int | None
    previous_version: int | None
    actor: str
    at: datetime
    event_id: int


class AliasHistory(_Out):
    items: list[AliasChangeOut]


# -- uploads --------------------------------------------------------------------------------------


class MissingRequest(_In):
    digests: list[str]


class MissingResponse(_Out):
    missing: list[str]


class UploadCreate(_In):
    digest: str
    size: int = Field(ge=0)


class UploadOut(_Out):
    id: str
    digest: str
    size: int
    offset: int
    expires_at: datetime
    registry: str = ""
    created_at: datetime | None = None


class UploadList(_Out):
    items: list[UploadOut]


class BlobOut(_Out):
    digest: str
    size: int


# -- events ----------------------------------------------------------------------------------------


class EventOut(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    registry: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str = ""
    client_address: str = ""
    token_name: str = ""


# -- pages and errors -------------------------------------------------------------------------------


class Page(_Out, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


class ErrorBody(_Out):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Health(_Out):
    status: str
    version: str
    database: str


# -- governance -------------------------------------------------------------------------------------


class PrincipalCreate(_In):
    name: str
    kind: Literal["user", "service_account"] = "user"
    display_name: str = ""
    email: str = ""
    org_admin: bool = False


class PrincipalUpdate(_In):
    org_admin: bool | None = None
    disabled: bool | None = None


class PrincipalOut(_Out):
    name: str
    kind: str
    display_name: str
    email: str
    org_admin: bool
    disabled: bool
    teams: list[str]
    created_at: datetime


class PrincipalList(_Out):
    items: list[PrincipalOut]


class TeamCreate(_In):
    name: str
    description: str = ""


class TeamMember(_In):
    principal: str


class TeamOut(_Out):
    name: str
    description: str
    members: list[str]
    created_at: datetime


class TeamList(_Out):
    items: list[TeamOut]


class TokenCreate(_In):
    name: str
    principal: str | None = Field(None, description="Whose token (org admins only); default yourself.")
    expires_in_days: float | None = Field(
        None,
        gt=0,
        le=MAX_TOKEN_LIFETIME_DAYS,
        description="Lifetime in days (at most 10 years); default never expires.",
    )


class TokenOut(_Out):
    id: int
    name: str
    principal: str
    prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


class TokenList(_Out):
    items: list[TokenOut]


class GrantSet(_In):
    subject_kind: Literal["user", "service_account", "team"]
    subject: str
    role: str


class GrantOut(_Out):
    registry: str
    subject_kind: str
    subject: str
    role: str


class GrantList(_Out):
    items: list[GrantOut]


class AliasPolicySet(_In):
    collection: str | None = Field(None, description="Override for one collection; default the whole registry.")
    protected: bool = True


class AliasPolicyOut(_Out):
    registry: str
    alias: str
    collection: str | None
    protected: bool
    requirements: dict[str, Any]


class AliasPolicyList(_Out):
    items: list[AliasPolicyOut]


class ChainReportOut(_Out):
    ok: bool
    checked: int
    head_id: int
    head_hash: str
    first_broken_id: int | None
    reason: str


class WhoAmI(_Out):
    name: str
    kind: str
    org_admin: bool
    token_name: str
    auth_enabled: bool


# -- lifecycle: promotion, checks, rollback -------------------------------------------------------


class PromotionPolicySet(_In):
    target_kind: Literal["alias", "stage"] = "alias"
    target: str
    collection: str | None = Field(None, description="Override for one collection; default the whole registry.")
    requirements: dict[str, Any] = Field(
        default_factory=dict,
        description="approvals, approver_role, checks, rules, auto_promote (see docs/promotion.md).",
    )


class CheckReport(_In):
    name: str
    status: Literal["pending", "success", "failure", "error"]
    summary: str = ""
    details_url: str = ""


class CheckOut(_Out):
    name: str
    status: str
    summary: str
    details_url: str
    reported_by: str
    updated_at: datetime


class CheckList(_Out):
    items: list[CheckOut]


class PromotionCreate(_In):
    version: int = Field(ge=1)
    target_kind: Literal["alias", "stage"] = "alias"
    target: str
    comment: str = ""
    archive_existing_versions: bool = False


class ReviewIn(_In):
    comment: str = ""


class RequirementOut(_Out):
    kind: str
    name: str
    met: bool
    detail: str


class ReviewOut(_Out):
    reviewer: str
    decision: str
    comment: str
    at: datetime


class PromotionOut(_Out):
    id: int
    registry: str
    collection: str
    version: int
    target_kind: str
    target: str
    status: str
    requested_by: str
    comment: str
    archive_existing_versions: bool
    requirements_met: bool
    requirements: list[RequirementOut]
    reviews: list[ReviewOut]
    auto_promote: bool
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None


class PromotionList(_Out):
    items: list[PromotionOut]


class RollbackIn(_In):
    to: int | None = Field(None, ge=1, description="Version to roll back to; default the previous one.")
