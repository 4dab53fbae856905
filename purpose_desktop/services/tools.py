"""The tools an agent can be given: the built-in ones and those of the MCP servers in the
home folder's ``mcp.json``, and the state of each server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.config import Paths
from purpose_desktop.engine.tools.base import Tool, ToolError
from purpose_desktop.engine.tools.mcp.config import StdioServer, load_mcp_config
from purpose_desktop.engine.tools.mcp.tools import McpServers
from purpose_desktop.services.background import off_loop

__all__ = ["BUILT_IN", "ServerState", "ToolListing", "ToolSummary", "ToolsService"]

#: The ``source`` of a tool that comes with the app.
BUILT_IN = "built-in"
#: How long a server may take to start and list its tools.
LIST_TIMEOUT = 60.0


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
    """Lists the tools and the MCP servers. Each call starts the servers of ``mcp.json``
    (all at once), asks them for their tools and stops them again."""

    def __init__(self, paths: Paths) -> None:
        self._paths = paths

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

    async def _survey(self) -> list[_Survey]:
        config = await off_loop(load_mcp_config, self.config_file)
        servers = McpServers(config, self._paths.logs_dir)
        try:
            return await asyncio.gather(*(_ask(servers, name) for name in servers.servers))
        finally:
            await servers.aclose()


async def _ask(servers: McpServers, name: str) -> _Survey:
    server = servers.servers[name]
    log_file = server.log_file if isinstance(server.config, StdioServer) else None
    try:
        async with asyncio.timeout(LIST_TIMEOUT):
            tools = await servers.tools(name)
    except TimeoutError:
        problem = f"The MCP server '{name}' did not list its tools within {LIST_TIMEOUT:g} s."
    except ToolError as exc:
        problem = str(exc)
    else:
        state = ServerState(name, server.config.transport, len(tools), None, log_file)
        return _Survey(state, tools)
    return _Survey(ServerState(name, server.config.transport, None, problem, log_file), ())


def _summary(tool: Tool, source: str) -> ToolSummary:
    return ToolSummary(tool.name, tool.description, source, tool.risky)
