"""``Client``: the typed Python SDK over ``/api/v1``.

Constructors do no I/O. Errors are the classes of ``modelyard.errors``. Push and pull
stream files in bounded chunks, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from modelyard import schemas as s
from modelyard.errors import (
    ConflictError,
    DestinationNotEmptyError,
    DigestMismatchError,
    InvalidArgumentError,
    InvalidPathError,
    TooManyRequestsError,
    UnavailableError,
    UploadUnknownError,
)
from modelyard.schemas import automations as sa

from ._transport import (
    URL_ENV,
    BorrowedTransport,
    error_from_body,
    make_http_client,
    raise_for_error,
    resolve_token,
    translate_transport_errors,
)
from .pager import Pager

M = TypeVar("M", bound=BaseModel)
Progress = Callable[[int], None]
PushPlan = Callable[[int, int, int], None]  # (files, files already stored, bytes to send)
PART_SUFFIX = ".modelyard-part"

DEFAULT_URL = "http://127.0.0.1:8080"
READ_CHUNK = 1024 * 1024
UPLOAD_REQUEST_BYTES = 256 * 1024 * 1024  # one PATCH carries at most this much; resumable between them
BUSY_WAIT_SECONDS = 300.0  # how long a push waits out "too many uploads in progress" (429) before giving up
METADATA_KEYS = (
    "description",
    "tags",
    "run",
    "params",
    "metrics",
    "datasets",
    "framework",
    "flavor",
    "signature",
    "source",
)


def _q(part: str) -> str:
    return quote(part, safe="")


def _decode_name(text: str) -> str:
    """A collection name as written in a path: ``%25`` is ``%`` and ``%40`` is ``@`` (the SDK's copy
    of ``modelyard.domain.names.decode_collection_name``; a unit test keeps the two equal)."""
    return re.sub(r"%(25|40)", lambda m: "%" if m.group(1) == "25" else "@", text)


def _split(path: str) -> tuple[str, str, str | None]:
    """``registry/collection[:ref|@alias]`` -> parts (validated by the server)."""
    expected = f"invalid path '{path}': expected 'registry/collection[:version|:alias]'"
    if "/" not in path:
        raise InvalidPathError(expected, path=path)
    registry, _, rest = path.partition("/")
    ref = None
    for sep in (":", "@"):
        if sep in rest:
            rest, _, ref = rest.partition(sep)
            break
    if "/" in rest:  # 'models/fraud-detector/1': a URL habit; the version follows a ':'
        head, _, tail = rest.rpartition("/")
        hint = f"{registry}/{head}:{tail}" if ref is None and "/" not in head and tail else None
        raise InvalidPathError(expected + (f"; did you mean '{hint}'?" if hint else ""), path=path)
    return registry, _decode_name(rest), ref


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    return f"sha256:{h.hexdigest()}", size


def collect_files(local: Path) -> list[tuple[str, Path]]:
    """(path inside the version, local file) for a file or every file under a directory."""
    if local.is_file():
        return [(local.name, local)]
    if not local.is_dir():
        raise InvalidArgumentError(f"'{local}' is neither a file nor a directory")
    out = []
    for root, dirs, names in os.walk(local):
        dirs.sort()
        for name in sorted(names):
            full = Path(root) / name
            if full.is_file():
                out.append((full.relative_to(local).as_posix(), full))
    return out


def metadata_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """A metadata file holds version fields (metrics, params, ...) or, as a shorthand, only metrics."""
    if not isinstance(data, dict):
        raise InvalidArgumentError("the metadata file must hold a JSON object")
    if data and not any(k in METADATA_KEYS for k in data):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data.values()):
            return {"metrics": data}
        raise InvalidArgumentError(f"the metadata file may only hold the keys {', '.join(METADATA_KEYS)}")
    unknown = [k for k in data if k not in METADATA_KEYS]
    if unknown:
        raise InvalidArgumentError(f"unknown metadata keys {unknown}; allowed: {', '.join(METADATA_KEYS)}")
    return dict(data)


def safe_destination(dest: Path, rel: str) -> Path:
    """Join a version's file path under ``dest``, refusing anything that would escape it."""
    base = dest.resolve()
    target = (base / rel).resolve()
    if rel.startswith("/") or ".." in rel.split("/") or not str(target).startswith(str(base) + os.sep):
        raise InvalidPathError(f"refusing to write '{rel}' outside '{dest}'", file=rel)
    return target


class Client:
    """A modelyard server. ``Client("http://127.0.0.1:8080", token=...)``.

    ``token=None`` (the default) reads ``MODELYARD_TOKEN``, the same lookup the CLI makes;
    pass ``token=""`` to send none. See docs/decisions/0016-sdk-token-lookup.md.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._transport = transport
        self._http = make_http_client(self.base_url, token=resolve_token(token), timeout=timeout, transport=transport)

    def _clone(self) -> Client:
        """A second client to the same server with the same credentials and the same transport (the
        caller's TLS, proxy or test transport is kept). Closing it never closes the caller's transport."""
        inner = self._transport.inner if isinstance(self._transport, BorrowedTransport) else self._transport
        borrowed = BorrowedTransport(inner) if inner is not None else None
        other = Client(self.base_url, token="", timeout=self._timeout, transport=borrowed)
        if "Authorization" in self._http.headers:
            other._http.headers["Authorization"] = self._http.headers["Authorization"]
        return other

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        """Build from ``MODELYARD_URL`` and ``MODELYARD_TOKEN``."""
        return cls(os.environ.get(URL_ENV, DEFAULT_URL), token=resolve_token(kwargs.pop("token", None)), **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise translate_transport_errors(exc, self.base_url) from exc
        raise_for_error(response)
        return response

    def _get(self, model: type[M], url: str, **kwargs: Any) -> M:
        return model.model_validate(self._request("GET", url, **kwargs).json())

    @staticmethod
    def _coll(registry: str, collection: str) -> str:
        return f"/api/v1/registries/{_q(registry)}/collections/{_q(collection)}"

    # -- registries -------------------------------------------------------------------------------

    def health(self) -> s.Health:
        return self._get(s.Health, "/api/v1/health")

    def list_registries(self) -> list[s.RegistryOut]:
        return self._get(s.RegistryList, "/api/v1/registries").items

    def get_registry(self, name: str) -> s.RegistryOut:
        return self._get(s.RegistryOut, f"/api/v1/registries/{_q(name)}")

    def create_registry(
        self,
        name: str,
        *,
        description: str = "",
        artifact_types: list[str] | None = None,
        visibility: str = "organization",
    ) -> s.RegistryOut:
        body = {
            "name": name,
            "description": description,
            "artifact_types": artifact_types or ["model"],
            "visibility": visibility,
        }
        return s.RegistryOut.model_validate(self._request("POST", "/api/v1/registries", json=body).json())

    def update_registry(
        self,
        name: str,
        *,
        description: str | None = None,
        artifact_types: list[str] | None = None,
        visibility: str | None = None,
    ) -> s.RegistryOut:
        body = {
            k: v
            for k, v in {"description": description, "artifact_types": artifact_types, "visibility": visibility}.items()
            if v is not None
        }
        return s.RegistryOut.model_validate(self._request("PATCH", f"/api/v1/registries/{_q(name)}", json=body).json())

    def delete_registry(self, name: str) -> None:
        self._request("DELETE", f"/api/v1/registries/{_q(name)}")

    # -- collections ------------------------------------------------------------------------------

    def create_collection(
        self, path: str, *, artifact_type: str | None = None, description: str = "", tags: dict[str, str] | None = None
    ) -> s.CollectionOut:
        registry, name, _ = _split(path)
        body = {"name": name, "artifact_type": artifact_type, "description": description, "tags": tags or {}}
        r = self._request("POST", f"/api/v1/registries/{_q(registry)}/collections", json=body)
        return s.CollectionOut.model_validate(r.json())

    def get_collection(self, path: str) -> s.CollectionOut:
        registry, name, _ = _split(path)
        return self._get(s.CollectionOut, self._coll(registry, name))

    def update_collection(
        self, path: str, *, description: str | None = None, name: str | None = None
    ) -> s.CollectionOut:
        registry, coll, _ = _split(path)
        body = {k: v for k, v in {"description": description, "name": name}.items() if v is not None}
        return s.CollectionOut.model_validate(self._request("PATCH", self._coll(registry, coll), json=body).json())

    def delete_collection(self, path: str) -> None:
        registry, name, _ = _split(path)
        self._request("DELETE", self._coll(registry, name))

    def set_collection_tag(self, path: str, key: str, value: str) -> None:
        registry, name, _ = _split(path)
        self._request("PUT", f"{self._coll(registry, name)}/tags/{_q(key)}", json={"value": value})

    def unset_collection_tag(self, path: str, key: str) -> None:
        registry, name, _ = _split(path)
        self._request("DELETE", f"{self._coll(registry, name)}/tags/{_q(key)}")

    def search(
        self,
        query: str | None = None,
        *,
        match: str = "substring",
        tags: list[str] | None = None,
        artifact_type: str | None = None,
        registries: list[str] | None = None,
        alias: str | None = None,
        order_by: str = "name",
        page_size: int = 100,
    ) -> Pager[s.CollectionOut]:
        """Collections across registries, lazily paged. ``tags``: ``["team", "stage=prod"]``."""
        params: dict[str, Any] = {"match": match, "order_by": order_by, "page_size": page_size}
        if query:
            params["q"] = query
        if tags:
            params["tag"] = tags
        if artifact_type:
            params["type"] = artifact_type
        if registries:
            params["registry"] = registries
        if alias:
            params["alias"] = alias
        return Pager(lambda token: self._page(s.CollectionOut, "/api/v1/search", params, token))

    def _page(self, model: type[M], url: str, params: dict[str, Any], token: str | None) -> s.Page[M]:
        p = dict(params)
        if token:
            p["page_token"] = token
        return s.Page[model].model_validate(self._request("GET", url, params=p).json())  # type: ignore[valid-type]

    # -- versions ---------------------------------------------------------------------------------

    def list_versions(self, path: str, *, page_size: int = 100) -> Pager[s.VersionOut]:
        registry, name, _ = _split(path)
        url = f"{self._coll(registry, name)}/versions"
        return Pager(lambda token: self._page(s.VersionOut, url, {"page_size": page_size}, token))

    def get_version(self, path: str) -> s.VersionOut:
        """``registry/collection:3``, ``:alias`` or ``:latest`` (the default)."""
        registry, name, ref = _split(path)
        return self._get(s.VersionOut, f"{self._coll(registry, name)}/versions/{_q(ref or 'latest')}")

    def update_version(self, path: str, *, description: str | None = None) -> s.VersionOut:
        registry, name, ref = _split(path)
        r = self._request(
            "PATCH", f"{self._coll(registry, name)}/versions/{_q(ref or '')}", json={"description": description}
        )
        return s.VersionOut.model_validate(r.json())

    def delete_version(self, path: str) -> None:
        registry, name, ref = _split(path)
        self._request("DELETE", f"{self._coll(registry, name)}/versions/{_q(ref or '')}")

    def set_version_tag(self, path: str, key: str, value: str) -> None:
        registry, name, ref = _split(path)
        self._request(
            "PUT", f"{self._coll(registry, name)}/versions/{_q(ref or '')}/tags/{_q(key)}", json={"value": value}
        )

    def unset_version_tag(self, path: str, key: str) -> None:
        registry, name, ref = _split(path)
        self._request("DELETE", f"{self._coll(registry, name)}/versions/{_q(ref or '')}/tags/{_q(key)}")

    def set_stage(self, path: str, stage: str, *, archive_existing_versions: bool = False) -> s.VersionOut:
        registry, name, ref = _split(path)
        r = self._request(
            "PUT",
            f"{self._coll(registry, name)}/versions/{_q(ref or '')}/stage",
            json={"stage": stage, "archive_existing_versions": archive_existing_versions},
        )
        return s.VersionOut.model_validate(r.json())

    # -- aliases ----------------------------------------------------------------------------------

    def set_alias(self, path: str, alias: str, version: int) -> s.AliasOut:
        registry, name, _ = _split(path)
        r = self._request("PUT", f"{self._coll(registry, name)}/aliases/{_q(alias)}", json={"version": version})
        return s.AliasOut.model_validate(r.json())

    def unset_alias(self, path: str, alias: str) -> None:
        registry, name, _ = _split(path)
        self._request("DELETE", f"{self._coll(registry, name)}/aliases/{_q(alias)}")

    def list_aliases(self, path: str) -> list[s.AliasOut]:
        registry, name, _ = _split(path)
        return self._get(s.AliasList, f"{self._coll(registry, name)}/aliases").items

    def alias_history(self, path: str, alias: str, *, limit: int = 100) -> list[s.AliasChangeOut]:
        registry, name, _ = _split(path)
        url = f"{self._coll(registry, name)}/aliases/{_q(alias)}/history"
        return self._get(s.AliasHistory, url, params={"limit": limit}).items

    # -- events -------------------------------------------------------------------------------------

    def list_events(self, *, page_size: int = 100, **filters: Any) -> Pager[s.EventOut]:
        params = {k: v for k, v in filters.items() if v is not None}
        params["page_size"] = page_size
        return Pager(lambda token: self._page(s.EventOut, "/api/v1/events", params, token))

    # -- governance -----------------------------------------------------------------------------------

    def whoami(self) -> s.WhoAmI:
        return self._get(s.WhoAmI, "/api/v1/whoami")

    def list_principals(self, *, kind: str | None = None) -> list[s.PrincipalOut]:
        params = {"kind": kind} if kind else {}
        return self._get(s.PrincipalList, "/api/v1/principals", params=params).items

    def create_principal(
        self, name: str, *, kind: str = "user", display_name: str = "", email: str = "", org_admin: bool = False
    ) -> s.PrincipalOut:
        body = {"name": name, "kind": kind, "display_name": display_name, "email": email, "org_admin": org_admin}
        return s.PrincipalOut.model_validate(self._request("POST", "/api/v1/principals", json=body).json())

    def update_principal(
        self, name: str, *, org_admin: bool | None = None, disabled: bool | None = None
    ) -> s.PrincipalOut:
        body = {k: v for k, v in {"org_admin": org_admin, "disabled": disabled}.items() if v is not None}
        r = self._request("PATCH", f"/api/v1/principals/{_q(name)}", json=body)
        return s.PrincipalOut.model_validate(r.json())

    def list_teams(self) -> list[s.TeamOut]:
        return self._get(s.TeamList, "/api/v1/teams").items

    def create_team(self, name: str, *, description: str = "") -> s.TeamOut:
        r = self._request("POST", "/api/v1/teams", json={"name": name, "description": description})
        return s.TeamOut.model_validate(r.json())

    def add_team_member(self, team: str, principal: str) -> s.TeamOut:
        r = self._request("POST", f"/api/v1/teams/{_q(team)}/members", json={"principal": principal})
        return s.TeamOut.model_validate(r.json())

    def remove_team_member(self, team: str, principal: str) -> s.TeamOut:
        r = self._request("DELETE", f"/api/v1/teams/{_q(team)}/members/{_q(principal)}")
        return s.TeamOut.model_validate(r.json())

    def create_token(
        self, name: str, *, principal: str | None = None, expires_in_days: float | None = None
    ) -> s.NewTokenOut:
        """Create an API token; ``.token`` holds the secret, shown this once."""
        body: dict[str, Any] = {"name": name}
        if principal:
            body["principal"] = principal
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        return s.NewTokenOut.model_validate(self._request("POST", "/api/v1/tokens", json=body).json())

    def list_tokens(self, *, principal: str | None = None) -> list[s.TokenOut]:
        params = {"principal": principal} if principal else {}
        return self._get(s.TokenList, "/api/v1/tokens", params=params).items

    def revoke_token(self, token_id: int) -> s.TokenOut:
        return s.TokenOut.model_validate(self._request("DELETE", f"/api/v1/tokens/{token_id}").json())

    def list_members(self, registry: str) -> list[s.GrantOut]:
        return self._get(s.GrantList, f"/api/v1/registries/{_q(registry)}/members").items

    def grant(self, registry: str, subject: str, role: str, *, subject_kind: str = "user") -> s.GrantOut:
        body = {"subject_kind": subject_kind, "subject": subject, "role": role}
        r = self._request("PUT", f"/api/v1/registries/{_q(registry)}/members", json=body)
        return s.GrantOut.model_validate(r.json())

    def revoke_grant(self, registry: str, subject: str, *, subject_kind: str = "user") -> None:
        self._request("DELETE", f"/api/v1/registries/{_q(registry)}/members/{_q(subject_kind)}/{_q(subject)}")

    def protect_alias(self, registry: str, alias: str, *, collection: str | None = None) -> s.AliasPolicyOut:
        r = self._request(
            "PUT",
            f"/api/v1/registries/{_q(registry)}/alias-policies/{_q(alias)}",
            json={"collection": collection, "protected": True},
        )
        return s.AliasPolicyOut.model_validate(r.json())

    def set_alias_policy(
        self, registry: str, alias: str, *, protected: bool, collection: str | None = None
    ) -> s.AliasPolicyOut:
        r = self._request(
            "PUT",
            f"/api/v1/registries/{_q(registry)}/alias-policies/{_q(alias)}",
            json={"collection": collection, "protected": protected},
        )
        return s.AliasPolicyOut.model_validate(r.json())

    def delete_alias_policy(self, registry: str, alias: str, *, collection: str | None = None) -> None:
        params = {"collection": collection} if collection else {}
        self._request("DELETE", f"/api/v1/registries/{_q(registry)}/alias-policies/{_q(alias)}", params=params)

    def list_alias_policies(self, registry: str) -> list[s.AliasPolicyOut]:
        return self._get(s.AliasPolicyList, f"/api/v1/registries/{_q(registry)}/alias-policies").items

    # -- audit ----------------------------------------------------------------------------------------

    def verify_audit(self) -> s.ChainReportOut:
        return self._get(s.ChainReportOut, "/api/v1/audit/verify")

    def export_events(self, **filters: Any) -> Iterator[str]:
        """The matching events as JSON Lines, streamed."""
        params = {k: v for k, v in filters.items() if v is not None}
        try:
            with self._http.stream("GET", "/api/v1/events/export", params=params) as r:
                if not r.is_success:
                    r.read()
                    raise_for_error(r)
                yield from r.iter_lines()
        except httpx.TransportError as exc:
            raise translate_transport_errors(exc, self.base_url) from exc

    def alias_at(self, path: str, alias: str, at: str) -> s.AliasChangeOut:
        """What ``alias`` pointed to at time ``at`` (ISO 8601 with timezone) and who moved it there."""
        registry, name, _ = _split(path)
        return self._get(s.AliasChangeOut, f"{self._coll(registry, name)}/aliases/{_q(alias)}/at", params={"time": at})

    # -- promotion --------------------------------------------------------------------------------------

    def set_promotion_policy(
        self,
        registry: str,
        target: str,
        *,
        requirements: dict[str, Any],
        target_kind: str = "alias",
        collection: str | None = None,
    ) -> s.AliasPolicyOut:
        """Protect an alias (or stage) with requirements: approvals, approver_role, checks, rules, auto_promote."""
        body = {"target_kind": target_kind, "target": target, "collection": collection, "requirements": requirements}
        r = self._request("PUT", f"/api/v1/registries/{_q(registry)}/promotion-policies", json=body)
        return s.AliasPolicyOut.model_validate(r.json())

    def report_check(
        self, path: str, name: str, status: str, *, summary: str = "", details_url: str = ""
    ) -> s.CheckOut:
        """Report a named check on version ``registry/collection:N`` (pending, success, failure, error)."""
        registry, coll, ref = _split(path)
        body = {"name": name, "status": status, "summary": summary, "details_url": details_url}
        r = self._request("POST", f"{self._coll(registry, coll)}/versions/{_q(ref or '')}/checks", json=body)
        return s.CheckOut.model_validate(r.json())

    def list_checks(self, path: str) -> list[s.CheckOut]:
        registry, coll, ref = _split(path)
        return self._get(s.CheckList, f"{self._coll(registry, coll)}/versions/{_q(ref or '')}/checks").items

    def request_promotion(
        self,
        path: str,
        target: str,
        *,
        target_kind: str = "alias",
        comment: str = "",
        archive_existing_versions: bool = False,
    ) -> s.PromotionOut:
        """Ask to point ``target`` (an alias, or a stage) at version ``registry/collection:N``."""
        registry, coll, ref = _split(path)
        if not ref or not ref.isdigit():
            raise InvalidArgumentError("give the version number: registry/collection:N")
        body = {
            "version": int(ref),
            "target_kind": target_kind,
            "target": target,
            "comment": comment,
            "archive_existing_versions": archive_existing_versions,
        }
        r = self._request("POST", f"{self._coll(registry, coll)}/promotions", json=body)
        return s.PromotionOut.model_validate(r.json())

    def list_promotions(self, path: str, *, status: str | None = None) -> list[s.PromotionOut]:
        registry, coll, _ = _split(path)
        params = {"status": status} if status else {}
        return self._get(s.PromotionList, f"{self._coll(registry, coll)}/promotions", params=params).items

    def get_promotion(self, request_id: int) -> s.PromotionOut:
        return self._get(s.PromotionOut, f"/api/v1/promotions/{request_id}")

    def approve_promotion(self, request_id: int, *, comment: str = "") -> s.PromotionOut:
        r = self._request("POST", f"/api/v1/promotions/{request_id}/approve", json={"comment": comment})
        return s.PromotionOut.model_validate(r.json())

    def reject_promotion(self, request_id: int, *, comment: str = "") -> s.PromotionOut:
        r = self._request("POST", f"/api/v1/promotions/{request_id}/reject", json={"comment": comment})
        return s.PromotionOut.model_validate(r.json())

    def cancel_promotion(self, request_id: int) -> s.PromotionOut:
        return s.PromotionOut.model_validate(self._request("POST", f"/api/v1/promotions/{request_id}/cancel").json())

    def complete_promotion(self, request_id: int) -> s.PromotionOut:
        return s.PromotionOut.model_validate(self._request("POST", f"/api/v1/promotions/{request_id}/complete").json())

    def rollback(self, path: str, alias: str, *, to: int | None = None) -> s.VersionOut:
        """Move ``alias`` back to the version it pointed to before (or to version ``to``)."""
        registry, coll, _ = _split(path)
        r = self._request("POST", f"{self._coll(registry, coll)}/aliases/{_q(alias)}/rollback", json={"to": to})
        return s.VersionOut.model_validate(r.json())

    # -- automations (webhooks) and watch streams -------------------------------------------------------

    @staticmethod
    def _webhooks(registry: str, name: str | None = None) -> str:
        url = f"/api/v1/registries/{_q(registry)}/webhooks"
        return f"{url}/{_q(name)}" if name is not None else url

    def create_webhook(
        self,
        registry: str,
        name: str,
        url: str,
        *,
        events: list[str],
        collection: str | None = None,
        alias_filter: str | None = None,
        tag_filter: str | None = None,
        secret: str | None = None,
        active: bool = True,
    ) -> sa.WebhookOut:
        """A webhook POSTing ``events`` (names or patterns like ``alias.*``) of a registry or collection to ``url``."""
        flt = {k: v for k, v in {"alias": alias_filter, "tag": tag_filter}.items() if v}
        body: dict[str, Any] = {
            "name": name,
            "url": url,
            "events": events,
            "collection": collection,
            "filter": flt or None,
            "secret": secret,
            "active": active,
        }
        return sa.WebhookOut.model_validate(self._request("POST", self._webhooks(registry), json=body).json())

    def list_webhooks(self, registry: str) -> list[sa.WebhookOut]:
        return self._get(sa.WebhookList, self._webhooks(registry)).items

    def get_webhook(self, registry: str, name: str) -> sa.WebhookOut:
        return self._get(sa.WebhookOut, self._webhooks(registry, name))

    def update_webhook(
        self,
        registry: str,
        name: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        alias_filter: str | None = None,
        tag_filter: str | None = None,
        secret: str | None = None,
        remove_secret: bool = False,
        active: bool | None = None,
    ) -> sa.WebhookOut:
        """Change a webhook; ``active=True`` re-enables one disabled after failures."""
        body: dict[str, Any] = {
            k: v for k, v in {"url": url, "events": events, "secret": secret, "active": active}.items() if v is not None
        }
        if alias_filter is not None or tag_filter is not None:
            body["filter"] = {"alias": alias_filter, "tag": tag_filter}
        if remove_secret:
            body["remove_secret"] = True
        return sa.WebhookOut.model_validate(self._request("PATCH", self._webhooks(registry, name), json=body).json())

    def delete_webhook(self, registry: str, name: str) -> None:
        self._request("DELETE", self._webhooks(registry, name))

    def list_deliveries(
        self, registry: str, name: str, *, status: str | None = None, page_size: int = 50
    ) -> Pager[sa.DeliveryOut]:
        """The delivery log of a webhook, newest first, lazily paged."""
        params: dict[str, Any] = {"page_size": page_size}
        if status:
            params["status"] = status
        url = f"{self._webhooks(registry, name)}/deliveries"
        return Pager(lambda token: self._page(sa.DeliveryOut, url, params, token))

    def get_delivery(self, registry: str, name: str, delivery_id: str) -> sa.DeliveryOut:
        return self._get(sa.DeliveryOut, f"{self._webhooks(registry, name)}/deliveries/{_q(delivery_id)}")

    def redeliver(self, registry: str, name: str, delivery_id: str) -> sa.DeliveryOut:
        """Queue a delivery's event again (a new delivery with a new id)."""
        url = f"{self._webhooks(registry, name)}/deliveries/{_q(delivery_id)}/redeliver"
        return sa.DeliveryOut.model_validate(self._request("POST", url).json())

    def ping_webhook(self, registry: str, name: str, *, wait: float | None = None) -> sa.DeliveryOut:
        """Queue a ``ping`` delivery; with ``wait`` seconds, poll until it succeeded or an attempt failed."""
        d = sa.DeliveryOut.model_validate(self._request("POST", f"{self._webhooks(registry, name)}/ping").json())
        deadline = time.monotonic() + (wait or 0)
        while wait and d.status == "pending" and not d.error and time.monotonic() < deadline:
            time.sleep(0.1)
            d = self.get_delivery(registry, name, d.delivery_id)
        return d

    def watch(
        self, target: str, *, last_event_id: int | None = None, reconnect: bool = True, read_timeout: float = 60.0
    ) -> Iterator[sa.WatchEvent]:
        """Follow ``registry/collection@alias`` (or ``:latest``): yields ``current`` at once, then every change.

        Runs until the caller stops iterating. After a network error or a server restart it reconnects
        with ``Last-Event-ID``, so no change is lost (``reconnect=False`` raises instead). Errors such as
        an unknown collection or a missing permission are raised, never retried, including when the
        server ends the stream because the token was revoked or read access was lost meanwhile.
        """
        last = last_event_id
        delay = 0.25
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                with self._http.stream(
                    "GET",
                    "/api/v1/watch",
                    params={"target": target},
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=read_timeout),
                ) as r:
                    if not r.is_success:
                        r.read()
                        raise_for_error(r)
                    delay = 0.25
                    for event_id, event, data in _parse_sse(r.iter_lines()):
                        if event == "error" and data:
                            raise error_from_body(json.loads(data))  # access gone: the server ended the stream
                        if event_id is not None:
                            last = event_id
                        if event and data:
                            yield sa.WatchEvent.model_validate_json(data)
            except httpx.TransportError as exc:
                if not reconnect:
                    raise translate_transport_errors(exc, self.base_url) from exc
            except UnavailableError:
                if not reconnect:
                    raise
            if not reconnect:
                return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    # -- push ---------------------------------------------------------------------------------------

    def missing_blobs(self, registry: str, digests: list[str]) -> list[str]:
        missing: list[str] = []
        for start in range(0, len(digests), 10_000):
            r = self._request(
                "POST",
                f"/api/v1/registries/{_q(registry)}/blobs/missing",
                json={"digests": digests[start : start + 10_000]},
            )
            missing.extend(s.MissingResponse.model_validate(r.json()).missing)
        return missing

    def list_uploads(self, registry: str | None = None) -> list[s.UploadOut]:
        """Your own open upload sessions (an interrupted push leaves one; pushing again resumes it)."""
        params = {"registry": registry} if registry else {}
        return self._get(s.UploadList, "/api/v1/uploads", params=params).items

    def cancel_upload(self, upload_id: str) -> None:
        """Remove an upload session and the bytes it received."""
        self._request("DELETE", f"/api/v1/uploads/{_q(upload_id)}")

    def upload_blob(
        self,
        registry: str,
        file: Path,
        digest: str,
        size: int,
        progress: Progress | None = None,
        *,
        resume: s.UploadOut | None = None,
    ) -> None:
        """Upload one file's bytes as a blob, resuming from the server's offset after a failure.

        ``resume``: an open session of yours for this digest (from ``list_uploads``); the upload
        continues at its offset instead of starting from zero.
        """
        try:
            self._upload_blob(registry, file, digest, size, progress, resume)
        except UploadUnknownError:
            if resume is None or self.missing_blobs(registry, [digest]):
                raise
            # the resumed session was completed by a concurrent push of the same bytes: nothing left to send

    def _upload_blob(
        self, registry: str, file: Path, digest: str, size: int, progress: Progress | None, resume: s.UploadOut | None
    ) -> None:
        if resume is not None and resume.digest == digest and resume.size == size:
            upload = resume
        else:
            r = self._request(
                "POST", f"/api/v1/registries/{_q(registry)}/uploads", json={"digest": digest, "size": size}
            )
            upload = s.UploadOut.model_validate(r.json())
        offset, attempts, waited = upload.offset, 0, 0.0
        while offset < size or size == 0:
            end = min(size, offset + UPLOAD_REQUEST_BYTES)
            try:
                r = self._request(
                    "PATCH",
                    f"/api/v1/uploads/{upload.id}",
                    headers={"Upload-Offset": str(offset)},
                    content=_read_range(file, offset, end, progress),
                )
                offset = s.UploadOut.model_validate(r.json()).offset
            except TooManyRequestsError as exc:
                # The server caps uploads in flight per principal and per process: wait as told, then
                # send this range again (nothing of it was read).
                delay = min(float(exc.details.get("retry_after_seconds") or 1), 10.0)
                waited += delay
                if waited > BUSY_WAIT_SECONDS:
                    raise
                time.sleep(delay)
            except (ConflictError, httpx.TransportError, OSError):
                attempts += 1
                if attempts > 3:
                    raise
                offset = self._get(s.UploadOut, f"/api/v1/uploads/{upload.id}").offset
            if size == 0:
                break
        self._request("POST", f"/api/v1/uploads/{upload.id}/commit")

    def push(
        self,
        local: str | os.PathLike[str],
        path: str,
        *,
        aliases: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        artifact_type: str | None = None,
        on_hash: Progress | None = None,
        on_upload: Progress | None = None,
        on_plan: PushPlan | None = None,
        allow_empty: bool = False,
    ) -> s.VersionOut:
        """Upload a file or directory as the next version of ``registry/collection``.

        Hashes locally, asks which blobs the server lacks, uploads only those, then commits.
        Pushing identical content again transfers no file bytes. An upload session this caller
        left open (an interrupted push) is resumed at its offset, not restarted. ``on_plan``
        hears (files, files already stored, bytes to send) before any byte is sent. A folder
        without files is refused unless ``allow_empty``.
        """
        registry, collection, ref = _split(path)
        if ref is not None:
            raise InvalidArgumentError(
                f"push to 'registry/collection' ('{registry}/{collection}'); the server assigns the version number"
            )
        files = collect_files(Path(local))
        if not files and not allow_empty:
            raise InvalidArgumentError(
                f"'{local}' holds no files; pushing it would create an empty version (allow_empty=True, "
                "CLI --allow-empty, if that is what you want)",
                field="local",
            )
        manifest = []
        for rel, full in files:
            digest, size = hash_file(full, on_hash)
            manifest.append((rel, full, digest, size))
        missing = set(self.missing_blobs(registry, sorted({m[2] for m in manifest})))
        sessions: dict[tuple[str, int], s.UploadOut] = {}
        if missing:
            for u in self.list_uploads(registry):
                if u.digest in missing and (u.digest, u.size) not in sessions:
                    sessions[(u.digest, u.size)] = u
        sizes = {digest: size for _rel, _full, digest, size in manifest}
        to_send = sum(sizes[d] - (sessions[(d, sizes[d])].offset if (d, sizes[d]) in sessions else 0) for d in missing)
        if on_plan:
            on_plan(len(manifest), sum(1 for m in manifest if m[2] not in missing), to_send)
        for _rel, full, digest, size in manifest:
            if digest in missing:
                self.upload_blob(registry, full, digest, size, on_upload, resume=sessions.get((digest, size)))
                missing.discard(digest)
        body: dict[str, Any] = dict(metadata or {})
        body["files"] = [{"path": rel, "digest": digest, "size": size} for rel, _f, digest, size in manifest]
        body["aliases"] = aliases or []
        if artifact_type:
            body["artifact_type"] = artifact_type
        r = self._request("POST", f"{self._coll(registry, collection)}/versions", json=body)
        return s.VersionOut.model_validate(r.json())

    def push_plan(self, local: str | os.PathLike[str], registry: str) -> tuple[int, int]:
        """(total bytes, bytes that would be uploaded) without uploading anything."""
        files = collect_files(Path(local))
        hashed = [hash_file(full) for _rel, full in files]
        missing = set(self.missing_blobs(registry, sorted({d for d, _ in hashed})))
        return sum(sz for _, sz in hashed), sum(sz for d, sz in {d: sz for d, sz in hashed}.items() if d in missing)

    # -- pull ---------------------------------------------------------------------------------------

    def iter_file(self, path: str, file: str, *, offset: int = 0) -> Iterator[bytes]:
        registry, name, ref = _split(path)
        url = f"{self._coll(registry, name)}/versions/{_q(ref or 'latest')}/files/{quote(file)}"
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with self._http.stream("GET", url, headers=headers) as r:
                if not r.is_success:
                    r.read()
                    raise_for_error(r)
                yield from r.iter_bytes(READ_CHUNK)
        except httpx.TransportError as exc:
            raise translate_transport_errors(exc, self.base_url) from exc

    def pull(
        self,
        path: str,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        existing: str = "refuse",
    ) -> s.VersionOut:
        """Download every file of a version into ``dest``, verifying each sha256.

        ``dest`` ends up equal to the version. Files already there with the right digest are
        kept; a partial download (``<file>.modelyard-part``) continues with a Range request, and
        the whole file's digest is checked at the end. If ``dest`` holds anything else (other
        files, or a version file with other content), ``existing`` decides: ``"refuse"`` (the
        default) raises ``DestinationNotEmptyError`` and changes nothing, ``"overwrite"`` replaces
        the version's files and keeps the others, ``"clean"`` also deletes the others.
        """
        if existing not in ("refuse", "overwrite", "clean"):
            raise InvalidArgumentError("existing must be 'refuse', 'overwrite' or 'clean'", field="existing")
        version = self.get_version(path)
        dest_dir = Path(dest)
        if dest_dir.exists() and not dest_dir.is_dir():
            raise InvalidArgumentError(f"'{dest}' is a file; pull into a folder", field="dest")
        wanted = {safe_destination(dest_dir, f.path): f for f in version.files or []}
        same, others = _survey(dest_dir, wanted)
        if others and existing == "refuse":
            shown = ", ".join(sorted(o.relative_to(dest_dir.resolve()).as_posix() for o in others)[:5])
            raise DestinationNotEmptyError(
                f"'{dest}' already holds {_count(len(others), 'file')} that {'is' if len(others) == 1 else 'are'} "
                f"not this version's ({shown}{', ...' if len(others) > 5 else ''}); pull into an empty folder, "
                "or pass --force (overwrite, keep the rest) or --clean (make the folder equal the version)",
                dest=str(dest),
                files=len(others),
            )
        if existing == "clean":
            for other in others:
                if other not in wanted:
                    other.unlink()
            _remove_empty_dirs(dest_dir, keep={t.parent for t in wanted})
        dest_dir.mkdir(parents=True, exist_ok=True)
        pinned = f"{version.registry}/{version.collection}:{version.number}"
        for target, f in wanted.items():
            if target in same:
                if progress:
                    progress(f.size)
                continue
            self._download(pinned, f, target, progress)
        return version

    def _download(self, pinned: str, f: s.FileOut, target: Path, progress: Progress | None) -> None:
        """One file into ``target``, via ``<target>.modelyard-part``: resumed with Range if a part exists."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise DestinationNotEmptyError(f"'{target}' is a folder; the version has a file there", file=f.path)
        tmp = target.with_name(target.name + PART_SUFFIX)
        for attempt in (1, 2):
            h = hashlib.sha256()
            have = tmp.stat().st_size if tmp.is_file() else 0
            if have > f.size:
                tmp.unlink()
                have = 0
            if have:
                with open(tmp, "rb") as part:
                    while chunk := part.read(READ_CHUNK):
                        h.update(chunk)
                if progress:
                    progress(have)
            with open(tmp, "ab" if have else "wb") as out:
                if have < f.size:
                    for chunk in self.iter_file(pinned, f.path, offset=have):
                        out.write(chunk)
                        h.update(chunk)
                        if progress:
                            progress(len(chunk))
            if f"sha256:{h.hexdigest()}" == f.digest:
                os.replace(tmp, target)
                return
            tmp.unlink(missing_ok=True)
            if not have or attempt == 2:  # a fresh download that does not match: the bytes are wrong
                raise DigestMismatchError(f"downloaded '{f.path}' does not match {f.digest}", file=f.path)
            # the kept part was not a prefix of this file: start again from zero, once


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _survey(dest: Path, wanted: dict[Path, s.FileOut]) -> tuple[set[Path], list[Path]]:
    """(version files already in ``dest`` with the right digest, every other file in ``dest``).

    Partial downloads of the version's files (``.modelyard-part``) count as neither: pull resumes them.
    """
    same: set[Path] = set()
    others: list[Path] = []
    if not dest.is_dir():
        return same, others
    parts = {t.with_name(t.name + PART_SUFFIX) for t in wanted}
    for root, _dirs, names in os.walk(dest):
        for name in names:
            p = (Path(root) / name).resolve()
            if p in parts:
                continue
            f = wanted.get(p)
            if f is not None and p.is_file() and p.stat().st_size == f.size and hash_file(p)[0] == f.digest:
                same.add(p)
            else:
                others.append(p)
    return same, others


def _remove_empty_dirs(dest: Path, *, keep: set[Path]) -> None:
    for root, _dirs, _names in sorted(os.walk(dest), key=lambda w: -len(w[0])):
        p = Path(root).resolve()
        if p != dest.resolve() and p not in keep and not any(p.iterdir()):
            p.rmdir()


def _read_range(file: Path, start: int, end: int, progress: Progress | None) -> Iterator[bytes]:
    with open(file, "rb") as f:
        f.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = f.read(min(READ_CHUNK, remaining))
            if not chunk:
                raise OSError(f"'{file}' changed while uploading (shorter than expected)")
            remaining -= len(chunk)
            if progress:
                progress(len(chunk))
            yield chunk


def _parse_sse(lines: Iterator[str]) -> Iterator[tuple[int | None, str, str]]:
    """(id, event, data) per Server-Sent Events message; comments and ``retry:`` are skipped."""
    event_id: int | None = None
    event = ""
    data: list[str] = []
    for line in lines:
        if line == "":
            if event or data:
                yield event_id, event or "message", "\n".join(data)
            event_id, event, data = None, "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id" and value.isdigit():
            event_id = int(value)
        elif name == "event":
            event = value
        elif name == "data":
            data.append(value)
