"""MCP servers' tools as engine tools: each is a :class:`~purpose_desktop.engine.tools.base.Tool`
named ``SERVER.TOOL`` whose description and argument schema are the server's own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError, ToolHints
from purpose_desktop.engine.tools.mcp.client import McpServer, McpToolInfo
from purpose_desktop.engine.tools.mcp.config import McpConfig
from purpose_desktop.engine.tools.names import mcp_tool_name
from purpose_desktop.task_groups import task_group

if TYPE_CHECKING:
    from purpose_desktop.models.orphans import WorkerRecord

__all__ = ["MCP_TOOL_TIMEOUT", "McpServers", "mcp_tool"]

#: How long one call of an MCP tool may take, by default.
MCP_TOOL_TIMEOUT = 60.0
#: How long a server may take to start and list its tools.
LIST_TIMEOUT = 60.0


def mcp_tool(server: McpServer, info: McpToolInfo, *, timeout: float = MCP_TOOL_TIMEOUT) -> Tool:
    """The engine tool that calls ``info``'s tool on ``server``.

    The tool's answer (its text) is the observation; an answer the server marks as an error
    is a failed call. It is ``risky`` (asked about under the "risky" review policy) unless
    the server says it only reads, or that it changes nothing it did not add.
    """

    async def call(arguments: Mapping[str, Any], context: ToolContext) -> str:
        return await server.call_tool(info.name, arguments)

    return Tool(
        name=mcp_tool_name(server.name, info.name),
        description=info.description,
        parameters=info.input_schema,
        function=call,
        risky=not (info.read_only is True or info.destructive is False),
        timeout=timeout,
        hints=ToolHints(info.read_only, info.destructive, info.open_world),
    )


class McpServers:
    """The servers of one ``mcp.json``, each started on first use; :meth:`aclose` stops
    them all. Each server's standard error goes to ``mcp-SERVER.log`` in ``logs_dir``, and
    ``record`` lists the processes of those that run."""

    def __init__(
        self, config: McpConfig, logs_dir: Path, record: WorkerRecord | None = None
    ) -> None:
        self.servers: Mapping[str, McpServer] = {
            name: McpServer(name, server, logs_dir / f"mcp-{name}.log", record=record)
            for name, server in config.servers.items()
        }

    async def tools(self, name: str) -> tuple[Tool, ...]:
        """The tools of the server called ``name``, starting it if need be.

        Raises :class:`~purpose_desktop.engine.tools.base.ToolError` when it cannot be
        started or does not list its tools within :data:`LIST_TIMEOUT` seconds, and
        :class:`KeyError` for a name not configured.
        """
        server = self.servers[name]
        try:
            async with asyncio.timeout(LIST_TIMEOUT):
                listed = await server.list_tools()
        except TimeoutError:
            raise ToolError(
                f"The MCP server '{name}' did not list its tools within {LIST_TIMEOUT:g} s."
            ) from None
        return tuple(mcp_tool(server, info) for info in listed)

    async def aclose(self) -> None:
        """Stop every server that runs."""
        async with task_group() as group:
            for server in self.servers.values():
                group.create_task(server.aclose())
