"""Listing the tools starts every MCP server at once: a listing cancelled while they start
(the window closing, say) returns only once every server it started has stopped."""

from __future__ import annotations

import asyncio
import json
import sys

import psutil
import pytest
from purpose_desktop.config import Paths
from purpose_desktop.services.tools import ToolsService
from tests.support.mcp_server import server_command

pytestmark = pytest.mark.process


def running_children() -> set[int]:
    """The pids of this process's children that still run."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.Error:
            pass  # ended meanwhile
    return found


def test_a_listing_cancelled_while_servers_start_leaves_none_running(home: Paths) -> None:
    # Two servers that never answer the handshake. The first quits when its input closes;
    # the second ignores that and is stopped by the kill after its grace period, so it
    # outlives the first by a while.
    polite = {"command": sys.executable, "args": ["-c", "import sys; sys.stdin.read()"]}
    deaf = server_command("--hang-at-start")
    home.mcp_config_file.write_text(
        json.dumps({"mcpServers": {"polite": polite, "deaf": deaf}}), encoding="utf-8"
    )

    async def scenario() -> set[int]:
        before = running_children()  # other children of the test process, if any
        listing = asyncio.create_task(ToolsService(home).tools())
        async with asyncio.timeout(60):
            while True:  # until both servers have started
                if len(running_children() - before) == 2:
                    break
                await asyncio.sleep(0.05)
        listing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listing
        return running_children() - before

    assert asyncio.run(scenario()) == set()
