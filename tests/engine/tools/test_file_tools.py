"""The file tools stay inside the run's workspace."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.files import (
    LIST_FILES,
    MAX_READ_CHARS,
    MAX_WRITE_BYTES,
    READ_FILE,
    WRITE_FILE,
    read_file,
    write_file,
)
from purpose_desktop.engine.tools.functions import call_tool


@pytest.fixture
def context(tmp_path: Path) -> ToolContext:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return ToolContext(folder)


def call(tool: Tool, context: ToolContext, **arguments: Any) -> str:
    return asyncio.run(call_tool(tool, arguments, context))


def test_round_trip_write_read_list(context: ToolContext) -> None:
    assert call(WRITE_FILE, context, path="notes/today.md", content="# Today\nfine") == (
        "wrote 12 characters to 'notes/today.md'"
    )
    assert call(READ_FILE, context, path="notes/today.md") == "# Today\nfine"
    call(WRITE_FILE, context, path="a.txt", content="\N{SNOWMAN} unicode")
    assert call(LIST_FILES, context) == "a.txt (11 bytes)\nnotes/"
    assert call(LIST_FILES, context, path="notes") == "today.md (12 bytes)"
    call(WRITE_FILE, context, path="a.txt", content="replaced")
    assert call(READ_FILE, context, path="./a.txt") == "replaced"
    inside = str(context.workspace / "a.txt")  # an absolute path inside is fine
    assert call(READ_FILE, context, path=inside) == "replaced"
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in context.workspace.iterdir()) == ["a.txt", "notes"]


def test_an_overwritten_file_keeps_its_mode(context: ToolContext) -> None:
    target = context.workspace / "script.sh"
    target.write_text("old")
    target.chmod(0o750)
    call(WRITE_FILE, context, path="script.sh", content="new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert target.read_text() == "new"


@pytest.mark.parametrize("path", ["../x", "notes/../../x", "~/x"])
def test_climbing_out_is_refused(context: ToolContext, path: str) -> None:
    for tool, arguments in ((READ_FILE, {}), (WRITE_FILE, {"content": "x"}), (LIST_FILES, {})):
        with pytest.raises(ToolError) as caught:
            call(tool, context, path=path, **arguments)
        assert str(caught.value) == f"'{path}' is outside the run's workspace"
    assert not (context.workspace.parent / "x").exists()


def test_absolute_paths_outside_are_refused(context: ToolContext, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    with pytest.raises(ToolError, match="is outside the run's workspace"):
        call(READ_FILE, context, path=str(outside))
    with pytest.raises(ToolError, match="is outside the run's workspace"):
        call(WRITE_FILE, context, path=str(outside), content="changed")
    with pytest.raises(ToolError, match="is outside the run's workspace"):
        call(LIST_FILES, context, path=str(tmp_path))
    assert outside.read_text() == "secret"


def test_symlinks_pointing_outside_are_refused(context: ToolContext, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (context.workspace / "file-link").symlink_to(outside / "secret.txt")
    (context.workspace / "folder-link").symlink_to(outside, target_is_directory=True)
    for path in ("file-link", "folder-link/secret.txt"):
        with pytest.raises(ToolError, match="is outside the run's workspace"):
            call(READ_FILE, context, path=path)
        with pytest.raises(ToolError, match="is outside the run's workspace"):
            call(WRITE_FILE, context, path=path, content="changed")
    with pytest.raises(ToolError, match="is outside the run's workspace"):
        call(LIST_FILES, context, path="folder-link")
    with pytest.raises(ToolError, match="is outside the run's workspace"):
        call(WRITE_FILE, context, path="folder-link/new.txt", content="x")
    assert (outside / "secret.txt").read_text() == "secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_symlink_inside_the_workspace_is_followed(context: ToolContext) -> None:
    (context.workspace / "real.txt").write_text("real")
    (context.workspace / "alias.txt").symlink_to(context.workspace / "real.txt")
    assert call(READ_FILE, context, path="alias.txt") == "real"


def test_long_files_are_cut_with_a_note(context: ToolContext) -> None:
    (context.workspace / "long.txt").write_text("a" * (MAX_READ_CHARS + 500))
    text = call(READ_FILE, context, path="long.txt")
    assert text.startswith("a" * MAX_READ_CHARS + "\n[... showed the first")
    assert f"a file of {MAX_READ_CHARS + 500} bytes" in text


def test_clear_errors_for_missing_binary_and_wrong_kinds(context: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"'nope\.txt' does not exist in the workspace"):
        call(READ_FILE, context, path="nope.txt")
    (context.workspace / "image.png").write_bytes(b"\x89PNG\x00\x00binary")
    with pytest.raises(ToolError, match="is a binary file"):
        call(READ_FILE, context, path="image.png")
    (context.workspace / "folder").mkdir()
    with pytest.raises(ToolError, match="is a folder"):
        call(READ_FILE, context, path="folder")
    with pytest.raises(ToolError, match="is a folder"):
        call(WRITE_FILE, context, path="folder", content="x")
    with pytest.raises(ToolError, match="is a file, not a folder"):
        call(LIST_FILES, context, path="image.png")
    with pytest.raises(ToolError, match="give a path"):
        call(READ_FILE, context, path="  ")
    assert call(LIST_FILES, context, path="folder") == "'folder' is empty"


def test_write_size_limits(context: ToolContext) -> None:
    with pytest.raises(ToolError, match="argument 'content' is too long"):
        call(WRITE_FILE, context, path="big.txt", content="x" * 5000)
    with pytest.raises(ToolError, match="the content is too large"):
        write_file("big.txt", "x" * (MAX_WRITE_BYTES + 1), context)
    assert not (context.workspace / "big.txt").exists()
    with pytest.raises(ToolError, match="does not exist"):
        read_file("big.txt", context)


def test_risk_flags() -> None:
    assert WRITE_FILE.risky
    assert not READ_FILE.risky
    assert not LIST_FILES.risky
    assert LIST_FILES.parameters["required"] == []
