"""Promises about the package's shape: the curated SDK surface, no server imports on
``import modelyard``, every package is a real package, and the import boundaries hold."""

from __future__ import annotations
import __future__

import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import modelyard

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "modelyard"
SERVER_ONLY = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "pydantic_settings")


def _public_names() -> set[str]:
    names = set()
    for name, value in vars(modelyard).items():
        if isinstance(value, types.ModuleType) or isinstance(value, __future__._Feature):
            continue  # submodules, and `from __future__ import annotations`
        if not name.startswith("_") or name == "__version__":
            names.add(name)
    return names


def test_all_is_sorted() -> None:
    assert modelyard.__all__ == sorted(modelyard.__all__)


def test_all_equals_the_public_names_of_the_package() -> None:
    exported = set(modelyard.__all__)
    public = _public_names()
    assert not public - exported, f"public but not in __all__: {sorted(public - exported)}"
    assert not exported - public, f"in __all__ but not defined: {sorted(exported - public)}"
    assert len(exported) == len(modelyard.__all__), "__all__ lists a name twice"


def test_importing_the_sdk_loads_no_server_packages() -> None:
    code = f"import sys, modelyard; loaded = [m for m in {SERVER_ONLY!r} if m in sys.modules]; print(','.join(loaded))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"'import modelyard' must work without the server extra; it loaded {out.stdout}"


def test_every_source_directory_is_a_package() -> None:
    """A folder without __init__.py is a namespace package: import-linter does not see it."""
    missing = [
        d.relative_to(ROOT).as_posix()
        for d in sorted(SRC.rglob("*"))
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    ]
    assert not missing, f"add __init__.py to {missing}"


def _lint_imports() -> str | None:
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.exists() else shutil.which("lint-imports")


def test_import_boundaries_hold() -> None:
    """The import-linter contracts in pyproject.toml (layers point down, services use interfaces only,
    the SDK needs no server extras, the domain is pure)."""
    exe = _lint_imports()
    if exe is None:
        pytest.fail("lint-imports is not installed: python -m pip install --group dev")
    result = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_metadata_store_protocol_lists_every_store_method() -> None:
    """storage/interfaces.py's MetadataStore is generated from the SQL store; it must not drift."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_store_protocol.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_error_class_lives_in_errors_py_with_a_unique_reason() -> None:
    """One hierarchy, one module (STYLE.md §3): the SDK can rebuild every error from (code, reason)."""
    import importlib
    import pkgutil

    from modelyard import errors

    for info in pkgutil.walk_packages(modelyard.__path__, "modelyard."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)

    def subclasses(cls: type) -> list[type]:
        return [cls] + [c for sub in cls.__subclasses__() for c in subclasses(sub)]

    every = subclasses(errors.ModelyardError)
    assert {c.__module__ for c in every} == {"modelyard.errors"}, [
        c for c in every if c.__module__ != "modelyard.errors"
    ]
    reasons = [c.reason for c in every]
    assert len(reasons) == len(set(reasons)), sorted(r for r in reasons if reasons.count(r) > 1)
    assert {c.__name__ for c in every} <= set(errors.__all__)
