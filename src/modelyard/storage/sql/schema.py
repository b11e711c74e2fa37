"""Schema management through Alembic: upgrade to head, and check the database is at head.

The server never runs ``create_all``; it refuses to start on an outdated schema and names
the command that fixes it.
"""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError

from modelyard.errors import SchemaOutdatedError, UnavailableError

UPGRADE_COMMAND = "modelyard db upgrade"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "modelyard.storage.sql:migrations")
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this code (loading the scripts is slow; they never change at runtime)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_empty(engine: Engine) -> bool:
    """True when the database has no tables; ``UnavailableError`` naming it when it cannot be reached."""
    try:
        return not inspect(engine).get_table_names()
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        raise UnavailableError(f"cannot open the metadata database {url}: {exc.orig}", database_url=url) from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction.

    On SQLite, with foreign keys off while they run: a migration that changes a column or a
    constraint rebuilds the table (Alembic's batch mode: copy, ``DROP TABLE``, rename), and with
    ``foreign_keys=ON`` that ``DROP TABLE`` cascades to every child row (a rebuilt ``collections``
    lost all its versions and aliases). The pragma only changes outside a transaction, so it is
    set before ``BEGIN``; the references are checked before the commit, and the connection gets
    its previous setting back.
    """
    cfg = _config()
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        enforced = None
        if raw is not None:
            enforced = raw.execute("PRAGMA foreign_keys").fetchone()[0]
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows whose references are gone: {broken[:5]}")
        finally:
            if raw is not None and enforced:
                raw.execute("PRAGMA foreign_keys=ON")


def check_at_head(engine: Engine) -> None:
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        raise SchemaOutdatedError(
            f"the database schema is at {current or 'nothing'}, this modelyard needs {head}; "
            f"run '{UPGRADE_COMMAND}' (back up the database first)",
            current=current,
            head=head,
        )
