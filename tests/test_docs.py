"""Tests that keep the docs honest: generated references match the code, the README's test
command is the one CI runs, every setting and command is documented, links resolve, and the
API walkthrough in docs/api.md really works."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
REGENERATE = "python scripts/gen_docs.py"


def _load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", module)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): text for p, text in gen_docs.render_all().items()}


# -- the README and CI run the same tests -------------------------------------------------------


def _fenced_block_after(text: str, marker: str) -> str:
    start = text.index(marker)
    m = re.compile(r"```bash\n(.*?)\n```", re.S).search(text, start)
    assert m is not None, f"no ```bash block after {marker!r}"
    return m.group(1).strip()


def test_readme_test_command_is_the_one_ci_runs() -> None:
    readme_command = _fenced_block_after(README.read_text(encoding="utf-8"), "Test it")
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    marker = ci_lines.index("# README-TEST-COMMAND")
    ci_command = next(line.strip() for line in ci_lines[marker + 1 :] if line.strip())
    assert readme_command == ci_command, (
        "the README's test command (after 'Test it') and the line after '# README-TEST-COMMAND' in .ci/run "
        "must be identical; change both"
    )


# -- generated references ---------------------------------------------------------------------------


GENERATED = [
    "docs/cli.md",
    "docs/configuration.md",
    "docs/openapi.json",
    "docs/api.md",
    "docs/concepts.md",
    "docs/storage.md",
]


def test_every_generated_file_is_checked(generated: dict[str, str]) -> None:
    assert sorted(generated) == sorted(GENERATED)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_docs_match_the_code(generated: dict[str, str], name: str) -> None:
    path = ROOT / name
    assert path.exists(), f"{name} is missing; run `{REGENERATE}`"
    current = path.read_text(encoding="utf-8")
    if current != generated[name]:
        import difflib

        diff = "\n".join(
            list(difflib.unified_diff(current.splitlines(), generated[name].splitlines(), name, "code", lineterm=""))[
                :30
            ]
        )
        pytest.fail(f"{name} is out of date with the code; run `{REGENERATE}` and commit the result\n{diff}")


def test_gen_docs_output_is_deterministic(generated: dict[str, str]) -> None:
    again = {p.relative_to(ROOT).as_posix(): text for p, text in gen_docs.render_all().items()}
    assert again == generated


def test_generated_docs_ignore_the_environment(monkeypatch: pytest.MonkeyPatch, generated: dict[str, str]) -> None:
    monkeypatch.setenv("MODELYARD_PORT", "9999")
    monkeypatch.setenv("MODELYARD_DATABASE_URL", "postgresql://nobody@nowhere.invalid/x")
    assert gen_docs.render_configuration() == generated["docs/configuration.md"]


def _settings_fields() -> Iterator[tuple[str, Any]]:
    for dotted, _env, field in gen_docs.iter_settings_fields():
        yield dotted, field


@pytest.mark.parametrize("dotted,field", list(_settings_fields()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_setting_has_a_description(dotted: str, field: Any) -> None:
    assert field.description and field.description.strip(), (
        f"Settings field '{dotted}' needs Field(description=...): docs/configuration.md is generated from it"
    )


def _commands() -> list[tuple[str, click.Command]]:
    return [(" ".join(["modelyard", *words]), cmd) for words, cmd, _ctx in gen_docs.iter_commands()]


@pytest.mark.parametrize("name,command", _commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_text(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"'{name}' needs a docstring or help=...: docs/cli.md is generated from it"
    assert (command.get_short_help_str() or "").strip()


def test_cli_reference_lists_every_command(generated: dict[str, str]) -> None:
    for name, _cmd in _commands():
        assert f"# {name}\n" in generated["docs/cli.md"]


def test_configuration_lists_every_environment_variable(generated: dict[str, str]) -> None:
    for _dotted, env, _field in gen_docs.iter_settings_fields():
        assert f"`{env}`" in generated["docs/configuration.md"]


def test_openapi_document_describes_the_api(generated: dict[str, str]) -> None:
    import json

    doc = json.loads(generated["docs/openapi.json"])
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/registries/{registry}/collections/{collection}/versions" in doc["paths"]


# -- links, ADRs, changelog ---------------------------------------------------------------------------

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _markdown_files() -> list[Path]:
    return sorted([README, ROOT / "CHANGELOG.md", *DOCS.rglob("*.md")])


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def _readme_documentation_section() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Documentation", 1)[1]
    return section.split("\n## ", 1)[0]


def test_readme_links_every_doc() -> None:
    links = set(_LINK.findall(_readme_documentation_section()))
    pages = [p for p in DOCS.iterdir() if p.is_file() and p.suffix in (".md", ".json")]
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        assert rel in links, f"README's Documentation section should link {rel}"
    assert "docs/decisions/" in links
    assert "CHANGELOG.md" in links


def _decisions() -> list[Path]:
    return sorted((DOCS / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))


def test_decisions_are_numbered_without_gaps() -> None:
    numbers = [int(p.name[:4]) for p in _decisions()]
    assert numbers == list(range(1, len(numbers) + 1)), f"decision numbers should be 1..n, got {numbers}"


@pytest.mark.parametrize("adr", _decisions(), ids=lambda p: p.name)
def test_decision_records_have_context_decision_consequences(adr: Path) -> None:
    text = adr.read_text(encoding="utf-8")
    assert text.startswith(f"# {int(adr.name[:4])}. "), f"{adr.name} should start with '# {int(adr.name[:4])}. Title'"
    for heading in ("## Context", "## Decision", "## Consequences"):
        assert f"\n{heading}\n" in text, f"{adr.name} lacks a '{heading}' section"


def test_changelog_has_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "\n## [Unreleased]\n" in text


# -- runnable examples ---------------------------------------------------------------------------------


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)\n```", page.read_text(encoding="utf-8"), re.S)


def test_api_upload_walkthrough_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import httpx
    from fastapi.testclient import TestClient

    from modelyard.api.app import create_app
    from modelyard.settings import BlobSettings, Settings

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'm.db'}", blobs=BlobSettings(root=tmp_path / "blobs")
    )
    app = create_app(settings)
    clients: list[TestClient] = []

    def client(base_url: str = "http://testserver", **_kw: Any) -> TestClient:
        clients.append(TestClient(app, base_url=base_url))
        return clients[-1]

    monkeypatch.setattr(httpx, "Client", client)
    (snippet,) = [b for b in _python_blocks(DOCS / "api.md") if "/uploads" in b]
    try:
        exec(compile(snippet, "docs/api.md", "exec"), {"__name__": "docs_api_md"})
    finally:
        for c in clients:
            c.close()
        app.state.services.close()
    assert capsys.readouterr().out.startswith("models/docs-example:1 sha256:")


def test_architecture_page_explains_every_import_contract() -> None:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    for contract in contracts:
        assert f"| {contract['name']} |" in text, (
            f"docs/architecture.md should explain the contract '{contract['name']}'"
        )
