"""The web UI: server-rendered pages over the same services as ``/api/v1`` (no rule of its own).

``install(app)`` mounts the pages at ``/`` and the static files at ``/static``. This package
imports services and domain, never ``modelyard.api`` (the API edge mounts the UI, not the
other way round).
"""

from __future__ import annotations

from .views import error_page, install, is_ui_path, is_ui_request, session_token_for

__all__ = ["error_page", "install", "is_ui_path", "is_ui_request", "session_token_for"]
