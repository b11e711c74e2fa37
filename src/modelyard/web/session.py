"""The UI's session cookie and CSRF token: HMAC-SHA256 signed, verified in constant time.

Cookie ``modelyard_session`` = ``<payload>.<mac>``, where payload is url-safe base64 of
``{"csrf": <random>, "token": <API token or "">, "iat": <unix seconds>}`` and mac is
HMAC-SHA256(key, payload). Every visitor gets one (signed in or not), so every form, the
sign-in form included, carries the session's ``csrf`` value and a POST is accepted only when
the form's value equals the cookie's (``hmac.compare_digest``). A cross-site page can neither
read the cookie (HttpOnly, SameSite=Lax) nor forge the MAC.

The API token is re-authenticated on every request (``IdentityService.authenticate``), so
revoking the token or disabling its principal ends the session at once. No server state:
any number of processes share the sessions when they share ``ui_session_key``.

Imports nothing of ours but settings-free stdlib: pure functions a reviewer can check in a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "modelyard_session"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    token: str = ""
    issued_at: int = 0

    @property
    def signed_in(self) -> bool:
        return bool(self.token)


def new_session(token: str = "") -> Session:
    """A fresh session (new CSRF value): on first visit, on sign-in and on sign-out."""
    return Session(csrf=secrets.token_urlsafe(24), token=token, issued_at=int(time.time()))


def _mac(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def dump(key: bytes, session: Session) -> str:
    """The cookie value for ``session``."""
    body = json.dumps({"csrf": session.csrf, "token": session.token, "iat": session.issued_at}).encode()
    payload = base64.urlsafe_b64encode(body).rstrip(b"=")
    return f"{payload.decode()}.{_mac(key, payload)}"


def load(key: bytes, value: str | None, *, now: float | None = None) -> Session | None:
    """The session in a cookie value, or None when it is absent, forged, malformed or too old."""
    if not value or "." not in value:
        return None
    payload, _, mac = value.rpartition(".")
    if not hmac.compare_digest(_mac(key, payload.encode()), mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = Session(csrf=str(data["csrf"]), token=str(data["token"]), issued_at=int(data["iat"]))
    except (ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - session.issued_at > MAX_AGE_SECONDS:
        return None
    return session


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    """Whether a form's CSRF value matches its session's (both present)."""
    return bool(session and submitted) and hmac.compare_digest(session.csrf, str(submitted))  # type: ignore[union-attr]
