"""Schemathesis against a real ``modelyard serve`` process: the OpenAPI document tells the truth.

The server publishes ``/openapi.json``; schemathesis reads it and sends what it generates from
it (valid and invalid inputs, every operation), with auth off and with auth on (as an org
admin). The run must find no server error (500) and no response that the document does not
describe: an undocumented status, content type or header, a body that violates its schema,
or a 405 without ``Allow``.

Bounded: a few examples per operation, seeded (reproducible), one worker; well under three
minutes for both modes on a loaded 2-core machine. A larger budget for exploration:
``MODELYARD_FUZZ_EXAMPLES=200 pytest tests/integration/test_openapi_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import Server

EXAMPLES = int(os.environ.get("MODELYARD_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("MODELYARD_FUZZ_SEED", "20261129"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "unsupported_method",
        "allow_header_conformance",
    ]
)


def _schemathesis() -> list[str]:
    exe = shutil.which("st")
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


def _run(srv: Server, tmp: Path, *headers: str) -> tuple[int, list[str], str]:
    """Run schemathesis; return (operations tested, failure messages, console output)."""
    junit = tmp / "junit.xml"
    args = [
        *_schemathesis(),
        "run",
        f"{srv.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--continue-on-failure",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    for h in headers:
        args += ["--header", h]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp)
    assert junit.exists(), f"schemathesis wrote no report (exit {result.returncode}):\n{result.stdout[-3000:]}"
    suites = ET.parse(junit).getroot()
    cases = list(suites.iter("testcase"))
    failures = [
        f"{case.get('name')}: {(node.get('message') or node.text or '').strip()[:400]}"
        for case in cases
        for node in (*case.findall("failure"), *case.findall("error"))
    ]
    return len(cases), failures, result.stdout


def _failure_section(output: str) -> str:
    """The FAILURES part of schemathesis's console output: each case with its curl to reproduce."""
    start = output.find("FAILURES")
    end = output.find("WARNINGS", start) if start >= 0 else -1
    return output[start:end][:8000] if start >= 0 else output[-4000:]


def _assert_clean(srv: Server, tmp: Path, *headers: str) -> None:
    tested, failures, output = _run(srv, tmp, *headers)
    assert tested >= 75, f"only {tested} operations were tested:\n{output[-3000:]}"
    assert failures == [], "schemathesis found:\n" + "\n".join(failures) + "\n\n" + _failure_section(output)
    assert "ST101" not in output and "Server error" not in output


def _document(srv: Server) -> dict[str, object]:
    import httpx

    return json.loads(httpx.get(f"{srv.url}/openapi.json", timeout=10).text)  # type: ignore[no-any-return]


@pytest.mark.parametrize("auth", ["off", "on"])
def test_schemathesis_finds_no_server_error_and_no_spec_mismatch(auth: str, tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", None, extra_env={"MODELYARD_AUTH": auth})
    headers: list[str] = []
    if auth == "on":
        srv.cli("db", "upgrade")  # admin bootstrap works on an existing database only
        out = srv.cli("admin", "bootstrap", "fuzzer", "--json")
        headers = [f"Authorization: Bearer {json.loads(out.stdout)['token']}"]
    srv.start()
    try:
        assert "422" not in json.dumps(_document(srv)["paths"])
        _assert_clean(srv, tmp_path, *headers)
    finally:
        srv.stop()
    assert "Traceback" not in srv.log(), srv.log()
