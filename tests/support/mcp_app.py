"""An app that is killed while an MCP server it started hangs: it starts the tests' own
server (tests/support/mcp_server.py) through the app's MCP client, recording its process in
the folder given, calls the server's ``block`` tool, which holds the server up for the
seconds given, prints the server's pid and waits to be killed.

Run it as ``python -m tests.support.mcp_app RECORDS LOGS SECONDS`` from the repository's
folder.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from purpose_desktop.engine.tools.mcp.client import McpServer
from purpose_desktop.engine.tools.mcp.config import StdioServer
from purpose_desktop.models.orphans import WorkerRecord
from tests.support.mcp_server import server_command


async def main(records: Path, logs: Path, seconds: float) -> None:
    config = StdioServer.model_validate(server_command())
    server = McpServer("test", config, logs / "mcp-test.log", record=WorkerRecord(records))
    pid = await server.call_tool("pid", {})
    blocked = asyncio.create_task(server.call_tool("block", {"seconds": seconds}))
    await asyncio.sleep(0.5)  # for the request to reach the server
    print(pid, flush=True)
    await blocked


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])))
