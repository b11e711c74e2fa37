"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` under the webhook's secret.

Pure functions, shared by the delivery worker and by receivers (tests, docs/webhooks.md show
the same ``verify`` a receiver writes). Headers a delivery carries:

- ``X-Modelyard-Event``: the event action (``alias.set``) or ``ping``.
- ``X-Modelyard-Delivery``: the delivery id (unique per attempt series; a redelivery gets a new one).
- ``X-Modelyard-Timestamp``: Unix seconds when the attempt was signed.
- ``X-Modelyard-Signature``: ``sha256=<hex>`` (only when the webhook has a secret).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Modelyard-Signature"
TIMESTAMP_HEADER = "X-Modelyard-Timestamp"
DELIVERY_HEADER = "X-Modelyard-Delivery"
EVENT_HEADER = "X-Modelyard-Event"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Modelyard-Signature`` value for ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str | bytes,
    *,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``signature`` is valid for ``body`` and ``timestamp`` is within ``tolerance`` seconds.

    Compares in constant time. The timestamp check stops replays of an old captured delivery.
    """
    if not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
