"""Benchmark of the MLflow-compatible API: ops/s and p50/p99 latency per operation at
concurrency 1 and 8, against a real server process holding N registered models (default 20,000).

    PYTHONPATH=src python bench/mlflow_api.py                       # SQLite in a temp dir
    PYTHONPATH=src python bench/mlflow_api.py \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_db

The registered models are bulk-inserted into the database first (see ``seed``), then the server
is started and every operation is driven over HTTP with
MLflow's own request shapes (what the mlflow client sends).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from modelyard.bootstrap import build_registry  # noqa: E402
from modelyard.settings import Settings  # noqa: E402

API = "/api/2.0/mlflow"


def seed(settings: Settings, n: int) -> None:
    """Bulk-insert ``n`` collections (every one tagged ``team=team-<i % 50>``) into ``models``.

    A benchmark fixture only: rows go straight into the tables in batches (no per-row events),
    because creating 20,000 models one request at a time would take longer than the benchmark.
    """
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from modelyard.storage.sql import tables as t

    svc = build_registry(settings)
    start = time.perf_counter()
    now = datetime.now(UTC)
    with svc.db.engine.begin() as conn:
        reg_id = conn.execute(select(t.registries.c.id).where(t.registries.c.name == "models")).scalar_one()
        for lo in range(0, n, 5000):
            rows = [
                {
                    "registry_id": reg_id,
                    "name": f"seed-{i:06d}",
                    "name_norm": f"seed-{i:06d}",
                    "artifact_type": "model",
                    "description": "",
                    "next_version": 1,
                    "latest_version": None,
                    "created_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(lo, min(n, lo + 5000))
            ]
            conn.execute(insert(t.collections), rows)
        ids = conn.execute(
            select(t.collections.c.id, t.collections.c.name).where(t.collections.c.name.like("seed-%"))
        ).all()
        for lo in range(0, len(ids), 5000):
            conn.execute(
                insert(t.collection_tags),
                [
                    {
                        "collection_id": cid,
                        "key": "team",
                        "value": f"team-{int(name[5:]) % 50}",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid, name in ids[lo : lo + 5000]
                ],
            )
    svc.close()
    print(f"seeded {n} registered models in {time.perf_counter() - start:.1f}s")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "modelyard.api.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/3.0/mlflow/server-info", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def run(
    label: str, op: Callable[[httpx.Client, int], httpx.Response], *, url: str, total: int, concurrency: int
) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))
    errors = 0

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                r = op(client, i)
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    if r.status_code != 200:
                        errors += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(
        f"{label:<28} c={concurrency:<2} {total / wall:>9.1f} ops/s   p50 {p50:>7.2f} ms   p99 {p99:>7.2f} ms"
        + (f"   ERRORS {errors}" if errors else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=20_000, help="registered models to seed (default 20000)")
    ap.add_argument("--ops", type=int, default=400, help="operations per measurement (default 400)")
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    args = ap.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="modelyard-bench-"))
    env = {"MODELYARD_DATA_DIR": str(data_dir)}
    if args.database_url:
        env["MODELYARD_DATABASE_URL"] = args.database_url
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    seed(settings, args.models)
    proc, url = start_server(env)
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"backend={backend} registered_models={args.models} ops_per_measurement={args.ops}")
    try:
        tag = secrets.token_hex(3)
        with httpx.Client(base_url=url) as c:  # the model the per-version operations work on
            c.post(f"{API}/registered-models/create", json={"name": f"bench-{tag}"}).raise_for_status()
            for _ in range(20):
                c.post(
                    f"{API}/model-versions/create", json={"name": f"bench-{tag}", "source": "s3://bucket/model"}
                ).raise_for_status()
        target = f"bench-{tag}"
        for conc in (1, 8):
            run(
                "create registered model",
                lambda c, i, k=conc: c.post(f"{API}/registered-models/create", json={"name": f"new-{tag}-{k}-{i}"}),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "create model version",
                lambda c, i, k=conc: c.post(
                    f"{API}/model-versions/create", json={"name": f"new-{tag}-{k}-{i}", "source": "s3://b/m"}
                ),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "set alias",
                lambda c, i: c.post(
                    f"{API}/registered-models/alias",
                    json={"name": target, "alias": f"a{i % 10}", "version": str(1 + i % 20)},
                ),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "get alias",
                lambda c, i: c.get(f"{API}/registered-models/alias", params={"name": target, "alias": f"a{i % 10}"}),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "get model version",
                lambda c, i: c.get(f"{API}/model-versions/get", params={"name": target, "version": str(1 + i % 20)}),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "search name prefix",
                lambda c, i: c.get(
                    f"{API}/registered-models/search",
                    params={
                        "filter": f"name LIKE 'seed-01{i % 100:02d}%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
                        "max_results": 100,
                    },
                ),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "search by tag",
                lambda c, i: c.get(
                    f"{API}/registered-models/search",
                    params={"filter": f"tags.team = 'team-{i % 50}'", "max_results": 100},
                ),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
            run(
                "transition stage",
                lambda c, i: c.post(
                    f"{API}/model-versions/transition-stage",
                    json={
                        "name": target,
                        "version": str(1 + i % 20),
                        "stage": "Staging" if i % 2 else "Production",
                        "archive_existing_versions": True,
                    },
                ),
                url=url,
                total=args.ops,
                concurrency=conc,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
