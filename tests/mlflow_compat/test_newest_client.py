"""The client-side compat tests again, with the newest mlflow on PyPI (issue 10).

The dev environment holds the baseline client (``mlflow>=3.17,<3.18`` in the ``dev`` group).
This test builds, once, a venv beside it that sees the dev environment's packages
(``--system-site-packages``) with the ``mlflow-newest`` dependency group of pyproject.toml (the
one place the newest version is pinned) installed over them (``--no-deps``, see ``_venv``),
then runs the client-side test files in that venv as a subprocess against a real modelyard
server process. The venv is cached
under ``~/.cache/modelyard-tests`` (or ``$MODELYARD_TEST_CACHE``), keyed by the pin, so later
runs only pay for the tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TESTS = ["test_flow.py", "test_registry.py", "test_lineage.py", "test_tracking.py"]


def newest_requirements() -> list[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return [str(r) for r in groups["mlflow-newest"]]


def _venv(requirements: list[str]) -> Path:
    cache = Path(os.environ.get("MODELYARD_TEST_CACHE", Path.home() / ".cache" / "modelyard-tests"))
    key = hashlib.sha256(f"{sys.version}|{'|'.join(requirements)}".encode()).hexdigest()[:12]
    venv = cache / f"mlflow-newest-{key}"
    python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    # The venv's own site-packages come first on sys.path: its mlflow shadows the dev one. The
    # mlflow wheel carries the whole ``mlflow`` package; --no-deps because mlflow 3.18.0's
    # companions (mlflow-skinny, mlflow-tracing 3.18.0) were not on PyPI when it was pinned, and
    # the dev environment already holds every other dependency. (mlflow then warns that its
    # child packages are 3.17: the compat tests ignore mlflow's warnings.)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", *requirements],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    (venv / ".complete").write_text("\n".join(requirements))
    return python


def test_client_side_compat_tests_pass_with_the_newest_mlflow() -> None:
    requirements = newest_requirements()
    [pin] = [r for r in requirements if r.startswith("mlflow")]
    python = _venv(requirements)
    version = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    wanted = pin.split("==", 1)[1].rstrip("*").rstrip(".")
    assert version.startswith(wanted), (version, pin)
    import mlflow

    assert mlflow.__version__ != version, "the dev environment should hold the baseline client, not the newest"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    # Client behaviour does not depend on the server's database: the SQLite server suffices here.
    run = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "sqlite",
            *[f"tests/mlflow_compat/{f}" for f in CLIENT_TESTS],
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, f"mlflow {version}:\n{tail}"
    assert " passed" in run.stdout and " failed" not in run.stdout, tail
    print(f"\nmlflow {version}: {run.stdout.strip().splitlines()[-1]}")
