"""The README's quickstart runs as written: its fenced bash and Python blocks, in a fresh folder,
against a real ``modelyard serve`` started here on a free port (``MODELYARD_URL`` points at it).

The one block not run verbatim is the install-and-serve block: the test suite is the install,
and the test starts that server itself (same command, another port). The Python block's
``http://127.0.0.1:8080`` becomes the test server's URL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import free_port, modelyard_command

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SERVE_BLOCK = 'python -m pip install -e ".[server]"\nmodelyard serve'


def _blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in the README's Quickstart section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(bash|python)\n(.*?)```", section, re.S)]


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    """No inherited MODELYARD_* settings; ``modelyard`` on PATH runs this checkout's code."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "modelyard"
    shim.write_text(f'#!/bin/sh\nexec {" ".join(modelyard_command())} "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")])),
        MODELYARD_URL=url,
    )
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A fresh folder and ``modelyard serve`` running in it with its defaults (./modelyard-data)."""
    work = tmp_path / "work"
    work.mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    env = _env(tmp_path, url)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["modelyard", "serve", "--port", url.rsplit(":", 1)[1]],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "modelyard serve did not start in 60 s"
            time.sleep(0.2)
        yield work, url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def _run(lang: str, code: str, work: Path, url: str) -> str:
    if lang == "bash":
        argv = ["bash", "-euo", "pipefail", "-c", code]
    else:
        argv = [sys.executable, "-c", code.replace("http://127.0.0.1:8080", url)]
    done = subprocess.run(argv, cwd=work, env=_env(work.parent, url), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"README {lang} block failed:\n{code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done.stdout


def test_readme_quickstart_runs_as_a_script(served: tuple[Path, str]) -> None:
    work, url = served
    blocks = _blocks()
    assert [lang for lang, _ in blocks] == ["bash", "bash", "python", "bash"]
    assert blocks[0][1].startswith(SERVE_BLOCK), "the first quickstart block installs and serves"
    shell, python, governance = (_run(lang, code, work, url) for lang, code in blocks[1:])
    assert "identical" in shell.splitlines()
    assert "models/fraud-detector@production" in shell
    assert python.startswith("models/churn-predictor:1 sha256:")
    assert (work / "churn-out" / "model.bin").read_bytes() == b"churn weights"
    assert "models/credit-risk@production -> version 1" in governance


def test_governance_walkthrough_does_not_depend_on_the_others(served: tuple[Path, str]) -> None:
    """On a fresh server, the governance block alone gives the same versions as after the rest."""
    work, url = served
    governance = _blocks()[3][1]
    out = _run("bash", governance, work, url)
    assert "models/credit-risk@production -> version 1" in out
