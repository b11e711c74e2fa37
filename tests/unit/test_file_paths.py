"""``validate_file_path``: whatever it accepts stays inside any directory it is joined under."""

from __future__ import annotations

import os
import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.domain.names import MAX_FILE_PATH, validate_file_path, validate_file_paths
from modelyard.errors import InvalidPathError

segment = st.sampled_from(["a", "b", "..", ".", "", "c.txt", "..a", "a..", "~", "\\", "C:", " ", "\x00", "\n", "é"])
path_like = st.lists(segment, min_size=1, max_size=6).map("/".join)
prefix = st.sampled_from(["", "/", "//", "\\", "C:\\", "c:", "./"])


@given(st.one_of(st.builds(lambda p, q: p + q, prefix, path_like), st.text(max_size=40)))
def test_accepted_paths_never_escape(path: str) -> None:
    try:
        validate_file_path(path)
    except InvalidPathError:
        return
    base = "/srv/data/version"
    joined = posixpath.normpath(posixpath.join(base, path))
    assert joined.startswith(base + "/"), path
    assert os.path.normpath(os.path.join(base, path)).startswith(base + os.sep)
    assert "\\" not in path and not path.startswith("/") and "\x00" not in path
    assert all(s not in ("", ".", "..") for s in path.split("/"))


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "/abs",
        "a//b",
        "a\\b",
        "./a",
        "a/.",
        "a/../b",
        "C:/x",
        "c:x",
        "",
        "a/",
        "a\x00b",
        "a\nb",
        "x" * (MAX_FILE_PATH + 1),
    ],
)
def test_rejected(path: str) -> None:
    with pytest.raises(InvalidPathError):
        validate_file_path(path)


@pytest.mark.parametrize("path", ["a", "a/b/c.txt", "..a", "a..b/c", "with space/é.bin", "x" * MAX_FILE_PATH])
def test_accepted(path: str) -> None:
    assert validate_file_path(path) == path


@pytest.mark.parametrize("paths", [["a", "a"], ["a", "a/b"], ["a/b/c", "a/b"], ["x/y", "x/y/z/w"]])
def test_duplicates_and_file_dir_clashes(paths: list[str]) -> None:
    with pytest.raises(InvalidPathError):
        validate_file_paths(paths)


def test_siblings_sharing_a_prefix_are_fine() -> None:
    validate_file_paths(["a", "ab", "a.b/c", "a-b/c"])
