"""The tools that come with the app, by name: what a team file's ``tools:`` list refers to."""

from __future__ import annotations

from typing import Final

from purpose_desktop.engine.tools.base import Tool, ToolError
from purpose_desktop.engine.tools.calculator import CALCULATOR
from purpose_desktop.engine.tools.files import LIST_FILES, READ_FILE, WRITE_FILE
from purpose_desktop.engine.tools.names import tool_key
from purpose_desktop.engine.tools.notes import NOTE, READ_NOTES
from purpose_desktop.engine.tools.python_runner import PYTHON

__all__ = ["BUILTIN_TOOLS", "builtin_tool"]

BUILTIN_TOOLS: Final[tuple[Tool, ...]] = (
    CALCULATOR,
    PYTHON,
    READ_FILE,
    WRITE_FILE,
    LIST_FILES,
    NOTE,
    READ_NOTES,
)
_BY_NAME: Final = {tool.name: tool for tool in BUILTIN_TOOLS}
_key = tool_key


def builtin_tool(name: str) -> Tool:
    """The built-in tool called ``name`` (case, ``-`` and spaces forgiven: ``Read-File``).

    Raises :class:`ToolError` (a :class:`~purpose_desktop.errors.UserError`) naming the known
    tools when there is none by that name.
    """
    tool = _BY_NAME.get(_key(name))
    if tool is None:
        known = ", ".join(_BY_NAME)
        raise ToolError(f"There is no tool called '{name}'. The built-in tools are: {known}.")
    return tool
