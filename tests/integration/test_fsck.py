"""``modelyard fsck`` against the data a real server wrote, on SQLite and PostgreSQL.

A clean store passes (exit 0); then each kind of damage, done behind the server's back
(bytes of a blob, a deleted blob, alias rows pointed elsewhere by SQL, an edited event),
is reported on its own and makes the command exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from .conftest import Server


def _fsck(srv: Server, *args: str) -> tuple[int, dict[str, Any]]:
    result = srv.cli("fsck", "--json", *args, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _kinds(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((p["kind"], p["subject"]) for p in report["problems"])


def _blob_file(srv: Server, digest: str) -> Path:
    hexpart = digest.removeprefix("sha256:")
    return srv.data_dir / "blobs" / "v1" / "blobs" / "sha256" / hexpart[:2] / hexpart


def _sql(srv: Server, statement: str, **params: Any) -> None:
    """Run one statement with foreign keys not enforced (what a hand edit or a broken restore can do)."""
    url = srv.database_url or f"sqlite:///{srv.data_dir / 'modelyard.db'}"
    url = url.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _no_fk(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    with engine.begin() as conn:
        if not url.startswith("sqlite"):
            conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text(statement), params)
    engine.dispose()


def test_fsck_passes_a_clean_store_and_reports_each_kind_of_damage(server: Server, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.bin").write_bytes(b"w" * 5000)
    (src / "config.json").write_text('{"layers": 3}')
    server.cli("push", str(src), "models/x", "--alias", "champion")
    (src / "config.json").write_text('{"layers": 4}')
    v2 = json.loads(server.cli("push", str(src), "models/x", "--alias", "staging", "--json").stdout)
    server.cli("push", str(src), "models/y", "--alias", "prod")
    server.stop()

    rc, clean = _fsck(server)
    assert rc == 0 and clean["ok"] is True and clean["problems"] == []
    assert clean["blobs_total"] == 3 and clean["blobs_hashed"] == 3
    assert clean["file_refs"] == 6 and clean["aliases"] == 3 and clean["events"] >= 6
    rc, sampled = _fsck(server, "--sample", "1", "--seed", "7")
    assert rc == 0 and sampled["blobs_hashed"] == 1 and sampled["blobs_total"] == 3

    digests = {f["path"]: f["digest"] for f in v2["files"]}
    weights, config = digests["weights.bin"], digests["config.json"]

    # 1. a blob's bytes change on disk (bit rot, a bad restore): the re-hash catches it
    blob = _blob_file(server, weights)
    blob.write_bytes(b"W" + blob.read_bytes()[1:])
    rc, report = _fsck(server)
    assert rc == 1 and report["ok"] is False
    assert _kinds(report) == [("blob_corrupt", weights)]

    # 2. a blob the metadata references is gone: every referencing file is named
    _blob_file(server, config).unlink()
    rc, report = _fsck(server)
    assert rc == 1
    assert _kinds(report) == [
        ("blob_corrupt", weights),
        ("blob_missing", "models/x:2 config.json"),
        ("blob_missing", "models/y:1 config.json"),
    ]
    blob.write_bytes(b"w" * 5000)  # repair 1 and 2, so the next damage is seen alone
    _blob_file(server, config).write_text('{"layers": 4}')
    assert _fsck(server) == (0, clean)

    # 3. alias rows edited by SQL: one at a version row that does not exist, one at another collection's version
    _sql(server, "UPDATE aliases SET version_id = 999999 WHERE name = 'champion'")
    _sql(
        server,
        "UPDATE aliases SET version_id = (SELECT version_id FROM aliases WHERE name = 'staging') WHERE name = 'prod'",
    )
    rc, report = _fsck(server)
    assert rc == 1
    assert _kinds(report) == [("alias_dangling", "models/x@champion"), ("alias_wrong_collection", "models/y@prod")]

    # 4. an audit event rewritten in place: the hash chain breaks at that event
    _sql(server, "DELETE FROM aliases WHERE name IN ('champion', 'prod')")
    assert _fsck(server)[0] == 0
    _sql(server, "UPDATE events SET actor = 'mallory' WHERE id = 2")
    rc, report = _fsck(server)
    assert rc == 1 and _kinds(report) == [("audit_chain_broken", "event 2")]
    assert "modified after it was written" in report["problems"][0]["message"]

    human = server.cli("fsck", check=False)
    assert human.returncode == 1
    assert "audit_chain_broken: audit chain: event 2 was modified" in human.stdout
    assert human.stdout.rstrip().endswith(": 1 problem")


def test_fsck_refuses_to_create_a_database(tmp_path: Path) -> None:
    srv = Server(tmp_path / "nothing-here", None)
    result = srv.cli("fsck", check=False)
    assert result.returncode == 1
    assert f"no modelyard database at sqlite:///{tmp_path / 'nothing-here' / 'modelyard.db'}" in result.stderr
    assert not (tmp_path / "nothing-here").exists()
