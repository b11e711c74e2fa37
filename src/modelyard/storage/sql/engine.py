"""Engines and units of work for SQLite and PostgreSQL.

SQLite: WAL, ``foreign_keys=ON``, a busy timeout, and writes in ``BEGIN IMMEDIATE`` so one
writer runs at a time (which also serializes version-number allocation). Reads use a
separate engine that begins deferred transactions, so readers never wait for a writer.
PostgreSQL: one engine, READ COMMITTED; writers lock the rows they update.

A full disk under the database (SQLite ``SQLITE_FULL``, "database or disk is full";
PostgreSQL SQLSTATE 53100 ``disk_full``) is an ``InsufficientStorageError`` (507), not an
``UnavailableError``: the transaction rolled back, and retrying cannot help until space is freed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from modelyard.errors import InsufficientStorageError, UnavailableError

from .store import SqlMetadataStore

SQLITE_BUSY_TIMEOUT_MS = 60_000
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL
_PG_DISK_FULL = "53100"
SQLITE_POOL_SIZE = 8


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL; None for other databases and in-memory SQLite."""
    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def display_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    # Pooled, not NullPool: closing the last connection to a WAL database checkpoints it and
    # fsyncs, so a fresh connection per unit of work made every request pay for a checkpoint
    # (bench/core.py: register-version ~2x faster). Overflow is unbounded so nothing waits on the pool.
    pool: dict[str, Any] = {} if ":memory:" in url else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": -1}
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Owns the engines; hands out units of work (``with db.unit_of_work(write=True) as store``)."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        # SQLite has one writer at a time. Within a process, writers queue on this lock instead of
        # spinning in SQLite's busy handler (whose growing sleeps made the p99 of concurrent
        # commits near a second); across processes the busy timeout still arbitrates.
        self._write_lock: threading.RLock | None = None
        self._commit_listeners: list[Callable[[], None]] = []
        if self.dialect == "sqlite":
            self._write = _sqlite_engine(self.url, immediate=True)
            self._read = _sqlite_engine(self.url, immediate=False)
            self._write_lock = threading.RLock()
        else:
            self._write = create_engine(self.url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
            self._read = self._write

    @property
    def engine(self) -> Engine:
        return self._write

    @contextmanager
    def unit_of_work(self, *, write: bool) -> Iterator[SqlMetadataStore]:
        """One transaction: commits when the block ends without an exception, else rolls back."""
        engine = self._write if write else self._read
        lock = self._write_lock if write else None
        committed = False
        if lock is not None:
            lock.acquire()
        try:
            try:
                conn = engine.connect()
            except OperationalError as exc:
                self._raise_if_disk_full(exc)
                raise UnavailableError("the metadata database is unavailable", backend=self.dialect) from exc
            try:
                with conn.begin():
                    yield SqlMetadataStore(conn, dialect=self.dialect)
                committed = write
            except OperationalError as exc:
                self._raise_if_disk_full(exc)
                raise UnavailableError("the metadata database failed the request; retry", backend=self.dialect) from exc
            finally:
                conn.close()
        finally:
            if lock is not None:
                lock.release()
        if committed:
            for listener in list(self._commit_listeners):
                listener()

    def _raise_if_disk_full(self, exc: OperationalError) -> None:
        orig = exc.orig
        full = (
            getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL
            or "database or disk is full" in str(orig)
            or getattr(orig, "sqlstate", None) == _PG_DISK_FULL
        )
        if full:
            raise InsufficientStorageError(
                "the metadata database's disk is full: nothing was changed; try again once an operator has freed space",
                backend=self.dialect,
            ) from exc

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every write unit of work this process commits (must be quick)."""
        self._commit_listeners.append(listener)

    def dispose(self) -> None:
        self._write.dispose()
        if self._read is not self._write:
            self._read.dispose()
