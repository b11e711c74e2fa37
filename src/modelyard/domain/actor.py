"""Who is acting, and from where: passed to every service call so the event log can say it."""

from __future__ import annotations

from dataclasses import dataclass

from .permissions import Principal


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal behind a request, as recorded in events.

    ``name`` is the principal's name (``local`` in single-user mode), ``kind`` is ``user``,
    ``service_account`` or ``system``.
    """

    name: str
    kind: str = "user"
    token_name: str = ""
    request_id: str = ""
    client_address: str = ""
    id: int | None = None
    org_admin: bool = False
    team_ids: tuple[int, ...] = ()

    @property
    def principal(self) -> Principal:
        return Principal(name=self.name, kind=self.kind, id=self.id, org_admin=self.org_admin, team_ids=self.team_ids)


SYSTEM = Actor(name="system", kind="system", org_admin=True)
# Single-user mode (auth off): the local operator may do everything.
LOCAL = Actor(name="local", kind="user", org_admin=True)


def local_actor(*, request_id: str = "", client_address: str = "") -> Actor:
    """Who acts on a request with auth off (API and UI alike): the local admin, with the request's ids."""
    return Actor(name=LOCAL.name, kind=LOCAL.kind, org_admin=True, request_id=request_id, client_address=client_address)
