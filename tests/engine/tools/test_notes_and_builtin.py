"""The notes tools, and looking up the built-in tools by name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine.loop.action_schema import action_schema, describe_actions
from purpose_desktop.engine.tools.base import Notes, ToolContext, ToolError
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS, builtin_tool
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.notes import NOTE, READ_NOTES
from purpose_desktop.errors import UserError


def test_notes_are_shared_through_the_context(tmp_path: Path) -> None:
    notes = Notes()
    first, second = ToolContext(tmp_path, notes), ToolContext(tmp_path, notes)

    async def scenario() -> list[str]:
        return [
            await call_tool(READ_NOTES, {}, first),
            await call_tool(NOTE, {"text": "The deadline is  Friday.\n"}, first),
            await call_tool(NOTE, {"text": "Budget: 300"}, second),
            await call_tool(READ_NOTES, {}, second),
        ]

    assert asyncio.run(scenario()) == [
        "no notes yet",
        "noted (1 note so far)",
        "noted (2 notes so far)",
        "1. The deadline is Friday.\n2. Budget: 300",
    ]
    assert notes.entries == ["The deadline is Friday.", "Budget: 300"]
    assert not NOTE.risky
    assert not READ_NOTES.risky


def test_an_empty_note_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="the note is empty"):
        asyncio.run(call_tool(NOTE, {"text": "   "}, ToolContext(tmp_path)))


def test_builtin_tools_by_name() -> None:
    assert [tool.name for tool in BUILTIN_TOOLS] == [
        "calculator",
        "python",
        "read_file",
        "write_file",
        "list_files",
        "note",
        "read_notes",
    ]
    assert builtin_tool("calculator") is BUILTIN_TOOLS[0]
    assert builtin_tool("Read-File").name == "read_file"
    with pytest.raises(UserError) as caught:
        builtin_tool("browser")
    assert str(caught.value) == (
        "There is no tool called 'browser'. The built-in tools are: calculator, python, "
        "read_file, write_file, list_files, note, read_notes."
    )


def test_every_builtin_tool_can_be_offered_to_a_model() -> None:
    schema = action_schema(BUILTIN_TOOLS)
    assert len(schema["anyOf"]) == len(BUILTIN_TOOLS) + 1  # and finish
    lines = describe_actions(BUILTIN_TOOLS).splitlines()
    assert all(" — " in line for line in lines)  # each has a one-line description
    for tool in BUILTIN_TOOLS:
        assert tool.keywords, tool.name
        assert len(tool.description) <= 120, tool.name
