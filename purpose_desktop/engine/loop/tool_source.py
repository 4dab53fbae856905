"""The tools a run gives its agents, by the names of the team file: the built-in ones, the
user's own (Python functions in the home folder's ``tools`` folder, by function name), and
``SERVER.TOOL`` for a tool of an MCP server.

A team file is checked only for the form of its tool names when it loads; whether a server
is configured and offers the tool is found out here, when a run starts. The servers are
started when a run first names one of their tools, and stay up for the runs after it until
:meth:`ToolSource.aclose`. The user's tools are found (in a child process) the first time a
run names a tool that is not built in, and again only when a file of the folder changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.loop.action_schema import check_tool
from purpose_desktop.engine.tools.base import Tool, ToolError
from purpose_desktop.engine.tools.builtin import builtin_tool
from purpose_desktop.engine.tools.names import MCP_SEPARATOR
from purpose_desktop.errors import UserError
from purpose_desktop.limits import shown

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import TeamSpec
    from purpose_desktop.engine.tools.mcp.tools import McpServers
    from purpose_desktop.engine.tools.user_tools import UserTools

__all__ = ["ToolSource"]


class ToolSource:
    """Finds each agent's tools. ``servers`` makes the MCP servers (of the home folder's
    ``mcp.json``) the first time a run names one of their tools; without it, no MCP tool
    can be had. ``user_tools`` is the folder of the user's own tools (the home folder's
    ``tools``); without it, no user tool can be had."""

    def __init__(
        self,
        servers: Callable[[], McpServers] | None = None,
        *,
        user_tools: Path | None = None,
    ) -> None:
        self._make_servers = servers
        self._servers: McpServers | None = None
        self._making = asyncio.Lock()  # two runs starting at once make the servers once
        self._user_folder = user_tools
        self._user_tools: UserTools | None = None
        self._user_state: object = None  # of the folder when the user tools were found
        self._finding = asyncio.Lock()  # two runs starting at once find the user tools once

    async def agent_tools(self, team: TeamSpec) -> dict[str, tuple[Tool, ...]]:
        """The tools of each agent of ``team``, by the agent's name, in the order it names
        them, each once.

        Raises :class:`~purpose_desktop.errors.UserError` naming, for every agent, each tool
        it cannot be given (there is no built-in or user tool of that name, its server is
        not configured or cannot be started, it does not offer the tool, or the tool's
        parameters cannot be offered yet) and what there is.
        """
        listings: dict[str, dict[str, Tool]] = {}
        found: dict[str, tuple[Tool, ...]] = {}
        problems: list[str] = []
        for agent in team.agents:
            tools: list[Tool] = []
            for name in agent.tools:
                try:
                    tool = await self._tool(name, listings)
                except UserError as exc:
                    problems.append(f"{agent.name}'s tool '{shown(name)}': {exc}")
                    continue
                if all(tool.name != kept.name for kept in tools):
                    tools.append(tool)
            found[agent.name] = tuple(tools)
        if problems:
            raise UserError("\n".join(problems))
        return found

    async def aclose(self) -> None:
        """Stop the MCP servers that run; a later run starts them again."""
        if self._servers is not None:
            servers, self._servers = self._servers, None
            await servers.aclose()

    async def _tool(self, name: str, listings: dict[str, dict[str, Tool]]) -> Tool:
        server, separator, _ = name.partition(MCP_SEPARATOR)
        if not separator:
            try:
                return builtin_tool(name)
            except ToolError:
                if self._user_folder is None:
                    raise
            return await self._user_tool(name)
        if server not in listings:
            listings[server] = await self._listing(server)
        tools = listings[server]
        tool = tools.get(name)
        if tool is None:
            offered = ", ".join(tools) or "none"
            raise UserError(f"the MCP server '{server}' offers no such tool. Its tools: {offered}.")
        try:
            check_tool(tool)
        except ValueError as exc:
            raise UserError(f"it cannot be given to an agent yet: {exc}") from None
        return tool

    async def _user_tool(self, name: str) -> Tool:
        from purpose_desktop.engine.tools.user_tools import discover_user_tools, folder_state

        folder = self._user_folder
        assert folder is not None
        async with self._finding:
            state = await asyncio.to_thread(folder_state, folder)
            if self._user_tools is None or state != self._user_state:
                self._user_tools = await discover_user_tools(folder)
                self._user_state = state
            found = self._user_tools
        tool = found.get(name)
        if tool is None:
            raise UserError(found.describe_missing(name))
        try:
            check_tool(tool)
        except ValueError as exc:
            raise UserError(f"it cannot be given to an agent yet: {exc}") from None
        return tool

    async def _listing(self, server: str) -> dict[str, Tool]:
        servers = await self._mcp_servers()
        if server not in servers.servers:
            known = ", ".join(servers.servers) or "none is configured"
            raise UserError(f"there is no MCP server '{server}' in mcp.json. Its servers: {known}.")
        return {tool.name: tool for tool in await servers.tools(server)}

    async def _mcp_servers(self) -> McpServers:
        async with self._making:
            if self._servers is None:
                if self._make_servers is None:
                    raise UserError("MCP servers cannot be used here; only built-in tools can.")
                # Making them reads and checks mcp.json: on a worker thread, not the event
                # loop (the window's, when a run starts there).
                self._servers = await asyncio.to_thread(self._make_servers)
            return self._servers
