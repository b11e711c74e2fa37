"""Server time of the web UI's heaviest pages, in process (no network), on SQLite.

* the collection page of a collection with 10,000 versions (the versions table is paged:
  the page reads 50 of them, never all);
* the search page at 100,000 collections (keyset-paged search, a name substring).

Both databases are seeded with the bulk inserts of ``bench/core.py``. Prints p50/p95/max
over ``--runs`` requests after a warm-up. Run ``python bench/ui.py`` (needs the server extra).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from core import seed  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from modelyard.api.app import create_app  # noqa: E402
from modelyard.bootstrap import build_registry  # noqa: E402
from modelyard.settings import BlobSettings, Settings  # noqa: E402


def timed(client: TestClient, url: str, runs: int) -> str:
    for _ in range(5):
        assert client.get(url).status_code == 200, url
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"p50 {statistics.median(samples):6.1f} ms   p95 {p95:6.1f} ms   max {samples[-1]:6.1f} ms"


def page_client(data_dir: Path) -> tuple[TestClient, object]:
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'modelyard.db'}",
        blobs=BlobSettings(root=data_dir / "blobs"),
        auth="off",
        webhook_delivery=False,
    )
    svc = build_registry(settings)
    return TestClient(create_app(services=svc)), svc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--collections", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelyard-ui-bench-") as tmp:
        one = Path(tmp) / "one"
        secs = seed(one, 1, args.versions)
        client, svc = page_client(one)
        with client:
            name = svc.registry.search_collections(page_size=1).items[0].name  # type: ignore[attr-defined]
            url = f"/registries/models/collections/{name}"
            print(f"collection page, 1 collection x {args.versions:,} versions (seeded in {secs:.1f}s)")
            print(f"  {url:60s} {timed(client, url, args.runs)}")
            print(f"  {url + '?page_token=…':60s} (second page)", end="")
            token = svc.registry.list_versions("models", name, page_size=50).next_page_token  # type: ignore[attr-defined]
            print(f" {timed(client, url + '?page_token=' + str(token), args.runs)}")
            for sort in ("created", "stage", "aliases"):  # sorted by another key: still one keyset page
                sorted_url = f"{url}?sort={sort}"
                print(f"  {sorted_url:60s} {timed(client, sorted_url, args.runs)}")
                page = svc.registry.list_versions("models", name, page_size=50, sort=sort)  # type: ignore[attr-defined]
                second = f"{sorted_url}&page_token={page.next_page_token}"
                print(f"  {sorted_url + '&page_token=…':60s} (second page) {timed(client, second, args.runs)}")
        svc.close()  # type: ignore[attr-defined]

        many = Path(tmp) / "many"
        secs = seed(many, args.collections, args.collections)
        client, svc = page_client(many)
        with client:
            print(f"search page, {args.collections:,} collections (seeded in {secs:.1f}s)")
            for q in ("fraud", "fraud-churn", "zzz-no-match", ""):
                url = f"/search?q={q}"
                print(f"  {url:60s} {timed(client, url, args.runs)}")
        svc.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
