"""Who is acting, and from where: passed to every service call so the event log can say it."""

from __future__ import annotations

from dataclasses import dataclass


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


SYSTEM = Actor(name="system", kind="system")
LOCAL = Actor(name="local", kind="user")
