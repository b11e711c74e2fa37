"""The Python SDK. Imports only ``schemas``, ``errors`` and httpx (no server extras needed)."""

from __future__ import annotations

from ._client import Client
from .pager import Pager

__all__ = ["Client", "Pager"]
