"""The ``modelyard`` command line: ``modelyard <noun> <verb>``, everyday verbs at the top.

Client commands talk to a server through the SDK (``--url`` / ``MODELYARD_URL``, token from
``MODELYARD_TOKEN``); ops commands (``serve``, ``db``, ``gc``) work on the data directly
and need the ``server`` extra. Every command that prints data takes ``--json``.
"""

from __future__ import annotations

from .main import main

__all__ = ["main"]
