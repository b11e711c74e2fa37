"""The use cases: one unit of work per public method; every change appends its event.

Imports ``domain``, ``errors`` and ``storage.interfaces`` only, never a concrete adapter
(``storage.sql``, ``storage.blobs``), SQLAlchemy or FastAPI (import-linter checks this).
"""
