"""The names of the built-in tools, without the tools themselves.

Team files are checked against these names when they load; importing the tools (and
jsonschema with them) waits for the first run, so opening a team stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def unknown_tools_message(names: Iterable[str]) -> str | None:
    """What is wrong with ``names`` (the unknown ones, and the known tools), or ``None``.
    A name of the form ``SERVER.TOOL`` counts as known: its server is asked at run start."""
    unknown = [
        name
        for name in names
        if tool_key(name) not in BUILTIN_TOOL_NAMES and not is_mcp_tool_name(name)
    ]
    if not unknown:
        return None
    listed = ", ".join(f"'{n}'" for n in unknown)
    plural = "s" if len(unknown) > 1 else ""
    known = ", ".join(BUILTIN_TOOL_NAMES)
    return (
        f"Unknown tool{plural} {listed}. The built-in tools are: {known}; an MCP server's "
        "tool is named SERVER.TOOL (time.get_current_time)."
    )
