"""The names of the tools, without the tools themselves.

Team files are checked against these names when they load: the built-in tools', the user's
own (the functions their files in the home folder's ``tools`` folder define, read without
running them) and the form ``SERVER.TOOL``. Importing the tools (and jsonschema with them)
waits for the first run, so opening a team stays fast.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

BUILTIN_TOOL_NAMES: Final = (
    "calculator",
    "python",
    "read_file",
    "write_file",
    "list_files",
    "note",
    "read_notes",
)


#: Between an MCP server's name and its tool's: ``time.get_current_time``.
MCP_SEPARATOR: Final = "."
#: A server's name is the first part of its tools' names (``time.get_current_time``), so it
#: holds no dot.
SERVER_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def mcp_tool_name(server: str, tool: str) -> str:
    """The name an MCP server's tool goes by among the tools an agent can be given."""
    return f"{server}{MCP_SEPARATOR}{tool}"


def tool_key(name: str) -> str:
    """The canonical form of a tool name: "Read-File" and "read file" mean read_file."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def is_mcp_tool_name(name: str) -> bool:
    """Whether ``name`` has the form of an MCP server's tool, ``SERVER.TOOL``; whether the
    server is configured and offers the tool is found out when a run starts."""
    server, separator, tool = name.partition(MCP_SEPARATOR)
    return bool(separator and SERVER_NAME.fullmatch(server) and tool.strip())


def unknown_tools_message(names: Iterable[str], user_tools: Path | None = None) -> str | None:
    """What is wrong with ``names`` (the unknown ones, and the known tools), or ``None``.
    A name of the form ``SERVER.TOOL`` counts as known: its server is asked at run start. So
    does a function a file of ``user_tools`` defines (by default the folder of the home
    folder ``$PURPOSE_DESKTOP_HOME`` names): whether it loads is found out at run start."""
    unknown = [
        name
        for name in names
        if tool_key(name) not in BUILTIN_TOOL_NAMES and not is_mcp_tool_name(name)
    ]
    if not unknown:
        return None
    if user_tools is None:
        from purpose_desktop.config import Paths

        user_tools = Paths.from_environment().user_tools_dir
    declared = declared_user_tools(user_tools)
    keys = {tool_key(name) for name in declared}
    unknown = [name for name in unknown if tool_key(name) not in keys]
    if not unknown:
        return None
    listed = ", ".join(f"'{n}'" for n in unknown)
    plural = "s" if len(unknown) > 1 else ""
    known = ", ".join(BUILTIN_TOOL_NAMES)
    mine = ", ".join(declared) or "none"
    return (
        f"Unknown tool{plural} {listed}. The built-in tools are: {known}; your own tools "
        f"(Python functions in {user_tools}): {mine}; an MCP server's tool is named "
        "SERVER.TOOL (time.get_current_time)."
    )


def user_tool_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that hold user tools: ``*.py`` not starting with ``_``."""
    try:
        files = sorted(folder.glob("*.py"))
    except OSError:
        return []
    return [file for file in files if not file.name.startswith("_") and file.is_file()]


def declared_user_tools(folder: Path) -> tuple[str, ...]:
    """The names of the public functions the files of ``folder`` define at their top level,
    read without running them (:mod:`ast`). Files that cannot be read or parsed give none;
    finding the tools for a run reports them."""
    names: list[str] = []
    for file in user_tool_files(folder):
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except (OSError, SyntaxError, ValueError):
            continue
        names += [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and not node.name.startswith("_")
        ]
    return tuple(names)
