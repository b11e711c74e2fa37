"""Use cases for identities and access: users, service accounts, teams, API tokens,
registry grants, protected aliases, and authenticating a request's token.

Tokens are random 256-bit secrets shown once; the database keeps only their sha256 (a
fast hash is right for high-entropy secrets: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from modelyard.domain import events as ev
from modelyard.domain.actor import Actor
from modelyard.domain.identity import (
    MAX_TOKEN_LIFETIME_DAYS,
    PRINCIPAL_KINDS,
    AliasPolicy,
    Grant,
    NewToken,
    PrincipalInfo,
    Team,
    TokenInfo,
    auth_required,
    strands_org,
    token_allowed,
)
from modelyard.domain.names import (
    validate_alias_name,
    validate_collection_name,
    validate_description,
    validate_principal_name,
)
from modelyard.domain.permissions import Action, check_role
from modelyard.errors import (
    CollectionNotFoundError,
    InvalidArgumentError,
    LastOrgAdminError,
    NotFoundError,
    OrgAdminExistsError,
    OrgAdminTokenRequiredError,
    PrincipalNotFoundError,
    UnauthenticatedError,
)
from modelyard.storage.interfaces import Database, MetadataStore

from . import authz
from .registry import RegistryService, utcnow

TOKEN_PREFIX = "my_"
MAX_TOKEN_LIFETIME = timedelta(days=MAX_TOKEN_LIFETIME_DAYS)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class IdentityService:
    def __init__(self, db: Database, registry: RegistryService, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._registry = registry
        self._clock = clock

    def _event(
        self,
        store: MetadataStore,
        actor: Actor,
        action: str,
        target: str,
        *,
        registry: str | None = None,
        before: dict | None = None,
        after: dict | None = None,
        now: datetime,
    ) -> None:  # type: ignore[type-arg]
        self._registry._event(store, actor, action, target, registry=registry, before=before, after=after, now=now)

    @staticmethod
    def _principal(store: MetadataStore, name: str) -> PrincipalInfo:
        p = store.find_principal(name)
        if p is None:
            raise PrincipalNotFoundError(f"no user or service account named '{name[:80]}'", principal=name[:80])
        return p

    @staticmethod
    def _team(store: MetadataStore, name: str) -> Team:
        t = store.find_team(name)
        if t is None:
            raise PrincipalNotFoundError(f"no team named '{name[:80]}'", team=name[:80])
        return t

    # -- authentication -------------------------------------------------------------------------

    def auth_required(self, mode: str) -> bool:
        """Whether requests must carry a token under the ``auth`` setting ``mode`` (the rule:
        ``domain.identity.auth_required``; ``auto`` is on once an active principal holds a token)."""

        def token_exists() -> bool:
            with self._db.unit_of_work(write=False) as store:
                return store.any_active_token()

        return auth_required(mode, token_exists)

    def _refuse_stranding(
        self, store: MetadataStore, live_before: list[str], now: datetime, what: str, fix: str
    ) -> None:
        """Raise ``LastOrgAdminError`` (rolling the unit of work back) if the change just made
        left no active org admin with a live token while there was one before."""
        after = store.org_admins_holding_tokens(live_at=now)
        if strands_org(live_admins_before=len(live_before), live_admins_after=len(after)):
            raise LastOrgAdminError(
                f"refused: {what} would leave no active org admin with a valid API token, and nobody could "
                f"administer the organization any more ({', '.join(live_before)} holds the last one). {fix}",
                admins=live_before,
            )

    def authenticate(self, secret: str, *, request_id: str = "", client_address: str = "") -> Actor:
        """The actor a token belongs to; ``UnauthenticatedError`` if unknown, expired, revoked or disabled."""
        now = self._clock()
        with self._db.unit_of_work(write=False) as store:
            found = store.find_token_by_hash(hash_token(secret)) if secret else None
            if found is None:
                raise UnauthenticatedError("invalid API token")
            token, principal_id = found
            if token.revoked_at is not None:
                raise UnauthenticatedError("this API token has been revoked")
            if token.expires_at is not None and token.expires_at <= now:
                raise UnauthenticatedError("this API token has expired; create a new one")
            p = store.find_principal_by_id(principal_id)
            if p is None or p.disabled:
                raise UnauthenticatedError("the account of this API token is disabled")
            team_ids = store.team_ids_of(p.id)
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
            with self._db.unit_of_work(write=True) as store:
                store.touch_token(token.id, now)
        return Actor(
            name=p.name,
            kind=p.kind,
            token_name=token.name,
            request_id=request_id,
            client_address=client_address,
            id=p.id,
            org_admin=p.org_admin,
            team_ids=team_ids,
        )

    # -- principals -------------------------------------------------------------------------------

    def bootstrap_admin(self, actor: Actor, name: str, *, token_name: str = "bootstrap") -> NewToken:
        """Make ``name`` an org admin and return a new token for it (offline recovery included).

        Allowed whenever no active org admin holds a live (unrevoked, unexpired) token, that is,
        whenever nobody can administer the organization over the API: on a new database, after
        users were created without an admin, or after every admin token expired. An existing
        user of that name is made an active org admin; a new one is created. Refused with
        ``OrgAdminExistsError`` (naming the admins) otherwise.
        """
        validate_principal_name(name)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            store.lock_org_admins()
            holders = store.org_admins_holding_tokens(live_at=now)
            if holders:
                raise OrgAdminExistsError(
                    f"bootstrap refused: the org admin(s) {', '.join(holders)} already hold a valid API token. "
                    "Ask one of them to create your user ('modelyard users create NAME'); if you run this server "
                    f"and lost that token, issue a new one offline: 'modelyard admin tokens reset {holders[0]}'",
                    admins=holders,
                )
            p = store.find_principal(name)
            if p is None:
                pid = store.insert_principal(
                    kind="user", name=name, display_name=name, email="", org_admin=True, now=now
                )
                self._event(
                    store,
                    actor,
                    ev.PRINCIPAL_CREATED,
                    f"principal:{name}",
                    now=now,
                    after={"kind": "user", "org_admin": True},
                )
            elif p.kind != "user":
                raise InvalidArgumentError(
                    f"'{name}' is a {p.kind}; only users can be org admins: bootstrap a user", field="name"
                )
            else:
                pid = p.id
                if not p.org_admin or p.disabled:
                    store.update_principal(pid, now=now, org_admin=True, disabled=False)
                    self._event(
                        store,
                        actor,
                        ev.PRINCIPAL_UPDATED,
                        f"principal:{name}",
                        now=now,
                        before={"org_admin": p.org_admin, "disabled": p.disabled},
                        after={"org_admin": True, "disabled": False},
                    )
            return self._new_token(
                store, actor, pid, name, self._free_token_name(store, pid, token_name, now), None, now
            )

    def reset_admin_token(self, actor: Actor, name: str, *, revoke_others: bool = False) -> NewToken:
        """A new token for the active org admin ``name`` (offline recovery: ``modelyard admin tokens reset``).

        Revokes nothing, unless ``revoke_others``: then every other unrevoked token of ``name``.
        """
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            p = self._principal(store, name)
            if p.kind != "user" or not p.org_admin or p.disabled:
                state = "disabled" if p.disabled else f"not an org admin (a {p.kind})"
                raise InvalidArgumentError(
                    f"'{name}' is {state}; a token reset is only for active org admins. To make a user an "
                    f"active org admin offline, run 'modelyard admin bootstrap {name}' (allowed while no active "
                    "org admin holds a valid token)",
                    field="name",
                )
            new = self._new_token(store, actor, p.id, name, self._free_token_name(store, p.id, "reset", now), None, now)
            if revoke_others:
                for t in store.list_tokens(p.id):
                    if t.id != new.info.id and t.revoked_at is None:
                        store.revoke_token(t.id, now)
                        self._event(
                            store, actor, ev.TOKEN_REVOKED, f"principal:{name}", now=now, before={"token": t.name}
                        )
            return new

    @staticmethod
    def _free_token_name(store: MetadataStore, principal_id: int, base: str, now: datetime) -> str:
        """``base``, or ``base-<UTC time>`` when the principal already has a token named ``base``."""
        taken = {t.name for t in store.list_tokens(principal_id)}
        if base not in taken:
            return base
        name = f"{base}-{now:%Y%m%dT%H%M%SZ}"
        n = 2
        while name in taken:
            name, n = f"{base}-{now:%Y%m%dT%H%M%SZ}-{n}", n + 1
        return name

    def create_principal(
        self,
        actor: Actor,
        name: str,
        *,
        kind: str = "user",
        display_name: str = "",
        email: str = "",
        org_admin: bool = False,
    ) -> PrincipalInfo:
        validate_principal_name(name)
        if kind not in PRINCIPAL_KINDS:
            raise InvalidArgumentError(f"kind must be one of {', '.join(PRINCIPAL_KINDS)}", field="kind")
        if kind == "service_account" and org_admin:
            raise InvalidArgumentError("service accounts cannot be org admins; grant registry roles", field="org_admin")
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            store.insert_principal(
                kind=kind, name=name, display_name=display_name[:255], email=email[:255], org_admin=org_admin, now=now
            )
            self._event(
                store,
                actor,
                ev.PRINCIPAL_CREATED,
                f"principal:{name}",
                now=now,
                after={"kind": kind, "org_admin": org_admin},
            )
            return self._principal(store, name)

    def list_principals(self, actor: Actor, *, kind: str | None = None) -> list[PrincipalInfo]:
        with self._db.unit_of_work(write=False) as store:
            return store.list_principals(kind)

    def get_principal(self, actor: Actor, name: str) -> PrincipalInfo:
        with self._db.unit_of_work(write=False) as store:
            return self._principal(store, name)

    def update_principal(
        self, actor: Actor, name: str, *, org_admin: bool | None = None, disabled: bool | None = None
    ) -> PrincipalInfo:
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            store.lock_org_admins()
            live_before = store.org_admins_holding_tokens(live_at=now)
            p = self._principal(store, name)
            fields = {k: v for k, v in {"org_admin": org_admin, "disabled": disabled}.items() if v is not None}
            if p.kind == "service_account" and fields.get("org_admin"):
                raise InvalidArgumentError("service accounts cannot be org admins", field="org_admin")
            if fields:
                store.update_principal(p.id, now=now, **fields)
                what = " and ".join(
                    w
                    for w, on in (("demoting", fields.get("org_admin") is False), ("disabling", fields.get("disabled")))
                    if on
                )
                self._refuse_stranding(
                    store,
                    live_before,
                    now,
                    f"{what or 'changing'} '{name}'",
                    "Make another user an org admin and give them a token first "
                    "('modelyard users update NAME --org-admin', then 'modelyard tokens create TOKEN --for NAME').",
                )
                self._event(
                    store,
                    actor,
                    ev.PRINCIPAL_UPDATED,
                    f"principal:{name}",
                    now=now,
                    before={k: getattr(p, k) for k in fields},
                    after=fields,
                )
            return self._principal(store, name)

    # -- teams --------------------------------------------------------------------------------------

    def create_team(self, actor: Actor, name: str, *, description: str = "") -> Team:
        validate_principal_name(name, "team")
        validate_description(description)
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            store.insert_team(name=name, description=description, now=now)
            self._event(store, actor, ev.TEAM_CREATED, f"team:{name}", now=now, after={"description": description})
            return self._team(store, name)

    def list_teams(self, actor: Actor) -> list[Team]:
        with self._db.unit_of_work(write=False) as store:
            return store.list_teams()

    def get_team(self, actor: Actor, name: str) -> Team:
        with self._db.unit_of_work(write=False) as store:
            return self._team(store, name)

    def add_team_member(self, actor: Actor, team: str, principal: str) -> Team:
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            t = self._team(store, team)
            p = self._principal(store, principal)
            if store.add_team_member(t.id, p.id, now):
                self._event(store, actor, ev.TEAM_MEMBER_ADDED, f"team:{team}", now=now, after={"member": principal})
            return self._team(store, team)

    def remove_team_member(self, actor: Actor, team: str, principal: str) -> Team:
        authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            t = self._team(store, team)
            p = self._principal(store, principal)
            if not store.remove_team_member(t.id, p.id):
                raise NotFoundError(f"'{principal}' is not a member of team '{team}'", team=team, principal=principal)
            self._event(store, actor, ev.TEAM_MEMBER_REMOVED, f"team:{team}", now=now, before={"member": principal})
            return self._team(store, team)

    # -- tokens -------------------------------------------------------------------------------------

    def _new_token(
        self,
        store: MetadataStore,
        actor: Actor,
        principal_id: int,
        principal: str,
        name: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> NewToken:
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        tid = store.insert_token(
            principal_id=principal_id,
            name=name,
            prefix=secret[:10],
            token_hash=hash_token(secret),
            expires_at=expires_at,
            now=now,
        )
        self._event(
            store,
            actor,
            ev.TOKEN_CREATED,
            f"principal:{principal}",
            now=now,
            after={"token": name, "expires_at": expires_at.isoformat() if expires_at else None},
        )
        info = store.find_token(tid)
        assert info is not None
        return NewToken(info, secret)

    def create_token(
        self, actor: Actor, *, name: str, principal: str | None = None, expires_in: timedelta | None = None
    ) -> NewToken:
        """A token for yourself, or (org admins) for any principal. The secret is returned once."""
        if not isinstance(name, str) or not name or len(name) > 128 or not name.isprintable():
            raise InvalidArgumentError("token name must be 1-128 printable characters", field="name")
        if expires_in is not None and (expires_in <= timedelta(0) or expires_in > MAX_TOKEN_LIFETIME):
            raise InvalidArgumentError("expiry must be in the future and at most 10 years away", field="expires_in")
        target = principal or actor.name
        if target != actor.name:
            authz.require_org(actor, Action.MANAGE_ORG)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            p = self._principal(store, target)
            store.lock_org_admins()
            admin_holds_token = bool(store.org_admins_holding_tokens())
            active_admin = p.kind == "user" and p.org_admin and not p.disabled
            if not token_allowed(for_active_org_admin=active_admin, org_admin_holds_token=admin_holds_token):
                raise OrgAdminTokenRequiredError(
                    f"refused: no org admin holds an API token yet, and authentication (auth=auto) turns on with "
                    f"the first token, so a token for '{p.name}' would lock every org admin out. Give an org admin "
                    "its token first ('modelyard users create ADMIN --org-admin', then "
                    "'modelyard tokens create TOKEN --for ADMIN', or offline 'modelyard admin bootstrap ADMIN').",
                    principal=p.name,
                )
            return self._new_token(store, actor, p.id, p.name, name, now + expires_in if expires_in else None, now)

    def list_tokens(self, actor: Actor, *, principal: str | None = None) -> list[TokenInfo]:
        """Your tokens; org admins may list anyone's (``principal``) or everyone's (``"*"``)."""
        target = principal or actor.name
        if target != actor.name:
            authz.require_org(actor, Action.MANAGE_ORG)
        with self._db.unit_of_work(write=False) as store:
            if target == "*":
                return store.list_tokens()
            return store.list_tokens(self._principal(store, target).id)

    def revoke_token(self, actor: Actor, token_id: int) -> TokenInfo:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            token = store.find_token(token_id)
            if token is None or (token.principal != actor.name and not actor.org_admin):
                raise NotFoundError(f"no token with id {token_id}", token_id=token_id)
            if token.revoked_at is None:
                store.lock_org_admins()
                live_before = store.org_admins_holding_tokens(live_at=now)
                store.revoke_token(token_id, now)
                self._refuse_stranding(
                    store,
                    live_before,
                    now,
                    f"revoking token '{token.name}' of '{token.principal}'",
                    "Create another token first ('modelyard tokens create NAME'), then revoke this one.",
                )
                self._event(
                    store,
                    actor,
                    ev.TOKEN_REVOKED,
                    f"principal:{token.principal}",
                    now=now,
                    before={"token": token.name},
                )
            revoked = store.find_token(token_id)
            assert revoked is not None
            return revoked

    # -- registry membership ----------------------------------------------------------------------------

    def _subject(self, store: MetadataStore, kind: str, name: str) -> tuple[int | None, int | None]:
        if kind == "team":
            return None, self._team(store, name).id
        if kind in PRINCIPAL_KINDS:
            p = self._principal(store, name)
            if p.kind != kind:
                raise InvalidArgumentError(f"'{name}' is a {p.kind}, not a {kind}", field="subject_kind")
            return p.id, None
        raise InvalidArgumentError("subject kind must be user, service_account or team", field="subject_kind")

    def grant(self, actor: Actor, registry: str, *, subject_kind: str, subject: str, role: str) -> Grant:
        check_role(role)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.ADMINISTER)
            pid, tid = self._subject(store, subject_kind, subject)
            old = store.set_grant(reg.id, principal_id=pid, team_id=tid, role=role, now=now)
            if old != role:
                self._event(
                    store,
                    actor,
                    ev.GRANT_SET,
                    f"{registry}",
                    registry=registry,
                    now=now,
                    before=None if old is None else {"subject": f"{subject_kind}:{subject}", "role": old},
                    after={"subject": f"{subject_kind}:{subject}", "role": role},
                )
            return Grant(registry, subject_kind, subject, role)

    def revoke_grant(self, actor: Actor, registry: str, *, subject_kind: str, subject: str) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.ADMINISTER)
            pid, tid = self._subject(store, subject_kind, subject)
            old = store.delete_grant(reg.id, principal_id=pid, team_id=tid)
            if old is None:
                raise NotFoundError(
                    f"{subject_kind} '{subject}' holds no role on registry '{registry}'",
                    registry=registry,
                    subject=subject,
                )
            self._event(
                store,
                actor,
                ev.GRANT_REMOVED,
                f"{registry}",
                registry=registry,
                now=now,
                before={"subject": f"{subject_kind}:{subject}", "role": old},
            )

    def list_grants(self, actor: Actor, registry: str) -> list[Grant]:
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor, Action.READ)
            return store.list_grants(reg.id, reg.name)

    # -- alias policies -----------------------------------------------------------------------------------

    def set_alias_policy(
        self, actor: Actor, registry: str, alias: str, *, collection: str | None = None, protected: bool = True
    ) -> AliasPolicy:
        """Protect an alias name registry-wide, or override the policy for one collection."""
        validate_alias_name(alias)
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.ADMINISTER)
            cid = self._collection_id(store, reg.id, registry, collection)
            replaced = store.set_alias_policy(
                reg.id, cid, alias, protected=protected, requirements={}, actor=actor.name, now=now
            )
            target = f"{registry}/{collection}@{alias}" if collection else f"{registry}@{alias}"
            self._event(
                store,
                actor,
                ev.ALIAS_POLICY_SET,
                target,
                registry=registry,
                now=now,
                after={"protected": protected, "replaced": replaced},
            )
            return AliasPolicy(registry, alias, collection, protected, {})

    def delete_alias_policy(self, actor: Actor, registry: str, alias: str, *, collection: str | None = None) -> None:
        now = self._clock()
        with self._db.unit_of_work(write=True) as store:
            reg = self._registry._registry(store, registry, actor, Action.ADMINISTER)
            cid = self._collection_id(store, reg.id, registry, collection)
            if not store.delete_alias_policy(reg.id, cid, alias.lower()):
                raise NotFoundError(f"no policy for alias '{alias}' in '{registry}'", registry=registry, alias=alias)
            target = f"{registry}/{collection}@{alias}" if collection else f"{registry}@{alias}"
            self._event(
                store, actor, ev.ALIAS_POLICY_REMOVED, target, registry=registry, now=now, before={"alias": alias}
            )

    def list_alias_policies(self, actor: Actor, registry: str) -> list[AliasPolicy]:
        with self._db.unit_of_work(write=False) as store:
            reg = self._registry._registry(store, registry, actor, Action.READ)
            return store.list_alias_policies(reg.id, reg.name)

    @staticmethod
    def _collection_id(store: MetadataStore, registry_id: int, registry: str, collection: str | None) -> int | None:
        if collection is None:
            return None
        validate_collection_name(collection)
        row = store.find_collection_row(registry_id, collection)
        if row is None:
            raise CollectionNotFoundError(registry=registry, collection=collection)
        return int(row["id"])
