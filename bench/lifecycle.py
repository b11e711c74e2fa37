"""Lifecycle benchmark: how fast changes reach serving processes and webhook receivers.

Starts a real server process (``uvicorn``, SQLite in a temporary folder, or PostgreSQL with
``--database-url``) and prints, for this machine:

* **alias move -> watcher sees it**: a watcher follows ``client.watch(...@production)`` while the
  alias is moved N times; latency from sending the move (and from its response) to the watcher
  receiving the change, p50/p99. With ``--processes 2`` the watcher is on a second server process
  sharing the database;
* **webhook delivery throughput**: events are created with the webhook paused, then it is
  enabled and the time until a local receiver has acknowledged every delivery is measured, for
  events spread over 20 collections (parallel) and for one collection (strictly in order).

Run ``python bench/lifecycle.py`` or ``python bench/lifecycle.py --quick``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from modelyard import Client

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(
        {
            "PYTHONPATH": str(SRC),
            "MODELYARD_DATA_DIR": str(data_dir),
            "MODELYARD_DATABASE_URL": database_url,
            "MODELYARD_BLOBS__ROOT": str(data_dir.parent / "blobs"),
            "MODELYARD_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the process
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
            "--timeout-graceful-shutdown",
            "5",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start: {(data_dir / 'server.log').read_text()[-2000:]}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def push(client: Client, tmp: Path, path: str, n: int) -> int:
    folder = tmp / f"{path.replace('/', '_')}-{n}"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"n": n}))
    return client.push(folder, path).number


def bench_watch(write_url: str, watch_url: str, tmp: Path, moves: int) -> dict[str, float]:
    client = Client(write_url)
    v1, v2 = push(client, tmp, "models/bench-watch", 1), push(client, tmp, "models/bench-watch", 2)
    client.set_alias("models/bench-watch", "production", v1)
    seen: queue.Queue[tuple[int, float]] = queue.Queue()
    watcher = Client(watch_url)

    def follow() -> None:
        try:
            for change in watcher.watch("models/bench-watch@production"):
                seen.put((change.event_id, time.perf_counter()))
        except Exception:  # closed at the end
            return

    threading.Thread(target=follow, daemon=True).start()
    seen.get(timeout=30)  # current
    from_send, from_commit = [], []
    for i in range(moves):
        t0 = time.perf_counter()
        client.set_alias("models/bench-watch", "production", v2 if i % 2 == 0 else v1)
        t1 = time.perf_counter()
        _, t2 = seen.get(timeout=30)
        from_send.append((t2 - t0) * 1000)
        from_commit.append(max(0.0, t2 - t1) * 1000)
        time.sleep(0.02)
    watcher.close()
    client.close()
    return {
        "p50_send": pct(from_send, 50),
        "p99_send": pct(from_send, 99),
        "p50_commit": pct(from_commit, 50),
        "p99_commit": pct(from_commit, 99),
    }


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink.lock:
                    sink.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def bench_webhooks(url: str, tmp: Path, events: int, collections: int, label: str) -> float:
    client = Client(url)
    sink = Sink()
    name = f"bench-{label}"
    names = [f"wh-{label}-{i}" for i in range(collections)]
    numbers = {c: push(client, tmp, f"models/{c}", 1) for c in names}
    client.create_webhook("models", name, sink.url, events=["version.tag_set"], active=False)
    for i in range(events):
        c = names[i % collections]
        client.set_version_tag(f"models/{c}:{numbers[c]}", "i", str(i))
    start = time.perf_counter()
    client.update_webhook("models", name, active=True)
    deadline = start + 600
    while sink.count < events and time.perf_counter() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    client.delete_webhook("models", name)
    client.close()
    sink.server.shutdown()
    return sink.count / elapsed


def bench_rollback(url: str, tmp: Path, rounds: int) -> dict[str, float]:
    """Latency of ``rollback`` over HTTP (alias moved forward, then rolled back), p50/p99 in ms."""
    client = Client(url)
    versions = [push(client, tmp, "models/bench-rollback", n) for n in (1, 2)]
    client.set_alias("models/bench-rollback", "production", versions[0])
    times = []
    for _ in range(rounds):
        client.set_alias("models/bench-rollback", "production", versions[1])
        t0 = time.perf_counter()
        back = client.rollback("models/bench-rollback", "production")
        times.append((time.perf_counter() - t0) * 1000)
        assert back.number == versions[0]
    client.close()
    return {"p50": pct(times, 50), "p99": pct(times, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer moves and events")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temporary folder)")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2), help="watch on a second process")
    args = parser.parse_args()
    moves, events = (50, 300) if args.quick else (300, 2000)
    print(
        f"modelyard lifecycle bench: {platform.platform()}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmpdir:
        tmp = Path(tmpdir)
        db = args.database_url or f"sqlite:///{tmp / 'modelyard.db'}"
        procs = [start_server(db, tmp / "a")]
        if args.processes == 2:
            procs.append(start_server(db, tmp / "b"))
        try:
            w = bench_watch(procs[0][1], procs[-1][1], tmp / "w", moves)
            print(
                f"alias move -> watcher ({moves} moves, {args.processes} process(es), "
                f"{db.split(':', 1)[0]}): from sending the move p50 {w['p50_send']:.1f} ms, "
                f"p99 {w['p99_send']:.1f} ms; after its response p50 {w['p50_commit']:.1f} ms, "
                f"p99 {w['p99_commit']:.1f} ms"
            )
            rb = bench_rollback(procs[0][1], tmp / "r", moves)
            print(f"rollback over HTTP ({moves} rollbacks): p50 {rb['p50']:.1f} ms, p99 {rb['p99']:.1f} ms")
            many = bench_webhooks(procs[0][1], tmp / "h1", events, 20, "many")
            one = bench_webhooks(procs[0][1], tmp / "h2", events // 4, 1, "one")
            print(
                f"webhook deliveries: {many:.0f}/s over 20 collections ({events} events), "
                f"{one:.0f}/s within one collection, in order ({events // 4} events)"
            )
        finally:
            for proc, _ in procs:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
