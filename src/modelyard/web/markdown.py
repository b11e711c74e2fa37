"""Markdown to safe HTML for descriptions: CommonMark with raw HTML disabled.

``html=False`` makes markdown-it escape any HTML in the source instead of passing it
through, and its link validator refuses ``javascript:``, ``vbscript:``, ``file:`` and
non-image ``data:`` URLs. What comes out is markup markdown-it generated itself.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render(text: str) -> Markup:
    """Sanitized HTML for ``text`` (safe to insert unescaped into a page)."""
    return Markup(_MD.render(text or ""))  # noqa: S704 - markdown-it escaped every raw HTML fragment
