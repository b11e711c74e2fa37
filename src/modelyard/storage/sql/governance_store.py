"""SQL reads and writes for identities, tokens, grants and alias policies (a mixin of
``SqlMetadataStore``; same connection, same transaction, never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from modelyard.domain.identity import AliasPolicy, Grant, PrincipalInfo, Team, TokenInfo
from modelyard.domain.promotion import STAGE_POLICY_PREFIX, alias_for_stage, stage_guard
from modelyard.errors import AlreadyExistsError

from . import governance_tables as g
from . import tables as t
from .upsert import upsert


class GovernanceStoreMixin:
    conn: Connection
    dialect: str

    # -- principals -----------------------------------------------------------------------------

    def insert_principal(
        self, *, kind: str, name: str, display_name: str, email: str, org_admin: bool, now: datetime
    ) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(g.principals).values(
                            kind=kind,
                            name=name,
                            display_name=display_name,
                            email=email,
                            org_admin=org_admin,
                            disabled=False,
                            created_at=now,
                            updated_at=now,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"a principal named '{name}' already exists", principal=name) from exc

    def find_principal(self, name: str) -> PrincipalInfo | None:
        row = self.conn.execute(select(g.principals).where(g.principals.c.name == name)).mappings().first()
        return self._principal(row) if row else None

    def find_principal_by_id(self, principal_id: int) -> PrincipalInfo | None:
        row = self.conn.execute(select(g.principals).where(g.principals.c.id == principal_id)).mappings().first()
        return self._principal(row) if row else None

    def _principal(self, row: RowMapping) -> PrincipalInfo:
        teams = tuple(
            self.conn.execute(
                select(g.teams.c.name)
                .join(g.team_members, g.team_members.c.team_id == g.teams.c.id)
                .where(g.team_members.c.principal_id == row["id"])
                .order_by(g.teams.c.name)
            ).scalars()
        )
        return PrincipalInfo(
            id=row["id"],
            kind=row["kind"],
            name=row["name"],
            display_name=row["display_name"],
            email=row["email"],
            org_admin=bool(row["org_admin"]),
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
            teams=teams,
        )

    def list_principals(self, kind: str | None = None) -> list[PrincipalInfo]:
        q = select(g.principals).order_by(g.principals.c.name)
        if kind:
            q = q.where(g.principals.c.kind == kind)
        return [self._principal(r) for r in self.conn.execute(q).mappings()]

    def update_principal(self, principal_id: int, *, now: datetime, **fields: Any) -> None:
        self.conn.execute(
            update(g.principals).where(g.principals.c.id == principal_id).values(updated_at=now, **fields)
        )

    def lock_org_admins(self) -> None:
        """Lock the active org admins' rows until the unit of work ends (PostgreSQL ``FOR UPDATE``;
        SQLite's ``BEGIN IMMEDIATE`` already serializes writers), so two concurrent demotions
        cannot each see the other admin and both succeed."""
        self.conn.execute(
            select(g.principals.c.id)
            .where(g.principals.c.org_admin.is_(True), g.principals.c.disabled.is_(False))
            .with_for_update()
        ).all()

    def org_admins_holding_tokens(self, *, live_at: datetime | None = None) -> list[str]:
        """Names of active org admins that hold an unrevoked token; with ``live_at``, one that
        has not expired at that time either. Sorted."""
        q = (
            select(g.principals.c.name)
            .distinct()
            .join(g.api_tokens, g.api_tokens.c.principal_id == g.principals.c.id)
            .where(
                g.principals.c.org_admin.is_(True),
                g.principals.c.disabled.is_(False),
                g.api_tokens.c.revoked_at.is_(None),
            )
            .order_by(g.principals.c.name)
        )
        if live_at is not None:
            q = q.where(or_(g.api_tokens.c.expires_at.is_(None), g.api_tokens.c.expires_at > live_at))
        return list(self.conn.execute(q).scalars())

    def any_active_token(self) -> bool:
        """Whether any active (not disabled) principal holds an unrevoked token, expired or not."""
        q = (
            select(g.api_tokens.c.id)
            .join(g.principals, g.principals.c.id == g.api_tokens.c.principal_id)
            .where(g.principals.c.disabled.is_(False), g.api_tokens.c.revoked_at.is_(None))
            .limit(1)
        )
        return self.conn.execute(q).first() is not None

    def team_ids_of(self, principal_id: int) -> tuple[int, ...]:
        return tuple(
            self.conn.execute(
                select(g.team_members.c.team_id).where(g.team_members.c.principal_id == principal_id)
            ).scalars()
        )

    # -- teams ------------------------------------------------------------------------------------

    def insert_team(self, *, name: str, description: str, now: datetime) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(g.teams).values(name=name, description=description, created_at=now, updated_at=now)
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"team '{name}' already exists", team=name) from exc

    def find_team(self, name: str) -> Team | None:
        row = self.conn.execute(select(g.teams).where(g.teams.c.name == name)).mappings().first()
        if row is None:
            return None
        members = tuple(
            self.conn.execute(
                select(g.principals.c.name)
                .join(g.team_members, g.team_members.c.principal_id == g.principals.c.id)
                .where(g.team_members.c.team_id == row["id"])
                .order_by(g.principals.c.name)
            ).scalars()
        )
        return Team(row["id"], row["name"], row["description"], members, row["created_at"])

    def list_teams(self) -> list[Team]:
        names = list(self.conn.execute(select(g.teams.c.name).order_by(g.teams.c.name)).scalars())
        return [t for t in (self.find_team(n) for n in names) if t is not None]

    def add_team_member(self, team_id: int, principal_id: int, now: datetime) -> bool:
        exists = self.conn.execute(
            select(g.team_members.c.id).where(
                g.team_members.c.team_id == team_id, g.team_members.c.principal_id == principal_id
            )
        ).first()
        if exists:
            return False
        self.conn.execute(
            insert(g.team_members).values(team_id=team_id, principal_id=principal_id, created_at=now, updated_at=now)
        )
        return True

    def remove_team_member(self, team_id: int, principal_id: int) -> bool:
        result = self.conn.execute(
            delete(g.team_members).where(
                g.team_members.c.team_id == team_id, g.team_members.c.principal_id == principal_id
            )
        )
        return bool(result.rowcount)

    def delete_team(self, team_id: int) -> None:
        self.conn.execute(delete(g.teams).where(g.teams.c.id == team_id))

    # -- tokens -------------------------------------------------------------------------------------

    def insert_token(
        self,
        *,
        principal_id: int,
        name: str,
        prefix: str,
        token_hash: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> int:
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(g.api_tokens).values(
                            principal_id=principal_id,
                            name=name,
                            prefix=prefix,
                            token_hash=token_hash,
                            expires_at=expires_at,
                            created_at=now,
                            updated_at=now,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                )
        except IntegrityError as exc:
            raise AlreadyExistsError(f"a token named '{name}' already exists for this principal", token=name) from exc

    def _token_select(self) -> Any:
        return select(*g.api_tokens.c, g.principals.c.name.label("principal")).join(
            g.principals, g.principals.c.id == g.api_tokens.c.principal_id
        )

    @staticmethod
    def _token(r: RowMapping) -> TokenInfo:
        return TokenInfo(
            id=r["id"],
            name=r["name"],
            principal=r["principal"],
            prefix=r["prefix"],
            expires_at=r["expires_at"],
            revoked_at=r["revoked_at"],
            last_used_at=r["last_used_at"],
            created_at=r["created_at"],
        )

    def find_token_by_hash(self, token_hash: str) -> tuple[TokenInfo, int] | None:
        r = self.conn.execute(self._token_select().where(g.api_tokens.c.token_hash == token_hash)).mappings().first()
        return (self._token(r), int(r["principal_id"])) if r else None

    def find_token(self, token_id: int) -> TokenInfo | None:
        r = self.conn.execute(self._token_select().where(g.api_tokens.c.id == token_id)).mappings().first()
        return self._token(r) if r else None

    def list_tokens(self, principal_id: int | None = None) -> list[TokenInfo]:
        q = self._token_select().order_by(g.api_tokens.c.id)
        if principal_id is not None:
            q = q.where(g.api_tokens.c.principal_id == principal_id)
        return [self._token(r) for r in self.conn.execute(q).mappings()]

    def revoke_token(self, token_id: int, now: datetime) -> None:
        self.conn.execute(
            update(g.api_tokens).where(g.api_tokens.c.id == token_id).values(revoked_at=now, updated_at=now)
        )

    def touch_token(self, token_id: int, now: datetime) -> None:
        self.conn.execute(update(g.api_tokens).where(g.api_tokens.c.id == token_id).values(last_used_at=now))

    # -- grants ---------------------------------------------------------------------------------------

    @staticmethod
    def _grant_subject(principal_id: int | None, team_id: int | None) -> tuple[str, int | None]:
        """The column and id that name a grant's holder: a principal, or else a team."""
        return ("principal_id", principal_id) if principal_id is not None else ("team_id", team_id)

    def set_grant(
        self, registry_id: int, *, principal_id: int | None, team_id: int | None, role: str, now: datetime
    ) -> str | None:
        column, subject = self._grant_subject(principal_id, team_id)
        key = {"registry_id": registry_id, column: subject}
        return upsert(self.conn, g.registry_grants, key, {"role": role}, now=now, old="role")  # type: ignore[no-any-return]

    def delete_grant(self, registry_id: int, *, principal_id: int | None, team_id: int | None) -> str | None:
        column, subject = self._grant_subject(principal_id, team_id)
        cond = g.registry_grants.c[column] == subject
        old = self.conn.execute(
            select(g.registry_grants.c.role).where(g.registry_grants.c.registry_id == registry_id, cond)
        ).scalar_one_or_none()
        if old is not None:
            self.conn.execute(delete(g.registry_grants).where(g.registry_grants.c.registry_id == registry_id, cond))
        return old  # type: ignore[no-any-return]

    def list_grants(self, registry_id: int, registry_name: str) -> list[Grant]:
        rows = self.conn.execute(
            select(g.registry_grants.c.role, g.principals.c.name, g.principals.c.kind, g.teams.c.name.label("team"))
            .select_from(g.registry_grants)
            .outerjoin(g.principals, g.principals.c.id == g.registry_grants.c.principal_id)
            .outerjoin(g.teams, g.teams.c.id == g.registry_grants.c.team_id)
            .where(g.registry_grants.c.registry_id == registry_id)
        ).mappings()
        out = [
            Grant(registry_name, "team" if r["team"] else r["kind"], r["team"] or r["name"], r["role"]) for r in rows
        ]
        return sorted(out, key=lambda x: (x.subject_kind, x.subject))

    def granted_roles(self, registry_id: int, principal_id: int | None, team_ids: tuple[int, ...]) -> tuple[str, ...]:
        conds = []
        if principal_id is not None:
            conds.append(g.registry_grants.c.principal_id == principal_id)
        if team_ids:
            conds.append(g.registry_grants.c.team_id.in_(team_ids))
        if not conds:
            return ()
        return tuple(
            self.conn.execute(
                select(g.registry_grants.c.role).where(g.registry_grants.c.registry_id == registry_id, or_(*conds))
            ).scalars()
        )

    def registries_with_grants(self, principal_id: int | None, team_ids: tuple[int, ...]) -> dict[int, list[str]]:
        conds = []
        if principal_id is not None:
            conds.append(g.registry_grants.c.principal_id == principal_id)
        if team_ids:
            conds.append(g.registry_grants.c.team_id.in_(team_ids))
        if not conds:
            return {}
        out: dict[int, list[str]] = {}
        for rid, role in self.conn.execute(
            select(g.registry_grants.c.registry_id, g.registry_grants.c.role).where(or_(*conds))
        ):
            out.setdefault(rid, []).append(role)
        return out

    # -- alias policies -----------------------------------------------------------------------------

    def set_alias_policy(
        self,
        registry_id: int,
        collection_id: int | None,
        alias: str,
        *,
        protected: bool,
        requirements: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> bool:
        """Create or replace; returns True if it replaced an existing policy."""
        key = {"registry_id": registry_id, "collection_id": collection_id, "alias_norm": alias.lower()}
        values = {"alias": alias, "protected": protected, "requirements": requirements, "created_by": actor}
        return upsert(self.conn, g.alias_policies, key, values, now=now, old="id") is not None

    @staticmethod
    def _policy_cond(registry_id: int, collection_id: int | None, alias_norm: str) -> Any:
        coll = (
            g.alias_policies.c.collection_id.is_(None)
            if collection_id is None
            else g.alias_policies.c.collection_id == collection_id
        )
        return and_(g.alias_policies.c.registry_id == registry_id, coll, g.alias_policies.c.alias_norm == alias_norm)

    def delete_alias_policy(self, registry_id: int, collection_id: int | None, alias_norm: str) -> bool:
        result = self.conn.execute(
            delete(g.alias_policies).where(self._policy_cond(registry_id, collection_id, alias_norm))
        )
        return bool(result.rowcount)

    def list_alias_policies(self, registry_id: int, registry_name: str) -> list[AliasPolicy]:
        rows = self.conn.execute(
            select(g.alias_policies, t.collections.c.name.label("collection_name"))
            .outerjoin(t.collections, t.collections.c.id == g.alias_policies.c.collection_id)
            .where(g.alias_policies.c.registry_id == registry_id)
            .order_by(g.alias_policies.c.alias_norm, g.alias_policies.c.id)
        ).mappings()
        return [
            AliasPolicy(registry_name, r["alias"], r["collection_name"], bool(r["protected"]), r["requirements"] or {})
            for r in rows
        ]

    def effective_alias_policy(
        self, registry_id: int, collection_id: int, alias_norm: str, registry_name: str
    ) -> AliasPolicy | None:
        """The collection's override if there is one, else the registry-wide policy."""
        for cid in (collection_id, None):
            r = (
                self.conn.execute(select(g.alias_policies).where(self._policy_cond(registry_id, cid, alias_norm)))
                .mappings()
                .first()
            )
            if r is not None:
                return AliasPolicy(registry_name, r["alias"], None, bool(r["protected"]), r["requirements"] or {})
        return None

    def protected_aliases_on(self, registry_id: int, collection_id: int) -> list[str]:
        """What an effective policy protects on the collection now: the protected aliases set on it,
        and (as ``stage:<Stage>``) the protected stages one of its versions is in. Renaming or
        deleting the collection takes all of these from the name consumers resolve
        (``name@production``, ``models:/name/Production``). ``None`` is no stage: not counted."""
        aliases = select(t.aliases.c.name_norm).where(t.aliases.c.collection_id == collection_id)
        stages = (
            select(t.versions.c.stage)
            .where(t.versions.c.collection_id == collection_id, t.versions.c.stage != "None")
            .distinct()
            .order_by(t.versions.c.stage)
        )
        keys = [
            *self.conn.execute(aliases).scalars(),
            *(STAGE_POLICY_PREFIX + s for s in self.conn.execute(stages).scalars()),
        ]
        out = []
        for key in keys:
            policy = self.effective_alias_policy(registry_id, collection_id, key.lower(), "")  # policies ignore case
            alias = alias_for_stage(key[len(STAGE_POLICY_PREFIX) :]) if key.startswith(STAGE_POLICY_PREFIX) else None
            if alias is not None:  # a stage is guarded by its alias's policy too (domain.promotion.stage_guard)
                policy = stage_guard(policy, self.effective_alias_policy(registry_id, collection_id, alias, ""))
            if policy is not None and policy.protected:
                out.append(key)
        return out
