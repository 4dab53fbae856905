"""The tools an agent can be given: the built-in ones and those of the MCP servers in the
home folder's ``mcp.json``, the state of each server, importing servers from another app's
file, and calling one tool by hand."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.config import Paths
from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.mcp.config import (
    ImportReport,
    StdioServer,
    import_mcp_servers,
    load_mcp_config,
)
from purpose_desktop.engine.tools.mcp.tools import McpServers
from purpose_desktop.engine.tools.names import MCP_SEPARATOR
from purpose_desktop.errors import UserError
from purpose_desktop.limits import shown
from purpose_desktop.models.orphans import WorkerRecord
from purpose_desktop.safe_load import load_json
from purpose_desktop.services.background import off_loop

__all__ = [
    "BUILT_IN",
    "CALL_WORKSPACE",
    "ImportReport",
    "ServerState",
    "ToolListing",
    "ToolSummary",
    "ToolsService",
]

#: The ``source`` of a tool that comes with the app.
BUILT_IN = "built-in"
#: The folder of the workspaces folder where tools called by hand read and write files.
CALL_WORKSPACE = "tools-call"


@dataclass(frozen=True)
class ToolSummary:
    """One tool: its name, what it does, where it comes from (:data:`BUILT_IN` or an MCP
    server's name) and whether it asks for review under the "risky" policy."""

    name: str
    description: str
    source: str
    risky: bool


@dataclass(frozen=True)
class ServerState:
    """An MCP server of ``mcp.json``: ``tools`` is how many it offers, ``None`` when it could
    not be started or asked, and then ``problem`` says why. ``log_file`` keeps a stdio
    server's standard error."""

    name: str
    transport: str
    tools: int | None
    problem: str | None
    log_file: Path | None


@dataclass(frozen=True)
class ToolListing:
    """Every tool an agent can be given, and a message for each server that gave none."""

    tools: tuple[ToolSummary, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class _Survey:
    state: ServerState
    tools: tuple[Tool, ...]


class ToolsService:
    """Lists the tools and the MCP servers, imports servers and calls a tool. Each call
    starts the servers of ``mcp.json`` it needs (all at once), and stops them again; their
    processes are recorded in the home folder meanwhile, to be ended at the next start if
    the app is killed."""

    def __init__(self, paths: Paths) -> None:
        self._paths = paths
        self._record = WorkerRecord(paths.mcp_servers_dir)

    @property
    def config_file(self) -> Path:
        """The ``mcp.json`` the servers are read from."""
        return self._paths.mcp_config_file

    async def servers(self) -> tuple[ServerState, ...]:
        """Each server of ``mcp.json``, in the file's order, and whether it starts.

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        return tuple(survey.state for survey in await self._survey())

    async def tools(self) -> ToolListing:
        """The built-in tools, then each server's, in the order of ``mcp.json``.

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS

        surveys = await self._survey()
        tools = [_summary(tool, BUILT_IN) for tool in BUILTIN_TOOLS]
        tools += [_summary(tool, s.state.name) for s in surveys for tool in s.tools]
        problems = tuple(s.state.problem for s in surveys if s.state.problem is not None)
        return ToolListing(tuple(tools), problems)

    async def import_servers(self, file: Path) -> ImportReport:
        """Merge the servers of ``file`` (an ``mcpServers`` file of Claude Desktop, Cursor,
        LM Studio...) into ``mcp.json``, the secrets of their ``env`` and ``headers`` into
        the system keyring.

        Raises :class:`~purpose_desktop.errors.UserError` when either file is not valid or
        a secret cannot be kept in the keyring (there is none), and writes nothing then.
        """
        from purpose_desktop.secrets import save_secret

        return await off_loop(import_mcp_servers, file, self.config_file, save_secret)

    async def call(self, name: str, arguments: str, *, time_limit: float | None = None) -> str:
        """Call the tool ``name`` (built-in, or ``SERVER.TOOL``) with ``arguments``, a JSON
        object, as an agent would: checked against its schema, within its time limit (or
        ``time_limit`` seconds), a built-in tool in the workspace :data:`CALL_WORKSPACE`. Returns
        the tool's output.

        Raises :class:`ToolError` when the tool fails (its server failing included), and
        :class:`~purpose_desktop.errors.UserError` for arguments that are not a JSON object
        or a tool that does not exist (naming those that do).
        """
        values = _arguments(arguments)
        workspace = self._paths.workspaces_dir / CALL_WORKSPACE
        await off_loop(workspace.mkdir, parents=True, exist_ok=True)
        server, separator, _ = name.partition(MCP_SEPARATOR)
        if not separator:
            tool = _builtin(name)
            if tool is None:
                raise await self._unknown(name)
            return await _call(tool, values, workspace, time_limit)
        config = await off_loop(load_mcp_config, self.config_file)
        if server not in config.servers:
            raise await self._unknown(name)
        servers = McpServers(config, self._paths.logs_dir, self._record)
        try:
            tools = {tool.name: tool for tool in await servers.tools(server)}
            if name not in tools:
                raise _no_tool(name, tools)
            return await _call(tools[name], values, workspace, time_limit)
        finally:
            await servers.aclose()

    async def _unknown(self, name: str) -> UserError:
        """The error for a tool called ``name`` that does not exist, naming those that do."""
        listing = await self.tools()
        return _no_tool(name, [tool.name for tool in listing.tools])

    async def _survey(self) -> list[_Survey]:
        config = await off_loop(load_mcp_config, self.config_file)
        servers = McpServers(config, self._paths.logs_dir, self._record)
        try:
            return await asyncio.gather(*(_ask(servers, name) for name in servers.servers))
        finally:
            await servers.aclose()


async def _ask(servers: McpServers, name: str) -> _Survey:
    server = servers.servers[name]
    log_file = server.log_file if isinstance(server.config, StdioServer) else None
    try:
        tools = await servers.tools(name)
    except ToolError as exc:
        problem = str(exc)
    else:
        state = ServerState(name, server.config.transport, len(tools), None, log_file)
        return _Survey(state, tools)
    return _Survey(ServerState(name, server.config.transport, None, problem, log_file), ())


def _summary(tool: Tool, source: str) -> ToolSummary:
    return ToolSummary(tool.name, tool.description, source, tool.risky)


def _arguments(text: str) -> dict[str, Any]:
    try:
        values = load_json(text)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"The arguments are not valid JSON: {shown(str(exc), 200)}") from None
    if not isinstance(values, dict):
        raise UserError(
            f'The arguments must be a JSON object ({{"name": value, ...}}), not {shown(text, 60)}.'
        )
    return values


def _builtin(name: str) -> Tool | None:
    from purpose_desktop.engine.tools.builtin import builtin_tool

    try:
        return builtin_tool(name)
    except ToolError:
        return None


def _no_tool(name: str, known: Iterable[str]) -> UserError:
    return UserError(f"There is no tool called '{shown(name)}'. The tools: {', '.join(known)}.")


async def _call(
    tool: Tool, arguments: dict[str, Any], workspace: Path, time_limit: float | None
) -> str:
    from purpose_desktop.engine.tools.functions import call_tool

    if time_limit is not None:
        tool = dataclasses.replace(tool, timeout=time_limit)
    return await call_tool(tool, arguments, ToolContext(workspace))
