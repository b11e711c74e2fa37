"""The server refuses a database whose schema is not at head, and names the command that fixes it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from modelyard.storage.sql import schema

from .conftest import Server, sqlalchemy_url


def _refused(srv: Server) -> str:
    proc = srv.spawn()
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        srv.stop()
        raise AssertionError(f"the server started on an outdated schema:\n{srv.log()}") from None
    assert code != 0
    return srv.log()


def test_serve_refuses_a_schema_behind_head_until_db_upgrade(make_server: Callable[..., Server]) -> None:
    srv = make_server()
    srv.data_dir.mkdir(parents=True)
    head = schema.head_revision()
    previous = ScriptDirectory.from_config(schema._config()).get_revision(head).down_revision
    assert isinstance(previous, str), "need at least two migrations to test an outdated schema"
    engine = create_engine(sqlalchemy_url(srv))
    schema.upgrade(engine, previous)  # a database created by the previous release
    engine.dispose()

    log = _refused(srv)
    assert "modelyard db upgrade" in log and head in log
    gc = srv.cli("gc", "--json", check=False)
    assert gc.returncode != 0 and "modelyard db upgrade" in gc.stderr

    upgraded = srv.cli("db", "upgrade")
    assert f"{previous} -> {head}" in upgraded.stdout
    srv.start()
    assert httpx.get(f"{srv.url}/api/v1/health").json()["status"] == "ok"


def test_serve_refuses_an_unknown_schema_revision(make_server: Callable[..., Server]) -> None:
    srv = make_server().start()
    srv.stop()
    engine = create_engine(sqlalchemy_url(srv))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    engine.dispose()

    log = _refused(srv)
    assert "f00dfeedbeef" in log and "modelyard db upgrade" in log
