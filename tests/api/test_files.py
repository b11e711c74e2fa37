"""File downloads: GET and HEAD, single byte ranges, ETag/Digest headers, and bad paths."""

from __future__ import annotations

import hashlib

import pytest

COLL = "/api/v1/registries/models/collections"
DATA = bytes(range(256)) * 4  # 1024 bytes
FILES = {"weights/model.bin": DATA, "empty.txt": b"", "notes with space.md": b"hello"}


@pytest.fixture
def version(api) -> dict:
    return api.version("models", "c", FILES, aliases=["champion"])


def _url(path: str, ref: str = "1") -> str:
    return f"{COLL}/c/versions/{ref}/files/{path}"


@pytest.mark.covers("GET /api/v1/registries/{registry}/collections/{collection}/versions/{ref}/files/{path}")
@pytest.mark.parametrize("ref", ["1", "latest", "champion"])
def test_download_whole_file(http, version, ref) -> None:
    r = http.get(_url("weights/model.bin", ref))
    assert r.status_code == 200 and r.content == DATA
    digest = f"sha256:{hashlib.sha256(DATA).hexdigest()}"
    assert r.headers["ETag"] == f'"{digest}"'
    assert r.headers["X-Modelyard-Digest"] == digest
    assert r.headers["Digest"] == f"sha-256={digest.split(':', 1)[1]}"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Length"] == "1024"
    assert "Content-Range" not in r.headers


def test_download_empty_file_and_file_with_space(http, version) -> None:
    r = http.get(_url("empty.txt"))
    assert r.status_code == 200 and r.content == b"" and r.headers["Content-Length"] == "0"
    assert http.get(_url("notes%20with%20space.md")).content == b"hello"


@pytest.mark.covers("HEAD /api/v1/registries/{registry}/collections/{collection}/versions/{ref}/files/{path}")
def test_head_has_the_headers_and_no_body(http, version) -> None:
    r = http.head(_url("weights/model.bin"))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == "1024" and r.headers["Accept-Ranges"] == "bytes"
    r = http.head(_url("weights/model.bin"), headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 10-19/1024" and r.content == b""


RANGES = [
    ("bytes=0-0", 0, 0),
    ("bytes=0-1023", 0, 1023),
    ("bytes=100-199", 100, 199),
    ("bytes=1000-", 1000, 1023),
    ("bytes=1000-5000", 1000, 1023),
    ("bytes=-24", 1000, 1023),
    ("bytes=-5000", 0, 1023),
    ("BYTES = 5-6", 5, 6),
]


def test_range(http, version, subtests) -> None:
    for header, start, end in RANGES:
        with subtests.test(msg=header):
            r = http.get(_url("weights/model.bin"), headers={"Range": header})
            assert r.status_code == 206
            assert r.content == DATA[start : end + 1]
            assert r.headers["Content-Range"] == f"bytes {start}-{end}/1024"
            assert r.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=2000-3000", "bytes=-0", "bytes=5-4"])
def test_unsatisfiable_range_is_416_with_the_size(http, api, version, header) -> None:
    for method in ("GET", "HEAD"):
        r = http.request(method, _url("weights/model.bin"), headers={"Range": header})
        assert r.status_code == 416
        assert r.headers["Content-Range"] == "bytes */1024"
    api.error(
        http.get(_url("weights/model.bin"), headers={"Range": header}),
        416,
        "RANGE_NOT_SATISFIABLE",
        "range_not_satisfiable",
    )


def test_any_range_of_an_empty_file_is_unsatisfiable(http, api, version) -> None:
    r = http.get(_url("empty.txt"), headers={"Range": "bytes=0-"})
    api.error(r, 416, "RANGE_NOT_SATISFIABLE", "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */0"


MALFORMED_RANGES = [
    b"bytes",
    b"bytes=",
    b"bytes=-",
    b"bytes=a-b",
    b"bytes=1-2,4-5",
    b"items=0-1",
    b"bytes=1-2-3",
    b"bytes=+1-2",
    b"bytes=0x1-2",
    b"bytes=\xb2-",
    b"bytes=1-\xb9",
    b"bytes= 1 - 2 x",
]


def test_malformed_range_is_400(http, api, version, subtests) -> None:
    for header in MALFORMED_RANGES:
        with subtests.test(msg=repr(header)):
            api.error(
                http.get(_url("weights/model.bin"), headers={"Range": header}),
                400,
                "INVALID_ARGUMENT",
                "invalid_argument",
            )


BAD_TARGETS = [
    (_url("nope.bin"), 404, "file_not_found"),
    (_url("weights"), 404, "file_not_found"),
    (_url("weights/model.bin", "2"), 404, "version_not_found"),
    (_url("weights/model.bin", "ghost"), 404, "alias_not_found"),
    (_url("weights/model.bin", "0"), 400, "invalid_name"),
    (f"{COLL}/nope/versions/1/files/x", 404, "collection_not_found"),
    ("/api/v1/registries/nope/collections/c/versions/1/files/x", 404, "registry_not_found"),
    (_url("weights//model.bin"), 400, "invalid_path"),
    (_url("%2E%2E/etc/passwd"), 400, "invalid_path"),
    (_url("weights/%2E%2E/weights/model.bin"), 400, "invalid_path"),
    (_url("weights%5Cmodel.bin"), 400, "invalid_path"),
    (_url("%2Fetc/passwd"), 400, "invalid_path"),
    (_url("a%00b"), 400, "invalid_text"),  # NUL anywhere in a URL: refused by ApiRoute before any lookup
]


def test_download_bad_targets(http, api, version, subtests) -> None:
    for url, status, reason in BAD_TARGETS:
        with subtests.test(msg=url):
            for method in ("GET", "HEAD"):
                r = http.request(method, url)
                assert r.status_code == status, (method, r.status_code)
            api.error(http.get(url), status, "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND", reason)


def test_sdk_pull_resumes_from_an_offset(sdk, version) -> None:
    chunks = b"".join(sdk.iter_file("models/c:1", "weights/model.bin", offset=1000))
    assert chunks == DATA[1000:]
