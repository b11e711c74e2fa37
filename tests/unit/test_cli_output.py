"""Issue 14, output people read: help, completion, verbs, exit codes, sizes, plurals, diff.

These need no server: click's CliRunner drives the real command tree, and commands that
fail before sending anything (usage errors) are exactly the ones tested here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import click
import pytest
from click.testing import CliRunner

from modelyard import schemas as s
from modelyard.cli import main
from modelyard.cli.diff import diff_versions
from modelyard.cli.output import human_size, plural
from modelyard.cli.promotion import _show, describe_policy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _all_commands() -> list[tuple[list[str], click.Command]]:
    out = []

    def walk(cmd: click.Command, words: list[str]) -> None:
        out.append((words, cmd))
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(click.Context(cmd)):
                walk(cmd.commands[name], [*words, name])

    walk(main, [])
    return out


def test_human_sizes_and_plurals() -> None:
    assert human_size(1_000_014) == "976.6 KiB"
    assert human_size(0) == "0 bytes" and human_size(1) == "1 byte" and human_size(1023) == "1023 bytes"
    assert human_size(1024) == "1.0 KiB" and human_size(3 * 1024**3) == "3.0 GiB"
    assert plural(1, "file") == "1 file" and plural(0, "file") == "0 files" and plural(2, "file") == "2 files"


def test_help_names_the_environment_exit_codes_and_completion() -> None:
    text = CliRunner().invoke(main, ["--help"], terminal_width=200).output
    for needle in ("MODELYARD_URL", "MODELYARD_TOKEN", "Exit status", "2    a usage error", "_MODELYARD_COMPLETE"):
        assert needle in text
    push = CliRunner().invoke(main, ["push", "--help"], terminal_width=200).output
    assert "--token" in push and "env var: MODELYARD_TOKEN" in push and "env var: MODELYARD_URL" in push


def test_help_uses_the_terminal_width_and_never_cuts_summaries() -> None:
    wide = CliRunner().invoke(main, ["--help"], terminal_width=200).output
    commands = wide.split("Commands:")[1].split("\n\n")[0]
    assert "..." not in commands
    summary = main.commands["promote"].get_short_help_str(limit=10_000)
    assert len(summary) > 80 and any(summary in line for line in commands.splitlines()), (
        "a wide terminal shows each summary whole, on one line"
    )
    narrow = CliRunner().invoke(main, ["versions", "--help"], terminal_width=60).output
    assert "..." not in narrow.split("Commands:")[1]


@pytest.mark.parametrize("words", [w for w, c in _all_commands() if w and not isinstance(c, click.Group)])
def test_every_command_has_an_example(words: list[str]) -> None:
    result = CliRunner().invoke(main, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Example:" in result.output, f"'modelyard {' '.join(words)} --help' shows no example"


def test_one_verb_set_list_and_delete_with_ls_and_rm_everywhere() -> None:
    verbs_seen = set()
    for words, cmd in _all_commands():
        if not isinstance(cmd, click.Group):
            continue
        names = set(cmd.commands)
        assert not names & {"ls", "rm"}, f"'modelyard {' '.join(words)}' spells a verb 'ls'/'rm'; use list/delete"
        for canonical, short in (("list", "ls"), ("delete", "rm")):
            if canonical in names:
                verbs_seen.add(short)
                r = CliRunner().invoke(main, [*words, short, "--help"])
                assert r.exit_code == 0 and "Usage:" in r.output, (words, short, r.output)
    assert verbs_seen == {"ls", "rm"}
    for group in ("policies", "uploads"):
        assert {"list"} <= set(main.commands[group].commands)  # type: ignore[attr-defined]
    assert "show" in main.commands["policies"].commands  # type: ignore[attr-defined]
    assert "cancel" in main.commands["uploads"].commands  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "args",
    [
        ["push"],  # missing arguments
        ["versions", "get", "no-slash"],  # a path the SDK refuses before sending anything
        ["versions", "get", "reg/coll/3"],
        ["pull", "reg/coll:1", ".", "--force", "--clean"],
        ["uploads", "cancel"],
    ],
)
def test_usage_errors_exit_2_without_contacting_a_server(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--url", "http://127.0.0.1:9"] if args[0] != "push" else args)
    assert result.exit_code == 2, result.output
    assert "cannot reach" not in result.output


def test_an_unreachable_server_exits_1() -> None:
    result = CliRunner().invoke(main, ["versions", "get", "reg/coll:1", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach" in result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script_generates(shell: str) -> None:
    env = {**os.environ, "_MODELYARD_COMPLETE": f"{shell}_source"}
    code = "import sys; from modelyard.cli import main; sys.argv[0] = 'modelyard'; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "_MODELYARD_COMPLETE" in result.stdout and "modelyard" in result.stdout


def test_completion_offers_commands_and_aliases_resolve() -> None:
    env = {
        **os.environ,
        "_MODELYARD_COMPLETE": "bash_complete",
        "COMP_WORDS": "modelyard versions d",
        "COMP_CWORD": "2",
    }
    code = "import sys; from modelyard.cli import main; sys.argv[0] = 'modelyard'; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "plain,delete" in result.stdout and "plain,diff" in result.stdout, result.stdout


def _version(number: int, **changes: Any) -> s.VersionOut:
    base: dict[str, Any] = {
        "registry": "models",
        "collection": "fraud",
        "number": number,
        "path": f"models/fraud:{number}",
        "artifact_type": "model",
        "digest": "sha256:" + "0" * 64,
        "size": 3,
        "file_count": 1,
        "files": [{"path": "a.bin", "digest": "sha256:" + "1" * 64, "size": 3}],
        "description": "",
        "tags": {},
        "run": {"id": "", "url": ""},
        "params": {"lr": 0.1},
        "metrics": {"auc": 0.9},
        "datasets": [],
        "framework": "",
        "flavor": "",
        "signature": None,
        "source": "",
        "aliases": [],
        "stage": "None",
        "created_at": NOW,
        "updated_at": NOW,
        "created_by": "alice",
    }
    base.update(changes)
    return s.VersionOut.model_validate(base)


def test_versions_diff_marks_what_changed() -> None:
    a = _version(1)
    b = _version(
        2,
        metrics={"auc": 0.93, "f1": 0.8},
        files=[
            {"path": "a.bin", "digest": "sha256:" + "2" * 64, "size": 3},
            {"path": "b.txt", "digest": "sha256:" + "3" * 64, "size": 1},
        ],
    )
    d = diff_versions(a, b)
    assert d["a"] == "models/fraud:1" and d["b"] == "models/fraud:2"
    metrics = {r["key"]: r for r in d["metrics"]}
    assert metrics["auc"] == {"key": "auc", "a": 0.9, "b": 0.93, "changed": True}
    assert metrics["f1"]["a"] is None and metrics["f1"]["changed"]
    assert [r["changed"] for r in d["params"]] == [False]
    files = {r["key"]: r for r in d["files"]}
    assert files["a.bin"]["changed"] and files["b.txt"]["a"] is None
    assert d["changes"] == 4  # auc, f1, a.bin, b.txt
    same = diff_versions(a, _version(1))
    assert same["changes"] == 0


def _promotion(reviews: list[dict[str, Any]]) -> s.PromotionOut:
    return s.PromotionOut.model_validate(
        {
            "id": 7,
            "registry": "models",
            "collection": "fraud",
            "version": 3,
            "target_kind": "alias",
            "target": "production",
            "status": "open",
            "requested_by": "alice",
            "comment": "",
            "archive_existing_versions": False,
            "requirements_met": True,
            "requirements": [],
            "reviews": reviews,
            "auto_promote": False,
            "created_at": NOW,
            "resolved_by": None,
            "resolved_at": None,
        }
    )


def test_a_review_without_comment_has_no_dangling_colon(capsys: pytest.CaptureFixture[str]) -> None:
    _show(_promotion([{"reviewer": "bob", "decision": "approve", "comment": "", "at": NOW}]), False)
    lines = capsys.readouterr().out.splitlines()
    assert "  approve by bob" in lines and not any(line.rstrip().endswith(":") for line in lines)
    _show(_promotion([{"reviewer": "bob", "decision": "approve", "comment": "lgtm", "at": NOW}]), False)
    assert "  approve by bob: lgtm" in capsys.readouterr().out.splitlines()


def test_a_policy_reads_as_a_sentence() -> None:
    p = s.AliasPolicyOut(
        registry="models",
        alias="production",
        collection="fraud",
        protected=True,
        requirements={
            "approvals": 2,
            "approver_role": "admin",
            "checks": ["ci"],
            "rules": [{"field": "metrics.auc", "op": ">=", "value": 0.9}, {"field": "signature", "op": "exists"}],
            "auto_promote": False,
        },
    )
    assert describe_policy(p) == (
        "'production' in models/fraud requires 2 approvals by an admin or above; 1 check passing (ci); "
        "2 rules (metrics.auc>=0.9, signature); the requester completes it."
    )
