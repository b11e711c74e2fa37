"""The event log as an outbox and a feed: webhook delivery (signing, secret encryption, SSRF
guard, the delivery worker) and watch streams.

Imports ``storage.interfaces``, ``domain`` and ``errors``; never ``api``, ``cli`` or a concrete
storage adapter (the worker is handed a ``Database``).
"""
