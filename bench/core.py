"""Core benchmark of the embedded server (a real ``modelyard serve`` process, SQLite, local disk).

Prints, for this machine:

* raw disk write (+fsync) and read throughput of a large file, next to the push and pull
  throughput of the same size through the server;
* a re-push of identical content (bytes sent, seconds);
* peak RSS of the server and of the client during the large push and pull;
* register-version and resolve-alias operations per second with p50/p99 latency at
  concurrency 1 and 8;
* search latency (p50/p99) for a name prefix, a substring and a tag filter at 1,000 and at
  100,000 collections (1,000,000 versions), seeded with bulk SQL inserts.

Run ``python bench/core.py`` (full) or ``python bench/core.py --quick``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from modelyard import Client

MiB = 1024 * 1024
GiB = 1024 * MiB
BLOCK = 8 * MiB
WORDS = [
    "fraud",
    "churn",
    "ranker",
    "embed",
    "vision",
    "speech",
    "llm",
    "forecast",
    "recsys",
    "ner",
    "detector",
    "classifier",
    "segmenter",
    "tagger",
    "scorer",
    "encoder",
]


# -- helpers ------------------------------------------------------------------------------------------


def mbps(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:8.1f} MB/s"


def mib(n: int) -> str:
    return f"{n / MiB:7.1f} MiB"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def lat(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:7.2f} ms   p99 {pct(values, 99) * 1000:7.2f} ms"


def evict(path: Path) -> None:
    """Drop a file from the page cache so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class PeakRSS:
    """Samples the resident set size of a process (and its children) in a background thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def modelyard_command() -> list[str]:
    exe = shutil.which("modelyard")
    return [exe] if exe else [sys.executable, "-c", "import sys; from modelyard.cli import main; sys.exit(main())"]


@contextmanager
def server(data_dir: Path) -> Iterator[tuple[str, int]]:
    """A ``modelyard serve`` process on SQLite + local disk; yields (url, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir.parent / f"{data_dir.name}-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [*modelyard_command(), "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server not healthy; see {log.name}")
            time.sleep(0.05)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# -- 1. disk baseline, large push / pull, re-push --------------------------------------------------------


def disk_baseline(path: Path, size: int) -> tuple[float, float]:
    """dd-like: write ``size`` bytes in 8 MiB blocks + fsync, then read them back uncached."""
    block = bytearray(os.urandom(BLOCK))
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for i in range(size // BLOCK):
            block[:8] = i.to_bytes(8, "big")  # every block distinct
            f.write(block)
        f.write(os.urandom(size % BLOCK))
        f.flush()
        os.fsync(f.fileno())
    write_s = time.perf_counter() - t0
    evict(path)
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.read(BLOCK):
            pass
    read_s = time.perf_counter() - t0
    return write_s, read_s


def blob_path(data_dir: Path, digest: str) -> Path:
    hexd = digest.split(":", 1)[1]
    return data_dir / "blobs" / "v1" / "blobs" / "sha256" / hexd[:2] / hexd


def bench_transfer(work: Path, size: int) -> None:
    print(f"\n== large file: {size / GiB:.2f} GiB (push = hash + upload + commit; pull = download + verify) ==")
    src = work / "big.bin"
    write_s, read_s = disk_baseline(src, size)
    print(f"  disk write+fsync (dd-like)   {mbps(size, write_s)}   ({write_s:6.2f} s)")
    print(f"  disk read, uncached          {mbps(size, read_s)}   ({read_s:6.2f} s)")

    data_dir = work / "server"
    with server(data_dir) as (url, pid), Client(url, timeout=3600) as client:
        me = os.getpid()
        evict(src)
        marks: dict[str, float] = {}
        sent = [0]

        def on_upload(n: int) -> None:
            marks.setdefault("upload", time.perf_counter())
            sent[0] += n

        with PeakRSS(pid) as srv_rss, PeakRSS(me) as cli_rss:
            t0 = time.perf_counter()
            v = client.push(src, "models/bench-big", on_upload=on_upload)
            push_s = time.perf_counter() - t0
        hash_s = marks["upload"] - t0
        upload_s = push_s - hash_s
        print(
            f"  push                         {mbps(size, push_s)}   ({push_s:6.2f} s: hash {hash_s:.2f} s, "
            f"upload+verify+commit {upload_s:.2f} s = {mbps(size, upload_s).strip()})"
        )
        print(f"    peak RSS  server {mib(srv_rss.peak)}   client {mib(cli_rss.peak)}")

        evict(blob_path(data_dir, v.files[0].digest))  # type: ignore[index]
        dest = work / "pulled"
        with PeakRSS(pid) as srv_rss, PeakRSS(me) as cli_rss:
            t0 = time.perf_counter()
            client.pull("models/bench-big:1", dest)
            pull_s = time.perf_counter() - t0
        print(f"  pull (uncached blob)         {mbps(size, pull_s)}   ({pull_s:6.2f} s, sha256 verified, no fsync)")
        print(f"    peak RSS  server {mib(srv_rss.peak)}   client {mib(cli_rss.peak)}")
        shutil.rmtree(dest)

        sent[0] = 0
        t0 = time.perf_counter()
        v2 = client.push(src, "models/bench-big", on_upload=on_upload)
        repush_s = time.perf_counter() - t0
        print(
            f"  re-push identical content    {sent[0]} bytes sent, {repush_s:.2f} s (local hashing), "
            f"version {v2.number}"
        )
    src.unlink()
    shutil.rmtree(data_dir, ignore_errors=True)


# -- 2. register-version and resolve-alias ops --------------------------------------------------------


def run_ops(url: str, op: Callable[[httpx.Client], None], total: int, concurrency: int) -> tuple[float, list[float]]:
    per_worker = total // concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            op(http)  # warm the connection
            for _ in range(per_worker):
                t = time.perf_counter()
                op(http)
                latencies[i].append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.perf_counter() - t0
    flat = [x for part in latencies for x in part]
    return len(flat) / wall, flat


def bench_ops(work: Path, n: int) -> None:
    print(f"\n== metadata operations ({n} per run; HTTP keep-alive, one httpx client per thread) ==")
    data_dir = work / "ops"
    with server(data_dir) as (url, _pid), Client(url) as client:
        f = work / "weights.bin"
        f.write_bytes(os.urandom(4096))
        v = client.push(f, "models/bench-ops", aliases=["champion"])
        manifest = {"files": [{"path": x.path, "digest": x.digest, "size": x.size} for x in v.files or []]}

        def register(http: httpx.Client) -> None:
            r = http.post("/api/v1/registries/models/collections/bench-ops/versions", json=manifest)
            if r.status_code != 201:
                raise SystemExit(f"register failed: {r.status_code} {r.text}")

        def resolve(http: httpx.Client) -> None:
            r = http.get("/api/v1/resolve", params={"path": "models/bench-ops:champion"})
            if r.status_code != 200:
                raise SystemExit(f"resolve failed: {r.status_code} {r.text}")

        for name, op in (("register-version", register), ("resolve-alias", resolve)):
            for conc in (1, 8):
                rate, lats = run_ops(url, op, n, conc)
                print(f"  {name:17s} c={conc}   {rate:8.1f} ops/s   {lat(lats)}")
    shutil.rmtree(data_dir, ignore_errors=True)


# -- 3. search at scale, seeded with bulk SQL ---------------------------------------------------------------


def seed(data_dir: Path, collections: int, versions: int) -> float:
    """Fill a fresh database through SQLAlchemy Core bulk inserts into the tables of storage/sql/tables.py."""
    from sqlalchemy import create_engine, event, insert

    from modelyard.storage.sql import schema
    from modelyard.storage.sql import tables as t

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{data_dir / 'modelyard.db'}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    schema.upgrade(engine)
    t0 = time.perf_counter()
    rng = random.Random(42)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    per = max(1, versions // collections)
    batch = 20_000
    with engine.begin() as conn:
        for rid, name in ((1, "models"), (2, "datasets")):
            conn.execute(
                insert(t.registries),
                [
                    {
                        "id": rid,
                        "name": name,
                        "description": "",
                        "artifact_types": ["model"] if rid == 1 else ["dataset"],
                        "visibility": "organization",
                        "created_at": base,
                        "updated_at": base,
                    }
                ],
            )

        def flush(table: Any, rows: list[dict[str, Any]]) -> None:
            if rows:
                conn.execute(insert(table), rows)
                rows.clear()

        cols: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for cid in range(1, collections + 1):
            name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{cid:06d}"
            at = base + timedelta(seconds=cid)
            cols.append(
                {
                    "id": cid,
                    "registry_id": 1,
                    "name": name,
                    "name_norm": name,
                    "artifact_type": "model",
                    "description": "",
                    "next_version": per + 1,
                    "latest_version": per,
                    "created_by": "bench",
                    "created_at": at,
                    "updated_at": at,
                }
            )
            tags.append(
                {
                    "collection_id": cid,
                    "key": "team",
                    "value": f"team-{cid % 50:02d}",
                    "created_at": at,
                    "updated_at": at,
                }
            )
            tags.append(
                {"collection_id": cid, "key": "task", "value": rng.choice(WORDS), "created_at": at, "updated_at": at}
            )
            if len(cols) >= batch:
                flush(t.collections, cols)
                flush(t.collection_tags, tags)
        flush(t.collections, cols)
        flush(t.collection_tags, tags)

        vers: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        aliases: list[dict[str, Any]] = []
        vid = 0
        for cid in range(1, collections + 1):
            at = base + timedelta(seconds=cid)
            for number in range(1, per + 1):
                vid += 1
                digest = "sha256:" + hashlib.sha256(vid.to_bytes(8, "big")).hexdigest()
                vers.append(
                    {
                        "id": vid,
                        "collection_id": cid,
                        "number": number,
                        "artifact_type": "model",
                        "stage": "None",
                        "description": "",
                        "run_id": f"run-{vid}",
                        "run_url": "",
                        "params": {"lr": 0.001},
                        "metrics": {"auc": 0.9},
                        "datasets": [],
                        "framework": "",
                        "flavor": "",
                        "signature": None,
                        "source": "",
                        "size": 1024,
                        "file_count": 1,
                        "digest": digest,
                        "created_by": "bench",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                files.append({"version_id": vid, "path": "model.bin", "digest": digest, "size": 1024})
            if cid % 3 == 0:
                aliases.append(
                    {
                        "collection_id": cid,
                        "name": "champion",
                        "name_norm": "champion",
                        "version_id": vid,
                        "created_by": "bench",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            if len(vers) >= batch:
                flush(t.versions, vers)
                flush(t.version_files, files)
                flush(t.aliases, aliases)
        flush(t.versions, vers)
        flush(t.version_files, files)
        flush(t.aliases, aliases)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - t0


def bench_search(work: Path, scales: list[tuple[int, int]], repeats: int) -> None:
    print(f"\n== search over HTTP (page_size 50, {repeats} requests per query) ==")
    for collections, versions in scales:
        data_dir = work / f"search-{collections}"
        seed_s = seed(data_dir, collections, versions)
        print(f"  {collections:,} collections, {versions:,} versions (bulk-seeded in {seed_s:.1f} s)")
        queries = {
            "name prefix 'fraud'": {"q": "fraud", "match": "prefix"},
            "substring 'ranker'": {"q": "ranker", "match": "substring"},
            "substring, rare '000123'": {"q": "000123", "match": "substring"},
            "tag team=team-07": {"tag": "team=team-07"},
            "tag + prefix": {"tag": "team=team-07", "q": "vision", "match": "prefix"},
            "alias champion": {"alias": "champion"},
        }
        with server(data_dir) as (url, _pid), httpx.Client(base_url=url, timeout=120) as http:
            for label, params in queries.items():
                p = {**params, "page_size": 50}
                first = http.get("/api/v1/search", params=p)
                if first.status_code != 200:
                    raise SystemExit(f"search failed: {first.status_code} {first.text}")
                hits = len(first.json()["items"])
                lats = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    r = http.get("/api/v1/search", params=p)
                    lats.append(time.perf_counter() - t)
                    r.raise_for_status()
                print(f"    {label:26s} {hits:3d} hits/page   {lat(lats)}")
        shutil.rmtree(data_dir, ignore_errors=True)


# -- main ----------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-gib", type=float, default=None, help="Large file size in GiB (default 1; --quick 0.25).")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="Scaled down: 0.25 GiB, 200 ops, search at 1,000 and 10,000 collections (100,000 versions).",
    )
    ap.add_argument("--ops", type=int, default=None, help="Operations per ops run (default 2000; --quick 200).")
    ap.add_argument("--work-dir", type=Path, default=None, help="Scratch folder (default: a temp dir; same disk).")
    ap.add_argument(
        "--only", choices=["transfer", "ops", "search"], action="append", help="Run only these parts (repeatable)."
    )
    args = ap.parse_args()
    size = int((args.size_gib if args.size_gib is not None else (0.25 if args.quick else 1.0)) * GiB)
    ops = args.ops or (200 if args.quick else 2000)
    scales = [(1_000, 10_000), (10_000, 100_000)] if args.quick else [(1_000, 10_000), (100_000, 1_000_000)]
    parts = set(args.only or ["transfer", "ops", "search"])

    work = Path(tempfile.mkdtemp(prefix="modelyard-bench-", dir=args.work_dir))
    vm = psutil.virtual_memory()
    print(f"modelyard core benchmark  {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(
        f"  machine: {platform.platform()}, {os.cpu_count()} CPUs, {vm.total / GiB:.1f} GiB RAM, "
        f"python {platform.python_version()}, load avg {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"  scratch: {work} (free {shutil.disk_usage(work).free / GiB:.0f} GiB)")
    try:
        if "transfer" in parts:
            bench_transfer(work, size)
        if "ops" in parts:
            bench_ops(work, ops)
        if "search" in parts:
            bench_search(work, scales, repeats=30 if args.quick else 100)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n  load avg at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
